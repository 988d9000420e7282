"""The aiogram 3 runtime: adapts aiogram's updates and Bot calls to careloop's ports, runs
careloop alone (polling or webhook) or inside a host's Dispatcher (`join_host`, which
bot.embed.embed_aiogram calls)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from aiogram import Bot, Dispatcher, Router
from aiogram.client.default import DefaultBotProperties
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.enums import ParseMode
from aiogram.exceptions import (
    TelegramAPIError,
    TelegramBadRequest,
    TelegramConflictError,
    TelegramForbiddenError,
    TelegramNetworkError,
    TelegramRetryAfter,
    TelegramServerError,
)
from aiogram.methods import Response, TelegramMethod
from aiogram.methods.base import TelegramType
from aiogram.types import (
    BotCommand,
    BotCommandScopeAllPrivateChats,
    BufferedInputFile,
    CallbackQuery,
    ChatMemberUpdated,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    LinkPreviewOptions,
    Message,
    ReplyParameters,
)
from aiogram.types import Update as TgUpdate
from aiohttp import web

from careloop.bot.http_edge import HttpLimits, runner_options
from careloop.bot.outage import Unavailable, refusal, until_handled
from careloop.bot.runtime import ALLOWED_UPDATES, H, Handles, aiogram_direct, convert
from careloop.bot.runtime.bot_api import BotApiMessenger
from careloop.bot.runtime.polling import Again, Polling
from careloop.bot.runtime.webhook import listen_on, webhook_refused
from careloop.bot.runtime.webhook_guard import webhook_guard
from careloop.kernel import messenger as port
from careloop.kernel.updates import Keyboard, Update, Upload

log = logging.getLogger(__name__)

# careloop's texts are Telegram HTML and never want a link preview. Said on every call, not
# only as the Bot's defaults, so that a host bot's own defaults (embedded) cannot change them.
NO_PREVIEW = LinkPreviewOptions(is_disabled=True)


_RESPONSES: dict[Any, type[Response[Any]]] = {}


class _Session(AiohttpSession):
    """aiogram's aiohttp session, keeping each answer's pydantic model for good.

    check_response reads every answer through `Response[<what the method returns>]`, and
    pydantic holds such a parametrized model only weakly: once the garbage collector takes
    it, the next answer builds it again, Message's whole schema included (several
    milliseconds: about a fifth of a survey press's CPU, bench/updates.py)."""

    def check_response(self, bot: Bot, method: TelegramMethod[TelegramType], status_code: int,
                       content: str) -> Response[TelegramType]:
        returning = method.__returning__
        if returning not in _RESPONSES:
            _RESPONSES[returning] = Response[returning]  # type: ignore[valid-type]
        return super().check_response(bot, method, status_code, content)


def make_bot(token: str, api_url: str, timeout: float = 20.0) -> Bot:
    session = _Session(api=TelegramAPIServer.from_base(api_url), timeout=timeout)
    return Bot(
        token,
        session=session,
        default=DefaultBotProperties(parse_mode=ParseMode.HTML, link_preview_is_disabled=True),
    )


def _markup(keyboard: Keyboard | None) -> InlineKeyboardMarkup | None:
    if keyboard is None or not keyboard.rows:
        return None
    return InlineKeyboardMarkup(inline_keyboard=[
        [InlineKeyboardButton(text=b.text, callback_data=b.callback_data, url=b.url) for b in row]
        for row in keyboard.rows
    ])


def _normalized(exc: Exception) -> port.MessengerError:
    """Map aiogram's errors onto the port's kinds."""
    if isinstance(exc, TelegramRetryAfter):
        return port.RetryAfter(exc.retry_after)
    if isinstance(exc, TelegramForbiddenError):
        return port.Blocked(exc.message)
    if isinstance(exc, TelegramBadRequest):
        if "chat not found" in exc.message.lower():
            return port.ChatNotFound(exc.message)
        return port.BadRequest(exc.message)
    if isinstance(exc, asyncio.TimeoutError) or (
            isinstance(exc, TelegramNetworkError) and "timeout" in exc.message.lower()):
        return port.TimedOut(str(exc) or "request timed out")
    if isinstance(exc, TelegramServerError | TelegramNetworkError):
        return port.Transient(str(exc))
    if isinstance(exc, TelegramAPIError):  # 401, 404, 409, a migrated chat
        return port.BadRequest(exc.message)
    return port.BadRequest(str(exc))


_CAUGHT = (TelegramAPIError, asyncio.TimeoutError)


def _poll_failure(exc: Exception) -> Again | None:
    """How polling goes on after getUpdates failed (bot.runtime.polling)."""
    if isinstance(exc, TelegramConflictError):  # another poller, or a webhook still set
        return Again()
    if not isinstance(exc, _CAUGHT):
        return None
    kind = _normalized(exc)
    if isinstance(kind, port.RetryAfter):
        return Again(kind.seconds)
    if isinstance(kind, port.TimedOut):
        return Again(0.0)  # a long poll the network dropped: ask again
    if isinstance(kind, port.Transient):
        return Again()
    return None  # refused (a revoked token): it would be refused again


