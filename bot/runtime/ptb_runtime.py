"""The python-telegram-bot 22 runtime: adapts PTB's updates and Bot calls to careloop's ports,
runs careloop alone (polling or webhook) or inside a host's Application (`join_host`, which
bot.embed.embed_ptb calls)."""

from __future__ import annotations

import asyncio
import hmac
import logging
import warnings
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

import httpx
from aiohttp import web
from telegram import (
    BotCommand,
    BotCommandScopeAllPrivateChats,
    CallbackQuery,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    LinkPreviewOptions,
    Message,
    ReplyParameters,
)
from telegram import Update as TgUpdate
from telegram.constants import ParseMode
from telegram.error import (
    BadRequest,
    Conflict,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
    TelegramError,
    TimedOut,
)
from telegram.ext import (
    Application,
    ApplicationBuilder,
    BaseHandler,
    CallbackQueryHandler,
    ChatMemberHandler,
    ContextTypes,
    Defaults,
    MessageHandler,
    filters,
)
from telegram.request import HTTPXRequest
from telegram.warnings import PTBDeprecationWarning, PTBUserWarning

from careloop.bot.http_edge import HttpLimits, runner_options
from careloop.bot.outage import Patient, Unavailable, refusal
from careloop.bot.runtime import ALLOWED_UPDATES, H, Handles, convert
from careloop.bot.runtime.bot_api import BotApiMessenger
from careloop.bot.runtime.polling import Again, Polling
from careloop.bot.runtime.webhook import listen_on, webhook_refused
from careloop.bot.runtime.webhook_guard import webhook_guard
from careloop.kernel import messenger as port
from careloop.kernel.updates import Keyboard, Update, Upload

log = logging.getLogger(__name__)

# careloop's texts are Telegram HTML and never want a link preview. Said on every call, not
# only as the Bot's defaults, so that a host bot's own defaults (embedded) cannot change them.
HTML = ParseMode.HTML
NO_PREVIEW = LinkPreviewOptions(is_disabled=True)
# As many connections as aiogram's session allows: the sender sends concurrently.
CONNECTIONS = 100
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"  # noqa: S105 - a header name, not a secret


def _request(timeout: float, connections: int) -> HTTPXRequest:
    # Waiting for a free connection counts against the same timeout as Telegram's answer.
    return HTTPXRequest(connection_pool_size=connections, connect_timeout=timeout,
                        read_timeout=timeout, write_timeout=timeout, pool_timeout=timeout)


def make_application(token: str, api_url: str, timeout: float = 20.0) -> Application:
    """careloop's own Application: one update at a time, no rate limiter (careloop paces its
    sends itself), no job queue (APScheduler runs careloop's jobs), no Updater (see poll)."""
    base = api_url.rstrip("/")
    redact_token(token)
    _quiet_retry_after_warning()
    # careloop's own bot posts getUpdates (bot.runtime.polling) and its texts, edits and
    # answers (PtbMessenger's `direct`) through do_api_request on purpose.
    warnings.filterwarnings("ignore", message="Please use 'Bot.", category=PTBUserWarning)
    return (
        ApplicationBuilder()
        .token(token)
        .base_url(f"{base}/bot")  # PTB appends the token: {base}/bot{token}/{method}
        .base_file_url(f"{base}/file/bot")
        .request(_request(timeout, CONNECTIONS))
        .get_updates_request(_request(timeout, 1))
        .defaults(Defaults(parse_mode=HTML, link_preview_options=NO_PREVIEW))
        .concurrent_updates(False)
        .job_queue(None)
        .updater(None)
        .build()
    )


class _TokenRedactor(logging.Filter):
    """httpx logs each request's URL at INFO, and a Bot API URL holds the token."""

    def __init__(self, token: str) -> None:
        super().__init__()
        self.token = token

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if self.token in message:
            record.msg, record.args = message.replace(self.token, "<token>"), None
        return True


def redact_token(token: str) -> None:
    """Keep the token out of every log line httpx writes, whoever configured logging."""
    logger = logging.getLogger("httpx")
    if not any(isinstance(f, _TokenRedactor) and f.token == token for f in logger.filters):
        logger.addFilter(_TokenRedactor(token))


def _markup(keyboard: Keyboard | None) -> InlineKeyboardMarkup | None:
    if keyboard is None or not keyboard.rows:
        return None
    return InlineKeyboardMarkup([
        [InlineKeyboardButton(b.text, callback_data=b.callback_data, url=b.url) for b in row]
        for row in keyboard.rows
    ])


