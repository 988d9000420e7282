"""Only marketers and admins create, test, start or stop campaigns."""

from __future__ import annotations

from careloop.handlers.context import Context
from careloop.kernel.effects import Effect, Send, Toast
from careloop.kernel.updates import Update
from careloop.storage.models import StaffMember

CAMPAIGN_ROLES = frozenset({"marketer", "admin"})


async def marketer(update: Update, ctx: Context) -> StaffMember | None:
    found = await ctx.uow.staff.by_telegram_user(update.user.id)
    return found if found is not None and found.role in CAMPAIGN_ROLES else None


def refusal(update: Update, ctx: Context) -> list[Effect]:
    text = ctx.tr(update.user.language_code).gettext(
        "Sorry, only marketers and admins can work with campaigns.")
    if update.callback_id is not None:
        return [Toast(update.callback_id, text)]
    return [Send(update.chat.id, text)]
