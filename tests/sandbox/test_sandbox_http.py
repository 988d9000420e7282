"""The sandbox over HTTP, driven by the real aiogram client (and once by python-telegram-bot)."""

from __future__ import annotations

import asyncio
import time

import aiohttp
import pytest
from aiogram import Bot, Dispatcher, F
from aiogram.exceptions import (
    TelegramBadRequest,
    TelegramConflictError,
    TelegramForbiddenError,
    TelegramRetryAfter,
    TelegramServerError,
    TelegramUnauthorizedError,
)
from aiogram.filters import CommandStart
from aiogram.types import (
    BufferedInputFile,
    CallbackQuery,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
)
from aiohttp import web

from careloop.sandbox import Sandbox, SandboxError
from careloop.sandbox.messages import NOT_MODIFIED
from tests.sandbox.conftest import FakeClock, aiogram_bot


def yes_no() -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        inline_keyboard=[
            [
                InlineKeyboardButton(text="Yes", callback_data="answer:yes"),
                InlineKeyboardButton(text="No", callback_data="answer:no"),
            ],
            [InlineKeyboardButton(text="Help", url="https://example.com/help")],
        ]
    )


async def test_send_and_edit_with_inline_keyboard(sandbox: Sandbox, bot: Bot) -> None:
    alice = sandbox.add_user("Alice", username="alice")

    sent = await bot.send_message(
        alice.id, "How was it, <b>Alice</b>?", parse_mode="HTML", reply_markup=yes_no()
    )

    assert sent.text == "How was it, Alice?"
    assert sent.from_user is not None and sent.from_user.is_bot
    [stored] = sandbox.bot_messages(alice.id)
    assert stored.html == "How was it, <b>Alice</b>?"
    assert stored.entities == [{"type": "bold", "offset": 12, "length": 5}]
    assert stored.buttons == [
        [("Yes", "answer:yes"), ("No", "answer:no")],
        [("Help", "https://example.com/help")],
    ]

    edited = await bot.edit_message_text("Thanks!", chat_id=alice.id, message_id=sent.message_id)
    assert isinstance(edited, Message) and edited.edit_date is not None
    assert (stored.text, stored.edited, stored.history, stored.buttons) == (
        "Thanks!",
        1,
        ["How was it, Alice?"],
        [],  # an edit without reply_markup removes the keyboard, as in Telegram
    )

    with pytest.raises(TelegramBadRequest) as same:
        await bot.edit_message_text("Thanks!", chat_id=alice.id, message_id=sent.message_id)
    assert same.value.message == f"Bad Request: {NOT_MODIFIED}"
    with pytest.raises(TelegramBadRequest, match="message to edit not found"):
        await bot.edit_message_text("?", chat_id=alice.id, message_id=999)
    assert sandbox.rejected() == []  # those were state errors, not malformed requests


async def test_long_polling_returns_as_soon_as_a_user_writes(sandbox: Sandbox, bot: Bot) -> None:
    alice = sandbox.add_user("Alice")
    poll = asyncio.create_task(bot.get_updates(timeout=5))
    await sandbox.wait_for(lambda: sandbox.polling, what="a waiting getUpdates")
    loop = asyncio.get_running_loop()
    started = loop.time()

    await sandbox.user_sends(alice, "/start@careloop_sandbox_bot")

    [update] = await poll
    assert loop.time() - started < 1
    assert update.message is not None and update.message.text == "/start@careloop_sandbox_bot"
    assert update.message.entities is not None and update.message.entities[0].type == "bot_command"
    assert sandbox.pending_updates() == 1  # delivered, not yet confirmed
    assert await bot.get_updates(offset=update.update_id + 1, timeout=0) == []
    assert sandbox.pending_updates() == 0


async def test_button_press_and_callback_answer(sandbox: Sandbox, bot: Bot) -> None:
    alice = sandbox.add_user("Alice")
    sent = await bot.send_message(alice.id, "Rate us", reply_markup=yes_no())

    query_id = await sandbox.user_presses(alice, alice.id, sent.message_id, "answer:yes")

    [update] = await bot.get_updates(timeout=1)
    query = update.callback_query
    assert query is not None and query.id == query_id and query.data == "answer:yes"
    assert query.message is not None and query.message.message_id == sent.message_id
    assert await bot.answer_callback_query(query.id, text="Thanks", show_alert=True)
    assert [(a.query_id, a.text, a.show_alert) for a in sandbox.callback_answers] == [
        (query_id, "Thanks", True)
    ]
    with pytest.raises(TelegramBadRequest, match="query is too old"):
        await bot.answer_callback_query(query.id)


