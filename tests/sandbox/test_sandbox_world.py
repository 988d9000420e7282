"""The simulated world behind the API: chats, replies, copies, commands, members, updates."""

from __future__ import annotations

import asyncio

import aiohttp
import pytest
from aiogram import Bot
from aiogram.exceptions import TelegramBadRequest, TelegramConflictError
from aiogram.types import BotCommand, BotCommandScopeChat, ReplyParameters

from careloop.sandbox import Sandbox, SandboxError


async def test_group_conversation_with_replies(sandbox: Sandbox, bot: Bot) -> None:
    alice, bob = sandbox.add_user("Alice"), sandbox.add_user("Bob", username="bob")
    group = sandbox.add_group("Regulars", [alice, bob])
    assert str(group).startswith("-100")

    question = await sandbox.user_sends(bob, "Is the shop open?", chat_id=group)
    reply = await bot.send_message(
        group, "Yes, until 6", reply_parameters=ReplyParameters(message_id=question.message_id)
    )

    assert reply.reply_to_message is not None
    assert reply.reply_to_message.text == "Is the shop open?"
    assert [(m.from_bot, m.text) for m in sandbox.messages(group)] == [
        (False, "Is the shop open?"),
        (True, "Yes, until 6"),
    ]
    assert sandbox.bot_messages(group)[0].reply_to_message_id == question.message_id
    with pytest.raises(TelegramBadRequest, match="message to be replied not found"):
        await bot.send_message(group, "?", reply_parameters=ReplyParameters(message_id=99))

    outsider = sandbox.add_user("Carol")
    with pytest.raises(SandboxError, match="not a member"):
        await sandbox.user_sends(outsider, "let me in", chat_id=group)


async def test_copy_forward_delete_and_pin(sandbox: Sandbox, bot: Bot) -> None:
    alice = sandbox.add_user("Alice")
    group = sandbox.add_group("Staff", [alice])
    original = await sandbox.user_sends(alice, "The coffee machine is broken")

    copied = await bot.copy_message(group, from_chat_id=alice.id, message_id=original.message_id)
    forwarded = await bot.forward_message(group, alice.id, original.message_id)

    assert [m.text for m in sandbox.bot_messages(group)] == ["The coffee machine is broken"] * 2
    assert forwarded.forward_origin is not None
    assert await bot.pin_chat_message(group, copied.message_id)
    assert await bot.delete_message(group, copied.message_id)
    assert sandbox.messages(group)[0].deleted
    with pytest.raises(TelegramBadRequest, match="message to delete not found"):
        await bot.delete_message(group, copied.message_id)
    with pytest.raises(TelegramBadRequest, match="message to copy not found"):
        await bot.copy_message(group, from_chat_id=alice.id, message_id=404)


async def test_commands_members_and_chat_info(sandbox: Sandbox, bot: Bot) -> None:
    alice = sandbox.add_user("Alice", last_name="Smith", username="alice")
    group = sandbox.add_group("Regulars", [alice])
    commands = [BotCommand(command="start", description="Start over")]

    assert await bot.set_my_commands(commands, scope=BotCommandScopeChat(chat_id=group))
    stored = await bot.get_my_commands(scope=BotCommandScopeChat(chat_id=group))
    assert [(c.command, c.description) for c in stored] == [("start", "Start over")]
    assert await bot.get_my_commands() == []

    chat = await bot.get_chat(alice.id)
    assert (chat.type, chat.first_name, chat.last_name) == ("private", "Alice", "Smith")
    assert (await bot.get_chat_member(group, alice.id)).status == "member"
    assert (await bot.get_chat_member(group, sandbox.bot.id)).status == "administrator"
    outsider = sandbox.add_user("Bob")
    assert (await bot.get_chat_member(group, outsider.id)).status == "left"
    assert await bot.send_chat_action(alice.id, "typing")
    assert sandbox.world.chat_actions == [(alice.id, "typing")]


async def test_allowed_updates_and_offsets(sandbox: Sandbox, bot: Bot) -> None:
    alice = sandbox.add_user("Alice")
    assert await bot.get_updates(allowed_updates=["callback_query"]) == []

    await sandbox.user_sends(alice, "not wanted")
    assert sandbox.pending_updates() == 0

    assert await bot.get_updates(allowed_updates=[]) == []  # back to the default set
    await sandbox.user_sends(alice, "one")
    await sandbox.user_sends(alice, "two")
    first, second = await bot.get_updates()
    assert second.update_id == first.update_id + 1
    [again] = await bot.get_updates(offset=second.update_id)
    assert again.update_id == second.update_id


