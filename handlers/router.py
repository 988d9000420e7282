"""Routes a neutral update to the customer, marketer, staff or community handlers by
where it came from."""

from __future__ import annotations

from careloop.handlers import community, customer, marketer, staff
from careloop.handlers.context import Context
from careloop.kernel.effects import Effect
from careloop.kernel.updates import ChatKind, Update


async def route(update: Update, ctx: Context) -> list[Effect]:
    if update.user.is_bot and update.member_change is None:
        return []  # another bot's messages; a moderation bot's removals still count
    if update.chat.id == ctx.config.community_chat_id:
        return await community.handle(update, ctx)
    if update.member_change is not None:
        return []  # joins and leaves matter in the community group only
    if update.chat.kind is ChatKind.PRIVATE:
        if await marketer.takes(update, ctx):
            return await marketer.handle(update, ctx)
        return await customer.handle(update, ctx)
    if update.chat.id == ctx.config.staff_chat_id:
        return await staff.handle(update, ctx)
    return []  # a group the bot was added to but does not serve