async def test_only_buttons_on_the_current_markup_can_be_pressed(
    sandbox: Sandbox, bot: Bot
) -> None:
    alice, bob = sandbox.add_user("Alice"), sandbox.add_user("Bob")
    sent = await bot.send_message(alice.id, "Rate us", reply_markup=yes_no())

    with pytest.raises(SandboxError, match="no button with callback_data 'answer:maybe'"):
        await sandbox.user_presses(alice, alice.id, sent.message_id, "answer:maybe")
    with pytest.raises(SandboxError, match="not in chat"):
        await sandbox.user_presses(bob, alice.id, sent.message_id, "answer:yes")

    await bot.edit_message_reply_markup(chat_id=alice.id, message_id=sent.message_id)
    with pytest.raises(SandboxError):
        await sandbox.user_presses(alice, alice.id, sent.message_id, "answer:yes")


async def test_errors_reach_aiogram_as_its_exceptions(sandbox: Sandbox, bot: Bot) -> None:
    alice = sandbox.add_user("Alice")
    stranger = sandbox.add_user("Stranger", started=False)

    sandbox.block(alice)
    with pytest.raises(TelegramForbiddenError, match="bot was blocked by the user"):
        await bot.send_message(alice.id, "Hello?")
    with pytest.raises(TelegramForbiddenError, match="can't initiate conversation"):
        await bot.send_message(stranger.id, "Hello?")
    with pytest.raises(TelegramBadRequest, match="chat not found"):
        await bot.send_message(424242, "Hello?")
    with pytest.raises(TelegramBadRequest, match='Unsupported start tag "br"'):
        await bot.send_message(stranger.id, "a<br>b", parse_mode="HTML")

    [invalid] = sandbox.rejected()
    assert invalid.method == "sendMessage" and invalid.params["text"] == "a<br>b"
    assert [r.kind for r in sandbox.requests] == ["state", "state", "state", "invalid"]


async def test_injected_faults(sandbox: Sandbox, bot: Bot) -> None:
    alice = sandbox.add_user("Alice")
    sandbox.inject_fault("sendMessage", chat_id=alice.id, kind="retry_after", retry_after=7)
    sandbox.inject_fault("sendMessage", kind="server_error")
    sandbox.inject_fault(kind="slow", delay=0.05)

    with pytest.raises(TelegramRetryAfter) as flood:
        await bot.send_message(alice.id, "1")
    assert flood.value.retry_after == 7
    with pytest.raises(TelegramServerError, match="Internal Server Error"):
        await bot.send_message(alice.id, "2")
    assert (await bot.send_message(alice.id, "3")).text == "3"
    assert (await bot.send_message(alice.id, "4")).text == "4"

    assert [r.kind for r in sandbox.requests] == ["fault", "fault", "ok", "ok"]
    assert [m.text for m in sandbox.bot_messages(alice.id)] == ["3", "4"]


async def test_group_flood_limit_is_20_messages_a_minute(
    sandbox: Sandbox, bot: Bot, fake_clock: FakeClock
) -> None:
    members = [sandbox.add_user("Alice"), sandbox.add_user("Bob")]
    group = sandbox.add_group("Regulars", members)
    for n in range(20):
        await bot.send_message(group, f"news {n}")
        fake_clock.advance(1)

    with pytest.raises(TelegramRetryAfter) as flood:
        await bot.send_message(group, "one too many")
    assert flood.value.retry_after == 40  # the first message leaves the window at t+60
    assert len(sandbox.bot_messages(group)) == 20

    fake_clock.advance(40)
    await bot.send_message(group, "again")
    assert sandbox.requests[-2].kind == "rate_limited"
    assert sandbox.rejected() == []


async def test_private_chat_allows_short_bursts(
    sandbox: Sandbox, bot: Bot, fake_clock: FakeClock
) -> None:
    alice = sandbox.add_user("Alice")
    for n in range(3):
        await bot.send_message(alice.id, f"burst {n}")
    with pytest.raises(TelegramRetryAfter) as flood:
        await bot.send_message(alice.id, "fourth")
    assert flood.value.retry_after == 1
    # Edits and callback answers are not new messages and are not throttled.
    first = sandbox.bot_messages(alice.id)[0]
    await bot.edit_message_text("edited", chat_id=alice.id, message_id=first.message_id)

    fake_clock.advance(1)
    await bot.send_message(alice.id, "fourth")


