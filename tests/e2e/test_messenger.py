"""The Messenger port on each runtime, over HTTP against the sandbox: the same calls reach
Telegram the same way, and Telegram's errors come back as the same normalized kinds."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import pytest

from careloop.bot.runtime import Runtime, make_runtime
from careloop.bot.settings import Settings
from careloop.kernel import messenger as port
from careloop.kernel.updates import Button, Keyboard, Media
from careloop.sandbox import Sandbox, SandboxUser
from careloop.sandbox.faults import FaultKind

TIMEOUT = 0.5


@pytest.fixture
async def sandbox() -> AsyncIterator[Sandbox]:
    async with Sandbox(rate_limits=False) as sb:
        yield sb


@pytest.fixture
async def bot(sandbox: Sandbox, runtime: str) -> AsyncIterator[Runtime]:
    # A trailing slash on the base URL still gives {base}/bot{token}/{method}.
    settings = Settings(bot_token=sandbox.token, telegram_api_url=sandbox.base_url + "/",  # type: ignore[arg-type]
                        runtime=runtime, request_timeout_seconds=TIMEOUT)
    made = make_runtime(settings)
    yield made
    await made.close()


@pytest.fixture
def ann(sandbox: Sandbox) -> SandboxUser:
    return sandbox.add_user("Ann")


async def test_sends_edits_and_answers_as_telegram_html_without_previews(
        sandbox: Sandbox, bot: Runtime, ann: SandboxUser) -> None:
    keyboard = Keyboard.of([Button("Yes", callback_data="k1"),
                            Button("Site", url="https://example.com")])
    sent = await bot.messenger.send_text(ann.id, "<b>Hi</b> https://example.com",
                                         keyboard=keyboard)
    reply = await bot.messenger.send_text(ann.id, "again", reply_to=sent.message_id)
    await bot.messenger.edit_text(ann.id, sent.message_id, "<i>Edited</i>")
    await bot.messenger.edit_text(ann.id, sent.message_id, "<i>Edited</i>")  # not modified: quiet
    photo = await bot.messenger.send_media(ann.id, Media("photo", _photo_id(sandbox, ann)),
                                           caption="<b>look</b>")

    messages = {m.message_id: m for m in sandbox.bot_messages(ann.id)}
    assert messages[sent.message_id].content == "Edited"
    assert messages[sent.message_id].buttons == []  # an edit without a keyboard drops it
    assert messages[reply.message_id].reply_to_message_id == sent.message_id
    assert messages[photo.message_id].caption == "look"
    # The second edit was refused as "not modified", and the messenger kept quiet about it.
    assert [r.ok for r in sandbox.calls("editMessageText")] == [True, False]
    for request in sandbox.calls("sendMessage") + sandbox.calls("editMessageText"):
        assert request.params["parse_mode"] == "HTML"
        assert _decoded(request.params["link_preview_options"]) == {"is_disabled": True}
    assert sandbox.calls("sendPhoto")[0].params["parse_mode"] == "HTML"
    assert sandbox.rejected() == []


async def test_a_button_press_is_answered(sandbox: Sandbox, bot: Runtime, ann: SandboxUser
                                          ) -> None:
    sent = await bot.messenger.send_text(ann.id, "Pick", keyboard=Keyboard.of(
        [Button("One", callback_data="k1")]))
    query_id = await sandbox.user_presses(ann, ann.id, sent.message_id, "k1")
    await bot.messenger.answer_button(query_id, "Thanks")
    assert [(a.query_id, a.text) for a in sandbox.callback_answers] == [(query_id, "Thanks")]


@pytest.mark.parametrize(("kind", "error"), [
    ("blocked", port.Blocked),
    ("chat_not_found", port.ChatNotFound),
    ("bad_request", port.BadRequest),
    ("server_error", port.Transient),
    ("bad_gateway", port.Transient),
])
async def test_errors_come_back_normalized(sandbox: Sandbox, bot: Runtime, ann: SandboxUser,
                                           kind: FaultKind, error: type[Exception]) -> None:
    sandbox.inject_fault("sendMessage", kind=kind)
    with pytest.raises(error) as raised:
        await bot.messenger.send_text(ann.id, "hello")
    assert not isinstance(raised.value, port.TimedOut)  # Telegram answered: not in doubt


async def test_retry_after_carries_the_seconds(sandbox: Sandbox, bot: Runtime, ann: SandboxUser
                                               ) -> None:
    sandbox.inject_fault("sendMessage", kind="retry_after", retry_after=7)
    with pytest.raises(port.RetryAfter) as raised:
        await bot.messenger.send_text(ann.id, "hello")
    assert raised.value.seconds == 7


async def test_no_answer_in_time_is_a_timeout(sandbox: Sandbox, bot: Runtime, ann: SandboxUser
                                              ) -> None:
    sandbox.inject_fault("sendMessage", kind="slow", delay=TIMEOUT * 3)
    with pytest.raises(port.TimedOut):
        await bot.messenger.send_text(ann.id, "hello")


async def test_edits_and_answers_are_normalized_too(sandbox: Sandbox, bot: Runtime,
                                                   ann: SandboxUser) -> None:
    with pytest.raises(port.BadRequest, match=r"(?i)message to edit not found"):
        await bot.messenger.edit_text(ann.id, 999, "Edited")
    with pytest.raises(port.BadRequest, match=r"(?i)query is too old"):
        await bot.messenger.answer_button("404", "gone")
    sandbox.inject_fault("answerCallbackQuery", kind="retry_after", retry_after=3)
    with pytest.raises(port.RetryAfter):
        await bot.messenger.answer_button("404", "gone")


def _photo_id(sandbox: Sandbox, user: SandboxUser) -> str:
    message = sandbox.world.user_sends_photo(user)
    return message.photo[-1]["file_id"]  # type: ignore[index]


def _decoded(value: object) -> object:
    """A JSON parameter as sent: a string in a form body, an object in a JSON body."""
    return json.loads(value) if isinstance(value, str) else value


async def test_pins_unpins_and_deletes_in_a_group(sandbox: Sandbox, bot: Runtime) -> None:
    """What a post in the community group needs: the new pin replaces the old one, and a
    message the bot posted can be taken down."""
    group = sandbox.add_group("Community", [])
    old = await bot.messenger.send_text(group, "member day: old")
    new = await bot.messenger.send_text(group, "member day: new")
    await bot.messenger.pin(group, old.message_id)
    await bot.messenger.unpin(group, old.message_id)
    await bot.messenger.pin(group, new.message_id)
    assert [m.message_id for m in sandbox.pinned(group)] == [new.message_id]
    await bot.messenger.unpin(group)  # the latest pin
    assert sandbox.pinned(group) == []

    await bot.messenger.delete(group, old.message_id)
    assert [m.message_id for m in sandbox.bot_messages(group) if not m.deleted] == [
        new.message_id]
    with pytest.raises(port.BadRequest):
        await bot.messenger.delete(group, old.message_id)  # gone already
    assert sandbox.rejected() == []


async def test_a_message_in_a_topic_and_a_paid_one(sandbox: Sandbox, bot: Runtime,
                                                   ann: SandboxUser) -> None:
    """The parameters the outbox's sends carry reach Telegram on each runtime (aiogram's
    are posted as JSON by careloop itself: bot/runtime/aiogram_direct.py)."""
    forum = sandbox.add_group("Desk", [], forum=True)
    topic = await bot.messenger.create_topic(forum, "Ann Lee")
    in_topic = await bot.messenger.send_text(forum, "case card", topic_id=topic)
    await bot.messenger.send_text(ann.id, "sale", paid=True)

    assert [m.message_thread_id for m in sandbox.bot_messages(forum)
            if m.message_id == in_topic.message_id] == [topic]
    assert [r.params.get("allow_paid_broadcast") in (True, "true")
            for r in sandbox.calls("sendMessage")] == [False, True]
    assert sandbox.rejected() == []
