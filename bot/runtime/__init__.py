"""Runtimes: the only modules that import a Telegram framework.

Each runtime (aiogram 3, python-telegram-bot 22) adapts its framework's updates and Bot
calls to careloop's ports behind the same few calls, so `bot.serve` runs either one.
A runtime never imports the app: whoever composes careloop (bot.serve, bot.embed) hands
it the pipeline, or the function that builds careloop's part of a host bot.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol, TypeVar, runtime_checkable

if TYPE_CHECKING:
    from careloop.bot.pipeline import Pipeline
    from careloop.bot.settings import Settings
    from careloop.kernel.messenger import Messenger
    from careloop.kernel.updates import Update

# Only what careloop handles: Telegram then keeps the rest to itself. chat_member (joins
# and leaves in the community group) is never sent unless asked for by name.
ALLOWED_UPDATES = ["message", "callback_query", "chat_member"]


class Handles(Protocol):
    """What a runtime feeds careloop's updates to: the pipeline itself (a host bot's
    updates), or bot.inbound's fair queue in front of it (careloop run)."""

    async def process(self, update: Update) -> None: ...


@runtime_checkable
class Batches(Protocol):
    """What polling tells bot.inbound's queue: a batch's updates are confirmed only by the
    next getUpdates, so they may be taken one by one and stored together."""

    def hold(self) -> None:
        """From now on `process` takes updates; `flush` stores them."""
        ...

    async def flush(self) -> None:
        """Store what was taken; called before every getUpdates. Raises when it cannot:
        then nothing is confirmed."""
        ...


class Hosted(Protocol):
    """careloop's part of a host bot (bot.embed builds it): the pipeline the host's updates
    go to, and the ticks that start and stop with the host."""

    @property
    def pipeline(self) -> Pipeline: ...

    async def start(self) -> None: ...

    async def stop(self) -> None: ...


H = TypeVar("H", bound=Hosted)


class Runtime(Protocol):
    """A Telegram framework running careloop's pipeline."""

    @property
    def messenger(self) -> Messenger: ...

    def attach(self, pipeline: Handles) -> None:
        """Route every message and button press to `pipeline`, one update at a time (it may
        store an update and return, to handle it later: bot.inbound)."""
        ...

    async def publish_commands(self, menus: dict[str | None, list[tuple[str, str]]]) -> None:
        """Telegram's command menu in private chats, by Telegram language_code (None: the
        menu for every language without one of its own). The first call to Telegram: its
        errors come as the Messenger port's (a wrong token is a BadRequest)."""
        ...

    async def poll(self, *, handle_signals: bool = True) -> None:
        """Long-poll updates until `stop_polling`."""
        ...

    async def stop_polling(self) -> bool:
        """Ask polling to end after the update in hand; False when it was not running."""
        ...

    async def webhook(self, url: str, listen: str, secret: str | None) -> None:
        """Serve Telegram's webhook on `listen` until cancelled; a post without the
        secret header (when a secret is set) is refused and not processed."""
        ...

    async def close(self) -> None:
        """Close the connection to Telegram."""
        ...


def make_runtime(settings: Settings) -> Runtime:
    """The runtime CARELOOP_RUNTIME names; only its framework is imported."""
    settings.require("bot_token")
    assert settings.bot_token is not None
    token = settings.bot_token.get_secret_value()
    from careloop.bot.http_edge import HttpLimits

    limits = HttpLimits.from_settings(settings)  # for the webhook listener
    if settings.runtime == "ptb":
        from careloop.bot.runtime.ptb_runtime import PtbRuntime

        return PtbRuntime(token, settings.telegram_api_url, settings.request_timeout_seconds,
                          limits)
    from careloop.bot.runtime.aiogram_runtime import AiogramRuntime

    return AiogramRuntime(token, settings.telegram_api_url, settings.request_timeout_seconds,
                          limits)
