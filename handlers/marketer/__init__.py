"""Marketers in their private chat with the bot: the /campaign wizard, /campaigns, and the
buttons that test, start, pause, resume and cancel a campaign. Only marketers and admins.

Its routes come before the customer's in the private chat; what they do not take (most
messages) falls through to the customer's routes. Marketers read their Telegram language."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import replace

from careloop.handlers.context import Context
from careloop.handlers.marketer import access, desk, wizard
from careloop.handlers.marketer.access import CAMPAIGN_ROLES
from careloop.handlers.middleware import Press, Request
from careloop.handlers.routing import Kind, Router, command, message, pressed
from careloop.kernel.effects import Effect
from careloop.kernel.updates import Update
from careloop.storage.models import StaffMember

Handler = Callable[[Request, StaffMember], Awaitable[list[Effect]]]
ButtonHandler = Callable[[Press, StaffMember], Awaitable[list[Effect]]]


async def _with_argument(update: Update, ctx: Context) -> bool:
    """/campaign N is a campaign's card; /campaign alone writes a new one. Whatever follows
    the command is for the card to read, so a mistyped number is answered, never taken for a
    request to start over."""
    return bool(update.command_args.strip())


async def _writing(update: Update, ctx: Context) -> bool:
    """Is a staff member writing a campaign? Then their messages and /cancel answer it."""
    member = await ctx.uow.staff.by_telegram_user(update.user.id)
    return member is not None and await ctx.uow.campaigns.draft(member.id) is not None


ROUTES: Router[Handler] = Router(
    command("campaigns", desk.on_list, roles=CAMPAIGN_ROLES),
    command("campaign", desk.on_card, roles=CAMPAIGN_ROLES, when=_with_argument),
    command("campaign", wizard.on_start, roles=CAMPAIGN_ROLES),
    command("cancel", wizard.on_cancel, roles=CAMPAIGN_ROLES, when=_writing),
    message(wizard.on_answer, roles=CAMPAIGN_ROLES, when=_writing),
)

BUTTONS: Router[ButtonHandler] = Router(
    pressed(desk.ACTION, desk.on_button, roles=CAMPAIGN_ROLES),
    pressed(wizard.ACTION, wizard.on_button, roles=CAMPAIGN_ROLES),
)
ACTIONS = BUTTONS.names()


def _reader(update: Update, ctx: Context) -> Request:
    return Request(update, ctx, ctx.tr(update.user.language_code))


async def handle(update: Update, ctx: Context) -> list[Effect] | None:
    route = await ROUTES.pick(update, ctx)
    if route is None:
        return None
    req = _reader(update, ctx)
    member = await ctx.uow.staff.by_telegram_user(update.user.id)
    if member is None or not route.allows(member.role):
        return access.refusal(req)
    return await route.handler(req, member)


async def on_press(press: Press) -> list[Effect]:
    """A campaign button, its key checked by the private chat it was pressed in."""
    press = replace(press, tr=_reader(press.update, press.ctx).tr)
    route = BUTTONS.first(Kind.BUTTON, press.key.action)
    if route is None:
        return press.no_longer_valid()
    member = await press.ctx.uow.staff.by_telegram_user(press.update.user.id)
    if member is None or not route.allows(member.role):
        return access.refusal(press)
    return await route.handler(press, member)