async def test_a_second_poller_ends_the_first_with_a_conflict(sandbox: Sandbox, bot: Bot) -> None:
    first = asyncio.create_task(bot.get_updates(timeout=5))
    await sandbox.wait_for(lambda: sandbox.polling, what="the first long poll")

    assert await bot.get_updates(timeout=0) == []
    with pytest.raises(TelegramConflictError, match="terminated by other getUpdates request"):
        await first


async def test_malformed_json_body(sandbox: Sandbox) -> None:
    async with (
        aiohttp.ClientSession() as http,
        http.post(
            f"{sandbox.api_url}/getMe",
            data=b"{oops",
            headers={"Content-Type": "application/json"},
        ) as response,
    ):
        assert response.status == 400
        assert (await response.json())["description"] == "Bad Request: can't parse JSON object"
    assert [r.kind for r in sandbox.rejected()] == ["invalid"]


async def test_wait_for_explains_a_timeout(sandbox: Sandbox) -> None:
    with pytest.raises(TimeoutError, match="the bot to say hello still false"):
        await sandbox.wait_for(lambda: False, timeout=0.05, what="the bot to say hello")


def test_control_api_refuses_unknown_users_and_faults() -> None:
    sandbox = Sandbox()
    other = Sandbox().add_user("Elsewhere")
    with pytest.raises(SandboxError, match="unknown user"):
        sandbox.add_group("Group", [other])
    with pytest.raises(SandboxError, match="unknown Bot API method"):
        sandbox.inject_fault("sendPigeon", kind="blocked")
    with pytest.raises(SandboxError, match="not running"):
        _ = sandbox.base_url


async def test_forged_input_skips_the_client_checks(sandbox: Sandbox, bot: Bot) -> None:
    alice = sandbox.add_user("Alice")
    sent = await bot.send_message(alice.id, "No buttons here")

    query_id = await sandbox.forge_press(alice, alice.id, sent.message_id, "admin:delete_all")
    await sandbox.forge_press(alice, alice.id, 999, "no such message")
    await sandbox.forge_message(alice, "x" * 10_000)

    press, orphan, message = await bot.get_updates()
    assert press.callback_query is not None and press.callback_query.id == query_id
    assert press.callback_query.data == "admin:delete_all"
    assert orphan.callback_query is not None and orphan.callback_query.message is None
    assert message.message is not None and len(message.message.text or "") == 10_000
    with pytest.raises(SandboxError, match="1-4096"):
        await sandbox.user_sends(alice, "x" * 4097)


async def test_joins_and_leaves_come_twice_as_telegram_sends_them(
        sandbox: Sandbox, bot: Bot) -> None:
    admin, dan = sandbox.add_user("Admin"), sandbox.add_user("Dan")
    group = sandbox.add_group("Community", [admin])
    await sandbox.user_joins(dan, group)
    assert [u.message is not None for u in await bot.get_updates()] == [True]  # the default
    # set leaves chat_member out; asked for by name, it comes.
    await bot.get_updates(offset=-1, allowed_updates=["message", "chat_member"])
    await sandbox.user_leaves(dan, group, removed_by=admin)
    await sandbox.user_joins(dan, group, only="service")
    await sandbox.user_leaves(dan, group, only="chat_member")

    updates = await bot.get_updates(offset=(await bot.get_updates())[0].update_id)
    seen = [("chat_member", u.chat_member.old_chat_member.status,
             u.chat_member.new_chat_member.status, u.chat_member.from_user.id)
            if u.chat_member else
            ("message", [m.id for m in u.message.new_chat_members or []],
             u.message.left_chat_member.id if u.message.left_chat_member else None,
             u.message.from_user.id)
            for u in updates if u.chat_member or u.message]
    assert seen == [
        ("message", [dan.id], None, dan.id),  # the first join, not yet confirmed
        ("chat_member", "member", "kicked", admin.id),
        ("message", [], dan.id, admin.id),
        ("message", [dan.id], None, dan.id),
        ("chat_member", "member", "left", dan.id),
    ]
    assert not sandbox.world.chats[group].has_member(dan.id)
    with pytest.raises(SandboxError, match="not in chat"):
        await sandbox.user_leaves(dan, group)