class AiogramMessenger(BotApiMessenger):
    """`direct`: posted through the bot's own aiohttp session (bot/runtime/aiogram_direct.py),
    where the bot has one."""

    caught = _CAUGHT
    link_preview = NO_PREVIEW

    def __init__(self, bot: Bot, *, direct: bool = False) -> None:
        super().__init__(bot, direct=direct and aiogram_direct.usable(bot))

    async def _post_json(self, method: str, body: dict[str, Any]) -> Any:
        return await aiogram_direct.post(self._bot, method, body)

    def _markup(self, keyboard: Keyboard | None) -> InlineKeyboardMarkup | None:
        return _markup(keyboard)

    def _reply(self, message_id: int | None) -> ReplyParameters | None:
        return _reply(message_id)

    def _normalized(self, exc: Exception) -> port.MessengerError:
        return _normalized(exc)

    def _upload(self, upload: Upload) -> dict[str, Any]:
        return {upload.kind: BufferedInputFile(upload.data, filename=upload.file_name)}


def _reply(message_id: int | None) -> ReplyParameters | None:
    if message_id is None:
        return None
    return ReplyParameters(message_id=message_id, allow_sending_without_reply=True)


def from_callback(update_id: int, query: CallbackQuery) -> Update | None:
    if not isinstance(query.message, Message):
        return None  # too old for Telegram to show us: no chat to check the key against
    return convert.from_callback(update_id, query)


from_message = convert.from_message
from_chat_member = convert.from_chat_member


class WebhookPost:
    """One post of careloop's own webhook: whether its update could not be handled for now
    (the database was away), so that the post is answered 503 and Telegram sends it again."""

    def __init__(self) -> None:
        self.refused: Unavailable | None = None


async def _hand_over(pipeline: Handles, update: Update, post: WebhookPost | None) -> None:
    """Polling (careloop's or a host's): an update the database could not take is tried again
    in place, so the offset stays before it. careloop's webhook: the post is refused."""
    if post is None:
        await until_handled(pipeline.process, update)
        return
    try:
        await pipeline.process(update)
    except Unavailable as exc:
        post.refused = exc


def build_router() -> Router:
    """careloop's aiogram router; it needs `careloop` (a Pipeline) in the dispatcher's data.
    careloop's webhook adds `careloop_post` (a WebhookPost) to each post's data."""
    router = Router(name="careloop")

    @router.message()
    async def on_message(message: Message, event_update: TgUpdate, careloop: Handles,
                         careloop_post: WebhookPost | None = None) -> None:
        """Any message (joins' and leaves' service messages too): to careloop's pipeline."""
        update = from_message(event_update.update_id, message)
        if update is not None:
            await _hand_over(careloop, update, careloop_post)

    @router.callback_query()
    async def on_callback(
        query: CallbackQuery, event_update: TgUpdate, careloop: Handles,
        careloop_post: WebhookPost | None = None,
    ) -> None:
        """Any button press: hand it to careloop's pipeline."""
        update = from_callback(event_update.update_id, query)
        if update is not None:
            await _hand_over(careloop, update, careloop_post)
        else:
            await query.answer()

    @router.chat_member()
    async def on_chat_member(
        event: ChatMemberUpdated, event_update: TgUpdate, careloop: Handles,
        careloop_post: WebhookPost | None = None,
    ) -> None:
        """Someone joined or left a group: hand it to careloop's pipeline."""
        update = from_chat_member(event_update.update_id, event)
        if update is not None:
            await _hand_over(careloop, update, careloop_post)

    return router


def build_dispatcher(pipeline: Handles) -> Dispatcher:
    dispatcher = Dispatcher(careloop=pipeline)
    dispatcher.include_router(build_router())
    return dispatcher


async def run_webhook(bot: Bot, dispatcher: Dispatcher, url: str, listen: str,
                      secret: str | None, limits: HttpLimits | None = None) -> None:
    """Serve Telegram's webhook. aiogram compares the secret header in constant time
    (secrets.compare_digest) and answers 401 without processing the update."""
    from aiogram.webhook.aiohttp_server import setup_application

    limits = limits or HttpLimits()

    def readable(update: dict[str, object]) -> object:
        return TgUpdate.model_validate(update, context={"bot": bot})

    app = web.Application(middlewares=[webhook_guard(secret, limits, readable)])
    path = urlsplit(url).path or "/"
    # Not in the background: Telegram sends the next update only after this one is answered,
    # so updates are handled one at a time and in order, and one cut off by a crash is sent
    # again (the pipeline skips it if it was in fact committed).
    _webhook_handler(dispatcher, bot, secret).register(app, path=path)
    setup_application(app, dispatcher, bot=bot)
    runner = web.AppRunner(app, **runner_options(limits))
    await runner.setup()
    try:
        # Listening first, then telling Telegram: a taken port stops the start before
        # Telegram is pointed at it.
        await listen_on(runner, listen)
        try:
            # One connection: updates arrive one at a time and in order, as with polling.
            await bot.set_webhook(url, secret_token=secret, allowed_updates=ALLOWED_UPDATES,
                                  max_connections=1)
        except _CAUGHT as exc:
            raise webhook_refused(_normalized(exc)) from None
        log.info("webhook listening on %s%s", listen, path)
        await asyncio.Event().wait()
    finally:
        await runner.cleanup()