async def test_webhook_delivery_with_secret_header(sandbox: Sandbox, bot: Bot) -> None:
    received: list[tuple[str | None, dict[str, object]]] = []

    async def receive(request: web.Request) -> web.Response:
        received.append(
            (request.headers.get("X-Telegram-Bot-Api-Secret-Token"), await request.json())
        )
        return web.json_response({})

    app = web.Application()
    app.router.add_post("/hook", receive)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        alice = sandbox.add_user("Alice")
        await sandbox.user_sends(alice, "queued before the webhook")
        url = f"http://127.0.0.1:{port}/hook"
        assert await bot.set_webhook(url, secret_token="s3cret", drop_pending_updates=True)
        with pytest.raises(TelegramConflictError, match="webhook is active"):
            await bot.get_updates()

        await sandbox.user_sends(alice, "hello hook")
        await sandbox.wait_for(lambda: received, what="a webhook delivery")
        [(secret, update)] = received
        assert secret == "s3cret"
        assert update["message"]["text"] == "hello hook"  # type: ignore[index]
        await sandbox.wait_idle()
        info = await bot.get_webhook_info()
        assert (info.url, info.pending_update_count) == (url, 0)
        assert await bot.delete_webhook()
        assert await bot.get_updates() == []
    finally:
        await runner.cleanup()


async def test_webhook_must_be_https_outside_loopback(bot: Bot) -> None:
    with pytest.raises(TelegramBadRequest, match="An HTTPS URL must be provided"):
        await bot.set_webhook("http://bot.example.com/hook")


async def test_dispatcher_end_to_end_with_wait_idle(sandbox: Sandbox) -> None:
    """A real aiogram Dispatcher polling the sandbox: /start, then a button press."""
    dispatcher = Dispatcher()

    @dispatcher.message(CommandStart())
    async def start(message: Message) -> None:
        await message.answer("Welcome! Rate us?", reply_markup=yes_no())

    @dispatcher.callback_query(F.data.startswith("answer:"))
    async def answer(query: CallbackQuery) -> None:
        await query.answer("Noted")
        assert isinstance(query.message, Message)
        await query.message.edit_text(f"You said {query.data.removeprefix('answer:')}")

    client = aiogram_bot(sandbox)
    polling = asyncio.create_task(
        dispatcher.start_polling(client, polling_timeout=1, handle_signals=False)
    )
    try:
        alice = sandbox.add_user("Alice")
        await sandbox.user_sends(alice, "/start")
        await sandbox.wait_idle()
        [welcome] = sandbox.bot_messages(alice.id)
        assert welcome.text == "Welcome! Rate us?"

        await sandbox.user_presses(alice, alice.id, welcome.message_id, "answer:yes")
        await sandbox.wait_idle()
        assert welcome.text == "You said yes"
        assert [a.text for a in sandbox.callback_answers] == ["Noted"]
        assert sandbox.rejected() == []
    finally:
        await dispatcher.stop_polling()
        await polling


async def test_wait_idle_is_not_fooled_by_a_stalled_event_loop(sandbox: Sandbox) -> None:
    """A process that got no CPU for longer than `quiet` (a busy machine) was not idle:
    the bot's ready handler gets the loop before wait_idle returns."""
    dispatcher = Dispatcher()

    @dispatcher.update.outer_middleware()
    async def stall(handler, event, data):  # type: ignore[no-untyped-def]
        time.sleep(0.08)  # noqa: ASYNC251 - a blocked loop, as when the process is descheduled
        return await handler(event, data)

    @dispatcher.message(CommandStart())
    async def start(message: Message) -> None:
        await message.answer("Welcome!")

    client = aiogram_bot(sandbox)
    polling = asyncio.create_task(
        dispatcher.start_polling(client, polling_timeout=1, handle_signals=False)
    )
    try:
        alice = sandbox.add_user("Alice")
        for sent in range(1, 4):
            await sandbox.user_sends(alice, "/start")
            await sandbox.wait_idle()
            assert len(sandbox.bot_messages(alice.id)) == sent
    finally:
        await dispatcher.stop_polling()
        await polling


async def test_upload_and_download_a_photo(sandbox: Sandbox, bot: Bot) -> None:
    alice = sandbox.add_user("Alice")
    photo = BufferedInputFile(b"\xff\xd8 not really a jpeg", filename="receipt.jpg")

    sent = await bot.send_photo(alice.id, photo, caption="Your <i>receipt</i>", parse_mode="HTML")

    assert sent.photo is not None and sent.caption == "Your receipt"
    file = await bot.get_file(sent.photo[-1].file_id)
    assert file.file_path is not None
    downloaded = await bot.download_file(file.file_path)
    assert downloaded is not None and downloaded.read() == b"\xff\xd8 not really a jpeg"
    # A file id Telegram gave out can be sent again; made-up ones cannot.
    await bot.send_photo(alice.id, sent.photo[-1].file_id)
    with pytest.raises(TelegramBadRequest, match="wrong file identifier"):
        await bot.send_photo(alice.id, "made-up-id")


