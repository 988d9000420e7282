"""The aiogram 3 runtime: adapts aiogram's updates and Bot calls to careloop's ports, runs
careloop alone (polling or webhook) or inside a host's Dispatcher (`embed`)."""

from __future__ import annotations

import asyncio
import logging
from urllib.parse import urlsplit

from aiogram import Bot, Dispatcher, Router
from aiogram.client.default import DefaultBotProperties
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.enums import ParseMode
from aiogram.exceptions import (
    TelegramAPIError,
    TelegramBadRequest,
    TelegramForbiddenError,
    TelegramNetworkError,
    TelegramRetryAfter,
    TelegramServerError,
)
from aiogram.types import (
    BotCommand,
    BotCommandScopeAllPrivateChats,
    CallbackQuery,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    LinkPreviewOptions,
    Message,
    ReplyParameters,
)
from aiogram.types import Update as TgUpdate
from aiohttp import web

from bot.app import Storage
from bot.embed import Embedded, build_embedded
from bot.pipeline import Pipeline
from bot.ports import messenger as port
from bot.ports.clock import Clock
from bot.ports.updates import Chat, ChatKind, Keyboard, Media, Update, User
from bot.runtime import ALLOWED_UPDATES
from bot.settings import Settings

log = logging.getLogger(__name__)

# careloop's texts are Telegram HTML and never want a link preview. Said on every call, not
# only as the Bot's defaults, so that a host bot's own defaults (embedded) cannot change them.
HTML = ParseMode.HTML
NO_PREVIEW = LinkPreviewOptions(is_disabled=True)


def make_bot(token: str, api_url: str, timeout: float = 20.0) -> Bot:
    session = AiohttpSession(api=TelegramAPIServer.from_base(api_url), timeout=timeout)
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


class AiogramMessenger:
    def __init__(self, bot: Bot) -> None:
        self._bot = bot

    async def send_text(
        self, chat_id: int, text: str, *, keyboard: Keyboard | None = None,
        reply_to: int | None = None, topic_id: int | None = None, paid: bool = False,
    ) -> port.Sent:
        try:
            msg = await self._bot.send_message(
                chat_id, text, parse_mode=HTML, link_preview_options=NO_PREVIEW,
                reply_markup=_markup(keyboard), message_thread_id=topic_id,
                reply_parameters=_reply(reply_to), allow_paid_broadcast=paid or None,
            )
        except _CAUGHT as exc:
            raise _normalized(exc) from exc
        return port.Sent(msg.chat.id, msg.message_id)

    async def send_media(
        self, chat_id: int, media: Media, *, caption: str | None = None,
        reply_to: int | None = None, topic_id: int | None = None,
    ) -> port.Sent:
        send = self._bot.send_photo if media.kind == "photo" else self._bot.send_document
        try:
            msg = await send(chat_id, media.file_id, caption=caption or None, parse_mode=HTML,
                             message_thread_id=topic_id, reply_parameters=_reply(reply_to))
        except _CAUGHT as exc:
            raise _normalized(exc) from exc
        return port.Sent(msg.chat.id, msg.message_id)

    async def edit_text(
        self, chat_id: int, message_id: int, text: str, *, keyboard: Keyboard | None = None
    ) -> None:
        try:
            await self._bot.edit_message_text(
                text=text, chat_id=chat_id, message_id=message_id, parse_mode=HTML,
                link_preview_options=NO_PREVIEW, reply_markup=_markup(keyboard),
            )
        except TelegramBadRequest as exc:
            if "message is not modified" in exc.message:
                return
            raise _normalized(exc) from exc
        except _CAUGHT as exc:
            raise _normalized(exc) from exc

    async def answer_button(self, callback_id: str, text: str | None = None) -> None:
        try:
            await self._bot.answer_callback_query(callback_id, text=text)
        except _CAUGHT as exc:
            raise _normalized(exc) from exc

    async def is_forum(self, chat_id: int) -> bool:
        try:
            chat = await self._bot.get_chat(chat_id)
        except _CAUGHT as exc:
            raise _normalized(exc) from exc
        return bool(chat.is_forum)

    async def create_topic(self, chat_id: int, name: str) -> int:
        try:
            topic = await self._bot.create_forum_topic(chat_id, name)
        except _CAUGHT as exc:
            raise _normalized(exc) from exc
        return topic.message_thread_id

    async def set_topic_closed(self, chat_id: int, topic_id: int, closed: bool) -> None:
        call = self._bot.close_forum_topic if closed else self._bot.reopen_forum_topic
        try:
            await call(chat_id, topic_id)
        except TelegramBadRequest as exc:
            if "TOPIC_NOT_MODIFIED" in exc.message:  # already so: the wanted state holds
                return
            raise _normalized(exc) from exc
        except _CAUGHT as exc:
            raise _normalized(exc) from exc

    async def pin(self, chat_id: int, message_id: int) -> None:
        try:
            await self._bot.pin_chat_message(chat_id, message_id, disable_notification=True)
        except _CAUGHT as exc:
            raise _normalized(exc) from exc