def _reply(message_id: int | None) -> ReplyParameters | None:
    if message_id is None:
        return None
    return ReplyParameters(message_id=message_id, allow_sending_without_reply=True)


def _quiet_retry_after_warning() -> None:
    # PTB 22 warns whenever a RetryAfter is made or read (its retry_after becomes a timedelta
    # in PTB 23); careloop reads either form, so the warning on every 429 is noise.
    warnings.filterwarnings("ignore", message=".*`retry_after`", category=PTBDeprecationWarning)


def _seconds(exc: RetryAfter) -> float:
    value = exc.retry_after
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


def _normalized(exc: Exception) -> port.MessengerError:
    """Map PTB's errors onto the port's kinds (BadRequest and TimedOut are NetworkErrors in
    PTB, so the order of the checks matters)."""
    if isinstance(exc, RetryAfter):
        return port.RetryAfter(_seconds(exc))
    if isinstance(exc, InvalidToken):  # PTB's own message quotes the token: not this one
        return port.BadRequest("Unauthorized: the bot's token was rejected")
    if isinstance(exc, Forbidden):
        return port.Blocked(exc.message)
    if isinstance(exc, BadRequest):
        if "chat not found" in exc.message.lower():
            return port.ChatNotFound(exc.message)
        return port.BadRequest(exc.message)
    if isinstance(exc, TimedOut):
        if isinstance(exc.__cause__, httpx.PoolTimeout | httpx.ConnectTimeout):
            # Never left this process or never reached Telegram: certainly not delivered.
            return port.Transient(exc.message)
        return port.TimedOut(exc.message or "request timed out")
    if isinstance(exc, asyncio.TimeoutError):
        return port.TimedOut(str(exc) or "request timed out")
    if isinstance(exc, NetworkError):  # 5xx and connection trouble
        return port.Transient(exc.message)
    return port.BadRequest(str(exc))  # 401, 404, 409, a migrated chat


_CAUGHT = (TelegramError, asyncio.TimeoutError)


def _poll_failure(exc: Exception) -> Again | None:
    """How polling goes on after getUpdates failed (bot.runtime.polling)."""
    if isinstance(exc, RetryAfter):
        return Again(_seconds(exc))
    if isinstance(exc, TimedOut):
        return Again(0.0)  # a long poll the network dropped: ask again
    if isinstance(exc, Conflict | NetworkError) and not isinstance(exc, BadRequest):
        return Again()  # another poller or a webhook still set; 5xx, connection trouble
    return None  # refused (a revoked token): it would be refused again


class PtbMessenger(BotApiMessenger):
    """`direct`: posted through the bot's public `do_api_request`."""

    caught = _CAUGHT
    link_preview = NO_PREVIEW

    async def _post_json(self, method: str, body: dict[str, Any]) -> Any:
        return await self._bot.do_api_request(method, api_kwargs=body)

    def _markup(self, keyboard: Keyboard | None) -> InlineKeyboardMarkup | None:
        return _markup(keyboard)

    def _reply(self, message_id: int | None) -> ReplyParameters | None:
        return _reply(message_id)

    def _normalized(self, exc: Exception) -> port.MessengerError:
        return _normalized(exc)

    def _upload(self, upload: Upload) -> dict[str, Any]:
        return {upload.kind: upload.data, "filename": upload.file_name}


# --- PTB's updates → careloop's Update ---------------------------------------------------


def from_callback(update_id: int, query: CallbackQuery) -> Update | None:
    if not isinstance(query.message, Message):
        return None  # too old for Telegram to show us: no chat to check the key against
    return convert.from_callback(update_id, query)


from_message = convert.from_message
from_chat_member = convert.from_chat_member


