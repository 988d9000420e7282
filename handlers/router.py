"""Routes a neutral update to the customer or the staff handlers by where it came from."""

from __future__ import annotations

from bot.ports.updates import ChatKind, Update
from handlers import customer, staff
from handlers.context import Context
from handlers.effects import Effect


async def route(update: Update, ctx: Context) -> list[Effect]:
    if update.user.is_bot:
        return []
    if update.chat.kind is ChatKind.PRIVATE:
        return await customer.handle(update, ctx)
    if update.chat.id == ctx.config.staff_chat_id:
        return await staff.handle(update, ctx)
    return []  # a group the bot was added to but does not serve