def _reply(message_id: int | None) -> ReplyParameters | None:
    if message_id is None:
        return None
    return ReplyParameters(message_id=message_id, allow_sending_without_reply=True)


def _user(tg: object) -> User:
    return User(
        id=tg.id,  # type: ignore[attr-defined]
        first_name=tg.first_name,  # type: ignore[attr-defined]
        last_name=tg.last_name,  # type: ignore[attr-defined]
        username=tg.username,  # type: ignore[attr-defined]
        language_code=tg.language_code,  # type: ignore[attr-defined]
        is_bot=tg.is_bot,  # type: ignore[attr-defined]
    )


def _chat(message: Message) -> Chat:
    try:
        kind = ChatKind(message.chat.type)
    except ValueError:
        kind = ChatKind.GROUP
    return Chat(id=message.chat.id, kind=kind, title=message.chat.title,
                is_forum=bool(message.chat.is_forum))


def _media(message: Message) -> Media | None:
    if message.photo:
        return Media("photo", message.photo[-1].file_id)
    if message.document:
        return Media("document", message.document.file_id, message.document.file_name)
    return None


def from_message(update_id: int, message: Message) -> Update | None:
    if message.from_user is None:
        return None  # channel posts and anonymous admins: nobody to answer
    text = message.text
    command, args = Update.split_command(text) if text else (None, "")
    return Update(
        update_id=update_id,
        chat=_chat(message),
        user=_user(message.from_user),
        message_id=message.message_id,
        text=text,
        command=command,
        command_args=args,
        reply_to_message_id=message.reply_to_message.message_id
        if message.reply_to_message else None,
        topic_id=message.message_thread_id if message.is_topic_message else None,
        media=_media(message),
        caption=message.caption,
    )


def from_callback(update_id: int, query: CallbackQuery) -> Update | None:
    message = query.message
    if not isinstance(message, Message):
        return None  # too old for Telegram to show us: no chat to check the key against
    return Update(
        update_id=update_id,
        chat=_chat(message),
        user=_user(query.from_user),
        message_id=message.message_id,
        callback_id=query.id,
        callback_data=query.data,
        topic_id=message.message_thread_id if message.is_topic_message else None,
    )


def build_router() -> Router:
    """careloop's aiogram router; it needs `careloop` (a Pipeline) in the dispatcher's data."""
    router = Router(name="careloop")

    @router.message()
    async def on_message(message: Message, event_update: TgUpdate, careloop: Pipeline) -> None:
        """Any message: hand it to careloop's pipeline."""
        update = from_message(event_update.update_id, message)
        if update is not None:
            await careloop.process(update)

    @router.callback_query()
    async def on_callback(
        query: CallbackQuery, event_update: TgUpdate, careloop: Pipeline
    ) -> None:
        """Any button press: hand it to careloop's pipeline."""
        update = from_callback(event_update.update_id, query)
        if update is not None:
            await careloop.process(update)
        else:
            await query.answer()

    return router


