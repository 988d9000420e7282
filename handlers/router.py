"""Routes a neutral update to the community, marketer, customer or staff routers by where it
came from. Within an audience the routers are tried in order: one that takes nothing lets
the update fall through to the next, and what no router takes is left alone."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from enum import StrEnum

from careloop.handlers import community, customer, marketer, staff
from careloop.handlers.context import Context, HandlerConfig
from careloop.kernel.effects import Effect
from careloop.kernel.updates import ChatKind, Update


class Audience(StrEnum):
    COMMUNITY = "community"  # the business's customer group
    PRIVATE = "private"  # a private chat: a customer, or a marketer at work
    STAFF = "staff"  # the staff group


def audience_of(update: Update, config: HandlerConfig) -> Audience | None:
    """Who an update is from, or None for one careloop leaves alone."""
    if update.user.is_bot and update.member_change is None:
        return None  # another bot's messages; a moderation bot's removals still count
    if update.chat.id == config.community_chat_id:
        return Audience.COMMUNITY
    if update.member_change is not None:
        return None  # joins and leaves matter in the community group only
    if update.chat.kind is ChatKind.PRIVATE:
        return Audience.PRIVATE
    if update.chat.id in config.staff_chats():  # any team's group
        return Audience.STAFF
    return None  # a group the bot was added to but does not serve


# An audience's router: its effects, or None when none of its routes takes the update.
AudienceRouter = Callable[[Update, Context], Awaitable[list[Effect] | None]]

ROUTERS: Mapping[Audience, tuple[AudienceRouter, ...]] = {
    Audience.COMMUNITY: (community.handle,),
    # The marketer's first: a campaign command, and the answers of someone writing one,
    # are theirs before the customer's chat sees them.
    Audience.PRIVATE: (marketer.handle, customer.handle),
    Audience.STAFF: (staff.handle,),
}


async def route(update: Update, ctx: Context) -> list[Effect]:
    audience = audience_of(update, ctx.config)
    routers = ROUTERS.get(audience, ()) if audience is not None else ()
    for router in routers:
        effects = await router(update, ctx)
        if effects is not None:
            return effects
    return []