def _webhook_handler(dispatcher: Dispatcher, bot: Bot, secret: str | None) -> Any:
    """aiogram's request handler, answering 503 to a post whose update the database could
    not take: Telegram then posts it again, later (imported here: aiogram's webhook module
    is needed only with --webhook)."""
    from aiogram.webhook.aiohttp_server import SimpleRequestHandler

    class RefusingRequestHandler(SimpleRequestHandler):
        async def _handle_request(self, bot: Bot, request: web.Request) -> web.Response:
            post = WebhookPost()
            result: TelegramMethod[Any] | None = await self.dispatcher.feed_webhook_update(
                bot, await request.json(loads=bot.session.json_loads),
                careloop_post=post, **self.data)
            if post.refused is not None:
                return refusal(post.refused)
            return web.Response(body=self._build_response_writer(bot=bot, result=result))

    return RefusingRequestHandler(dispatcher, bot, handle_in_background=False,
                                  secret_token=secret)


class AiogramRuntime:
    """The bot, its messenger and dispatcher, behind the few calls `bot.serve` needs."""

    def __init__(self, token: str, api_url: str, timeout: float = 20.0,
                 limits: HttpLimits | None = None) -> None:
        self.bot = make_bot(token, api_url, timeout)
        self._limits = limits or HttpLimits()
        self.messenger = AiogramMessenger(self.bot, direct=True)
        self._dispatcher: Dispatcher | None = None
        self._polling: Polling | None = None

    def attach(self, pipeline: Handles) -> None:
        self._dispatcher = build_dispatcher(pipeline)  # the webhook's
        bot = self.bot

        async def fetch(offset: int | None, wait: int,
                        allowed: list[str]) -> list[dict[str, Any]]:
            return await aiogram_direct.get_updates(bot, offset, wait, allowed)

        self._polling = Polling(fetch, pipeline, failure=_poll_failure,
                                stale_press=self.messenger.answer_button)

    @property
    def dispatcher(self) -> Dispatcher:
        if self._dispatcher is None:
            raise RuntimeError("attach a pipeline first")
        return self._dispatcher

    async def publish_commands(self, menus: dict[str | None, list[tuple[str, str]]]) -> None:
        """Telegram's command menu in private chats, by Telegram language_code (None: the
        menu for every language without one of its own)."""
        scope = BotCommandScopeAllPrivateChats()
        try:
            for language_code, menu in menus.items():
                commands = [BotCommand(command=name, description=about) for name, about in menu]
                await self.bot.set_my_commands(commands, scope=scope,
                                               language_code=language_code)
        except _CAUGHT as exc:  # the first call to Telegram: a wrong token or URL shows here
            raise _normalized(exc) from exc

    async def poll(self, *, handle_signals: bool = True) -> None:
        """careloop's own long polling (bot.runtime.polling). `handle_signals` is accepted
        for the Runtime protocol; `careloop run` handles them."""
        if self._polling is None:
            raise RuntimeError("attach a pipeline first")
        await self.bot.delete_webhook(drop_pending_updates=False)
        log.info("polling Telegram for updates")
        await self._polling.run()

    async def stop_polling(self) -> bool:
        """Ask polling to end after the update in hand; False when it was not running."""
        return self._polling is not None and self._polling.stop()

    async def webhook(self, url: str, listen: str, secret: str | None) -> None:
        await run_webhook(self.bot, self.dispatcher, url, listen, secret, self._limits)

    async def close(self) -> None:
        await self.bot.session.close()


def join_host(dispatcher: Dispatcher, bot: Bot, build: Callable[[port.Messenger], H]) -> H:
    """careloop's router after the host's, its pipeline in the dispatcher's data (`careloop`),
    its start and stop on the dispatcher's start-up and shutdown. `build` makes careloop's
    part on the host's Bot: bot.embed.embed_aiogram passes the app's factory, so this
    module needs nothing of the app."""
    hosted = build(AiogramMessenger(bot))
    dispatcher["careloop"] = hosted.pipeline
    dispatcher.include_router(build_router())
    dispatcher.startup.register(hosted.start)
    dispatcher.shutdown.register(hosted.stop)
    return hosted