def build_handlers(pipeline: Handles) -> list[BaseHandler[Any, Any, Any]]:
    """careloop's PTB handlers: every new message and every button press, to `pipeline`."""

    async def on_message(update: TgUpdate, _context: ContextTypes.DEFAULT_TYPE) -> None:
        """Any message: hand it to careloop's pipeline."""
        neutral = from_message(update.update_id, update.message) if update.message else None
        if neutral is not None:
            await pipeline.process(neutral)

    async def on_callback(update: TgUpdate, _context: ContextTypes.DEFAULT_TYPE) -> None:
        """Any button press: hand it to careloop's pipeline."""
        query = update.callback_query
        assert query is not None  # CallbackQueryHandler sees nothing else
        neutral = from_callback(update.update_id, query)
        if neutral is not None:
            await pipeline.process(neutral)
        else:
            await query.answer()

    async def on_chat_member(update: TgUpdate, _context: ContextTypes.DEFAULT_TYPE) -> None:
        """Someone joined or left a group: hand it to careloop's pipeline."""
        event = update.chat_member
        assert event is not None  # CHAT_MEMBER: nothing else reaches this handler
        neutral = from_chat_member(update.update_id, event)
        if neutral is not None:
            await pipeline.process(neutral)

    # UpdateType.MESSAGE: new messages only, as aiogram's message router sees them.
    return [MessageHandler(filters.UpdateType.MESSAGE, on_message),
            CallbackQueryHandler(on_callback),
            ChatMemberHandler(on_chat_member, ChatMemberHandler.CHAT_MEMBER)]