def build_dispatcher(pipeline: Pipeline) -> Dispatcher:
    dispatcher = Dispatcher(careloop=pipeline)
    dispatcher.include_router(build_router())
    return dispatcher


async def run_polling(bot: Bot, dispatcher: Dispatcher, *, handle_signals: bool = True) -> None:
    await bot.delete_webhook(drop_pending_updates=False)
    # One update at a time keeps each customer's messages in order.
    await dispatcher.start_polling(
        bot, handle_as_tasks=False, handle_signals=handle_signals,
        allowed_updates=ALLOWED_UPDATES, close_bot_session=False,
    )


async def run_webhook(bot: Bot, dispatcher: Dispatcher, url: str, listen: str,
                      secret: str | None) -> None:
    """Serve Telegram's webhook. aiogram compares the secret header in constant time
    (secrets.compare_digest) and answers 401 without processing the update."""
    from aiogram.webhook.aiohttp_server import SimpleRequestHandler, setup_application

    app = web.Application()
    path = urlsplit(url).path or "/"
    # Not in the background: Telegram sends the next update only after this one is answered,
    # so updates are handled one at a time and in order, and one cut off by a crash is sent
    # again (the pipeline skips it if it was in fact committed).
    SimpleRequestHandler(dispatcher, bot, handle_in_background=False,
                         secret_token=secret).register(app, path=path)
    setup_application(app, dispatcher, bot=bot)
    host, _, port = listen.rpartition(":")
    # One connection: updates arrive one at a time and in order, as with polling.
    await bot.set_webhook(url, secret_token=secret, allowed_updates=ALLOWED_UPDATES,
                          max_connections=1)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, host or "127.0.0.1", int(port)).start()
    log.info("webhook listening on %s%s", listen, path)
    try:
        await asyncio.Event().wait()
    finally:
        await runner.cleanup()


class AiogramRuntime:
    """The bot, its messenger and dispatcher, behind the few calls `bot.serve` needs."""

    def __init__(self, token: str, api_url: str, timeout: float = 20.0) -> None:
        self.bot = make_bot(token, api_url, timeout)
        self.messenger = AiogramMessenger(self.bot)
        self._dispatcher: Dispatcher | None = None

    def attach(self, pipeline: Pipeline) -> None:
        self._dispatcher = build_dispatcher(pipeline)

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
        await run_polling(self.bot, self.dispatcher, handle_signals=handle_signals)

    async def stop_polling(self) -> bool:
        """Ask polling to end after the update in hand; False when it was not running."""
        try:
            await self.dispatcher.stop_polling()
        except RuntimeError:  # not started yet, or already ended
            return False
        return True

    async def webhook(self, url: str, listen: str, secret: str | None) -> None:
        await run_webhook(self.bot, self.dispatcher, url, listen, secret)

    async def close(self) -> None:
        await self.bot.session.close()


def embed(dispatcher: Dispatcher, bot: Bot, settings: Settings, *,
          storage: Storage | None = None, clock: Clock | None = None) -> Embedded:
    """Add careloop to a host's aiogram Dispatcher, on the host's Bot and event loop.

    Call it after including the host's own routers: the first router that takes an update
    keeps it, so the host's commands stay the host's, and careloop handles every other
    message and button press. Its pipeline reaches the handlers as the dispatcher's data
    (`careloop`), and its sender and scans start with the dispatcher's start-up and stop at
    its shutdown (polling or aiogram's webhook alike). Start polling with
    `handle_as_tasks=False` to keep each chat's updates in order.
    """
    embedded = build_embedded(settings, AiogramMessenger(bot), storage=storage, clock=clock)
    dispatcher["careloop"] = embedded.pipeline
    dispatcher.include_router(build_router())
    dispatcher.startup.register(embedded.start)
    dispatcher.shutdown.register(embedded.stop)
    return embedded
