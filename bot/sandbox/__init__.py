"""A strict, in-process Telegram Bot API for tests and the demo.

``Sandbox`` serves the Bot API over HTTP on loopback, validates every call against the official
specification and simulates users, chats and messages::

    async with Sandbox() as sandbox:
        alice = sandbox.add_user("Alice")
        await sandbox.user_sends(alice, "/start")
        ...  # point the bot at sandbox.base_url
"""

from bot.sandbox.errors import ApiError, SandboxError
from bot.sandbox.faults import Fault, FaultKind
from bot.sandbox.flood import RateLimiter
from bot.sandbox.formatting import FormattedText, parse_html
from bot.sandbox.objects import CallbackAnswer, SandboxMessage, SandboxUser
from bot.sandbox.server import RecordedRequest, Sandbox
from bot.sandbox.spec import ValidatedCall, validate

__all__ = [
    "ApiError",
    "CallbackAnswer",
    "Fault",
    "FaultKind",
    "FormattedText",
    "RateLimiter",
    "RecordedRequest",
    "Sandbox",
    "SandboxError",
    "SandboxMessage",
    "SandboxUser",
    "ValidatedCall",
    "parse_html",
    "validate",
]