async def _log_error(update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Only the update's id and the error go to the log: never names or message texts."""
    update_id = update.update_id if isinstance(update, TgUpdate) else None
    if isinstance(context.error, Unavailable):  # polling stopped while the database was away
        log.warning("update %s not handled: %s; it comes again at the next start",
                    update_id, context.error.reason)
        return
    log.error("update %s: %s", update_id, type(context.error).__name__, exc_info=context.error)


# --- running ------------------------------------------------------------------------------


class _Refusing:
    """How careloop's own Application hands a webhook's updates to the pipeline: an update
    the database could not take is remembered as refused, and its post is answered 503 so
    that Telegram posts it again (polling does not go through the Application: see
    bot.runtime.polling)."""

    def __init__(self, pipeline: Handles) -> None:
        self.pipeline = pipeline
        self._refused: dict[int, Unavailable] = {}

    async def process(self, update: Update) -> None:
        try:
            await self.pipeline.process(update)
        except Unavailable as exc:
            self._refused[update.update_id] = exc

    def refused(self, update_id: int) -> Unavailable | None:
        return self._refused.pop(update_id, None)


class PtbRuntime:
    """A PTB Application, its messenger, and the few calls `bot.serve` needs."""

    def __init__(self, token: str, api_url: str, timeout: float = 20.0,
                 limits: HttpLimits | None = None) -> None:
        self.application = make_application(token, api_url, timeout)
        self._limits = limits or HttpLimits()
        self.bot = self.application.bot
        self.messenger = PtbMessenger(self.bot, direct=True)
        self._timeout = timeout
        self._polling: Polling | None = None
        self._inbound: _Refusing | None = None

    def attach(self, pipeline: Handles) -> None:
        self._inbound = _Refusing(pipeline)
        self.application.add_handlers(build_handlers(self._inbound))  # the webhook's
        self.application.add_error_handler(_log_error)
        bot = self.bot

        async def fetch(offset: int | None, wait: int,
                        allowed: list[str]) -> list[dict[str, Any]]:
            api_kwargs: dict[str, Any] = {"timeout": wait, "allowed_updates": allowed}
            if offset is not None:
                api_kwargs["offset"] = offset
            # The long poll's own wait on top of the usual read timeout (as get_updates
            # does); the answer as Telegram sent it (no return_type).
            updates: list[dict[str, Any]] = await bot.do_api_request(
                "getUpdates", api_kwargs=api_kwargs, read_timeout=self._timeout + wait)
            return updates

        self._polling = Polling(fetch, pipeline, failure=_poll_failure,
                                stale_press=self.messenger.answer_button)

    async def publish_commands(self, menus: dict[str | None, list[tuple[str, str]]]) -> None:
        scope = BotCommandScopeAllPrivateChats()
        try:
            await self.application.initialize()  # idempotent; asks getMe once
            for language_code, menu in menus.items():
                commands = [BotCommand(name, about) for name, about in menu]
                await self.bot.set_my_commands(commands, scope=scope,
                                               language_code=language_code)
        except _CAUGHT as exc:  # the first call to Telegram: a wrong token or URL shows here
            # Not chained to PTB's InvalidToken, whose message holds the token.
            raise _normalized(exc) from (None if isinstance(exc, InvalidToken) else exc)

    async def poll(self, *, handle_signals: bool = True) -> None:
        """careloop's own long polling (bot.runtime.polling): not PTB's Updater, which
        confirms a batch to Telegram as soon as it is queued. `handle_signals` is accepted
        for the Runtime protocol; `careloop run` handles them."""
        if self._polling is None:
            raise RuntimeError("attach a pipeline first")
        await self.application.initialize()
        await self.bot.delete_webhook(drop_pending_updates=False)
        log.info("polling Telegram for updates")
        await self._polling.run()

    async def stop_polling(self) -> bool:
        """Ask polling to end after the update in hand; False when it was not running."""
        return self._polling is not None and self._polling.stop()

    async def webhook(self, url: str, listen: str, secret: str | None) -> None:
        """Serve Telegram's webhook with aiohttp, not PTB's tornado server (not installed, and
        its secret check is a plain comparison): the secret header is compared in constant
        time, and a post without it is refused with 401 and never processed."""
        await self.application.initialize()
        bot = self.application.bot

        def readable(update: dict[str, object]) -> object:
            return TgUpdate.de_json(update, bot)

        app = web.Application(middlewares=[webhook_guard(secret, self._limits, readable)])
        path = urlsplit(url).path or "/"
        refused = self._inbound.refused if self._inbound is not None else None
        app.router.add_post(path, webhook_handler(self.application, secret, refused))
        runner = web.AppRunner(app, **runner_options(self._limits))
        await runner.setup()
        await self.application.start()
        try:
            await listen_on(runner, listen)
            # Listening first, then telling Telegram. One connection: updates arrive one at
            # a time and in order, as with polling.
            try:
                await self.bot.set_webhook(url, secret_token=secret,
                                           allowed_updates=ALLOWED_UPDATES, max_connections=1)
            except _CAUGHT as exc:
                raise webhook_refused(_normalized(exc)) from None
            log.info("webhook listening on %s%s", listen, path)
            await asyncio.Event().wait()
        finally:
            await runner.cleanup()
            if self.application.running:
                await self.application.stop()

    async def close(self) -> None:
        if self.application.running:
            await self.application.stop()
        await self.application.shutdown()  # closes the HTTP connections; nothing if unused


def webhook_handler(application: Application, secret: str | None,
                    refused: Callable[[int], Unavailable | None] | None = None,
                    ) -> Callable[[web.Request], Awaitable[web.Response]]:
    """An aiohttp handler that feeds Telegram's posts to `application`, answering each only
    once it was handled: Telegram then sends the next one, and sends this one again if the
    process died before answering, or if `refused` says the database could not take it."""
    expected = secret.encode() if secret is not None else None

    async def handle(request: web.Request) -> web.Response:
        if expected is not None:
            given = request.headers.get(SECRET_HEADER, "").encode("utf-8", "surrogateescape")
            if not hmac.compare_digest(given, expected):
                return web.Response(status=401)  # Telegram reads the status only
        try:
            update = TgUpdate.de_json(await request.json(), application.bot)
        except (ValueError, TypeError, KeyError):
            return web.Response(status=400)
        await application.update_queue.put(update)
        await application.update_queue.join()
        unavailable = refused(update.update_id) if refused is not None else None
        if unavailable is not None:
            return refusal(unavailable)
        return web.Response()

    return handle


def join_host(application: Application,
              build: Callable[[port.Messenger], H], *, group: int = 0) -> H:
    """careloop's handlers in handler `group` after the host's, its start and stop in the
    Application's post_init and post_stop (the host's own hooks still run). `build` makes
    careloop's part on the host's Bot: bot.embed.embed_ptb passes the app's factory, so this
    module needs nothing of the app."""
    hosted = build(PtbMessenger(application.bot))
    # An update the database could not take is tried again in place until the host stops.
    patient = Patient(hosted.pipeline, stopped=lambda: not application.running)
    application.add_handlers(build_handlers(patient), group=group)
    redact_token(application.bot.token)
    _quiet_retry_after_warning()
    host_init, host_stop = application.post_init, application.post_stop

    async def post_init(app: Application) -> None:
        if host_init is not None:
            await host_init(app)
        await hosted.start()

    async def post_stop(app: Application) -> None:
        await hosted.stop()  # before the Bot closes: the sends in flight finish
        if host_stop is not None:
            await host_stop(app)

    application.post_init = post_init
    application.post_stop = post_stop
    return hosted
