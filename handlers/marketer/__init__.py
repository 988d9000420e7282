"""Marketers in their private chat with the bot: the /campaign wizard, /campaigns, and the
buttons that test, start, pause, resume and cancel a campaign. Only marketers and admins."""

from __future__ import annotations

from careloop.handlers.context import Context
from careloop.handlers.marketer import desk, wizard
from careloop.kernel.effects import Effect
from careloop.kernel.updates import Update
from careloop.storage.models import CallbackKey

COMMANDS = frozenset({"campaign", "campaigns"})
ACTIONS = frozenset({desk.ACTION, wizard.ACTION})


async def takes(update: Update, ctx: Context) -> bool:
    """Is this private message for the marketer's side: a campaign command, or an answer to
    the wizard of a staff member who is writing a campaign?"""
    if update.command in COMMANDS:
        return True
    if update.is_button or (update.command is not None and update.command != "cancel"):
        return False
    member = await ctx.uow.staff.by_telegram_user(update.user.id)
    return member is not None and await ctx.uow.campaigns.draft(member.id) is not None  # type: ignore[arg-type]


async def handle(update: Update, ctx: Context) -> list[Effect]:
    if update.command == "campaigns":
        return await desk.on_list(update, ctx)
    if update.command == "campaign" and update.command_args.strip().isdigit():
        return await desk.on_card(update, ctx, int(update.command_args))
    return await wizard.on_message(update, ctx)


async def on_button(update: Update, ctx: Context, key: CallbackKey) -> list[Effect]:
    if key.action == wizard.ACTION:
        return await wizard.on_button(update, ctx, key)
    return await desk.on_button(update, ctx, key)