async def test_forum_topics(sandbox: Sandbox, bot: Bot) -> None:
    alice = sandbox.add_user("Alice")
    group = sandbox.add_group("Support", [alice], forum=True)
    topic = await bot.create_forum_topic(group, "Case 17")

    sent = await bot.send_message(group, "Opened", message_thread_id=topic.message_thread_id)

    assert sent.is_topic_message and sent.message_thread_id == topic.message_thread_id
    await sandbox.user_sends(
        alice, "thanks", chat_id=group, message_thread_id=topic.message_thread_id
    )
    assert [m.service for m in sandbox.messages(group)] == ["forum_topic_created", None, None]
    assert await bot.close_forum_topic(group, topic.message_thread_id)
    # The bot administers the group and may still post in a closed topic; members may not.
    await bot.send_message(group, "Closed", message_thread_id=topic.message_thread_id)
    with pytest.raises(SandboxError, match="closed"):
        await sandbox.user_sends(alice, "late", chat_id=group,
                                 message_thread_id=topic.message_thread_id)
    with pytest.raises(TelegramBadRequest, match="TOPIC_NOT_MODIFIED"):
        await bot.close_forum_topic(group, topic.message_thread_id)
    with pytest.raises(TelegramBadRequest, match="message thread not found"):
        await bot.send_message(group, "lost", message_thread_id=999)


async def test_blocking_tells_the_bot(sandbox: Sandbox, bot: Bot) -> None:
    alice = sandbox.add_user("Alice")
    sandbox.block(alice)

    [update] = await bot.get_updates(timeout=1)

    assert update.my_chat_member is not None
    assert update.my_chat_member.new_chat_member.status == "kicked"


async def test_wrong_token_and_raw_encodings(sandbox: Sandbox) -> None:
    stranger = aiogram_bot(sandbox, token="999:WRONG")
    try:
        with pytest.raises(TelegramUnauthorizedError):
            await stranger.get_me()
    finally:
        await stranger.session.close()

    alice = sandbox.add_user("Alice")
    markup = {"inline_keyboard": [[{"text": "Yes", "callback_data": "yes"}]]}
    async with aiohttp.ClientSession() as http:
        async with http.post(
            f"{sandbox.api_url}/sendMessage",
            json={"chat_id": alice.id, "text": "json body", "reply_markup": markup},
        ) as response:
            body = await response.json()
            assert body["ok"] and body["result"]["reply_markup"] == markup
        async with http.get(
            f"{sandbox.api_url}/getChat", params={"chat_id": str(alice.id)}
        ) as response:
            assert (await response.json())["result"]["first_name"] == "Alice"
        async with http.get(f"{sandbox.api_url}/sendTelepathy") as response:
            assert response.status == 404
            assert await response.json() == {
                "ok": False,
                "error_code": 404,
                "description": "Not Found",
            }
        async with http.get(f"{sandbox.base_url}/botWRONG/getMe") as response:
            assert await response.json() == {
                "ok": False,
                "error_code": 401,
                "description": "Unauthorized",
            }


async def test_python_telegram_bot_works_too(sandbox: Sandbox) -> None:
    import telegram

    alice = sandbox.add_user("Alice")
    client = telegram.Bot(sandbox.token, base_url=f"{sandbox.base_url}/bot")
    async with client:
        keyboard = telegram.InlineKeyboardMarkup(
            [[telegram.InlineKeyboardButton("Yes", callback_data="yes")]]
        )
        sent = await client.send_message(
            alice.id, "<i>Hi</i>", parse_mode="HTML", reply_markup=keyboard
        )
        assert sent.text == "Hi"
        await sandbox.user_presses(alice, alice.id, sent.message_id, "yes")
        [update] = await client.get_updates(timeout=1)
        assert update.callback_query is not None and update.callback_query.data == "yes"
        with pytest.raises(telegram.error.BadRequest, match=r"(?i)text buttons are unallowed"):
            await client.send_message(
                alice.id,
                "x",
                reply_markup=telegram.InlineKeyboardMarkup(
                    [[telegram.InlineKeyboardButton("No action", url=None, callback_data=None)]]
                ),
            )
