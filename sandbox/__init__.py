"""A strict, in-process Telegram Bot API for tests and the demo.

``Sandbox`` serves the Bot API over HTTP on loopback, validates every call against the official
specification and simulates users, chats and messages::

    async with Sandbox() as sandbox:
        alice = sandbox.add_user("Alice")
        await sandbox.user_sends(alice, "/start")
        ...  # point the bot at sandbox.base_url
"""

from careloop.sandbox.errors import ApiError, SandboxError
from careloop.sandbox.faults import Fault, FaultKind
from careloop.sandbox.flood import RateLimiter
from careloop.sandbox.formatting import FormattedText, parse_html
from careloop.sandbox.objects import CallbackAnswer, SandboxMessage, SandboxUser
from careloop.sandbox.server import RecordedRequest, Sandbox
from careloop.sandbox.spec import ValidatedCall, validate

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
