"""The staff group: the case desk's buttons, commands, and replies that reach customers.

The routes are the group as data; `handle` is its middleware. Staff read the staff group's
language. Only registered staff act, each route naming the roles that may use it: a
stranger's command is refused (an unknown one ignored, perhaps another bot's), and a
stranger's press on a case card is refused once its key is found valid."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from careloop.handlers.context import Context
from careloop.handlers.middleware import Press, Request, check_press
from careloop.handlers.routing import Kind, Router, command, kind_of, message, pressed
from careloop.handlers.staff import (
    buttons,
    commands,
    move,
    outreach,
    owner,
    priority,
    promises,
    relay,
    restrict,
    scripts,
)
from careloop.handlers.staff.access import CASE_ROLES, LEAD_ROLES, member
from careloop.handlers.staff.thread import answer_here
from careloop.kernel.effects import Effect
from careloop.kernel.updates import Update
from careloop.storage.models import StaffMember

Command = Callable[[Request, StaffMember], Awaitable[list[Effect]]]
ButtonHandler = Callable[[Press, StaffMember], Awaitable[list[Effect]]]
Handler = Callable[[Request], Awaitable[list[Effect]]]

ANY_STAFF = frozenset({*CASE_ROLES, "marketer"})

COMMANDS: Router[Command] = Router(
    command("help", commands.on_help, roles=ANY_STAFF),
    command("cases", commands.on_cases, roles=CASE_ROLES),
    command("case", commands.on_case, roles=CASE_ROLES),
    command("history", commands.on_history, roles=CASE_ROLES),
    command("assign", commands.on_assign, roles=LEAD_ROLES),
    command("note", commands.on_note, roles=CASE_ROLES),
    command("move", move.on_move, roles=CASE_ROLES),
    command("write", outreach.on_write, roles=CASE_ROLES),
    command("priority", priority.on_priority, roles=CASE_ROLES),
    command("promise", promises.on_promise, roles=CASE_ROLES),
    command("kept", promises.on_kept, roles=CASE_ROLES),
    command("owner", owner.on_owner, roles=CASE_ROLES),
    command("s", scripts.on_script, roles=CASE_ROLES),
    command("stats", commands.on_stats, roles=ANY_STAFF),
    command("block", restrict.on_block, roles=LEAD_ROLES),
    command("mute", restrict.on_mute, roles=LEAD_ROLES),
    command("unmute", restrict.on_unmute, roles=LEAD_ROLES),
)

BUTTONS: Router[ButtonHandler] = Router(
    pressed(buttons.ACTIONS, buttons.on_case_button, roles=CASE_ROLES),
    pressed(outreach.SEND_NOW, outreach.on_send_now, roles=CASE_ROLES),
    pressed("script", scripts.on_script_button, roles=CASE_ROLES),
)

# Written in a case's topic, or in reply to a case message: for the customer. The relay
# looks for the case first: staff talking among themselves are nobody's business.
MESSAGES: Router[Handler] = Router(
    message(relay.on_message),
)


async def handle(update: Update, ctx: Context) -> list[Effect] | None:
    req = Request(update, ctx, ctx.staff_tr)
    kind = kind_of(update)
    if kind is Kind.BUTTON:
        return await _on_press(req)
    if kind is Kind.COMMAND:
        return await _on_command(req)
    route = MESSAGES.first(kind)
    return None if route is None else await route.handler(req)


async def _on_press(req: Request) -> list[Effect]:
    press = await check_press(req.update, req.ctx, req.tr)
    if not isinstance(press, Press):
        return press
    route = BUTTONS.first(Kind.BUTTON, press.key.action)
    if route is None:
        return press.no_longer_valid()
    staff = await member(req.update, req.ctx)
    if staff is None or not route.allows(staff.role):
        return [press.toast(req._("Sorry, only support staff can handle cases."))]
    return await route.handler(press, staff)


async def _on_command(req: Request) -> list[Effect] | None:
    update, _ = req.update, req._
    route = COMMANDS.first(Kind.COMMAND, update.command)
    staff = await member(update, req.ctx)
    if route is None:
        if staff is None:
            return None  # perhaps another bot's command: not ours to answer
        return [answer_here(update, _("I don't know that command. Send /help for the list."))]
    if staff is None:
        return [answer_here(update, _(
            "Sorry, only registered staff can use this bot here. Ask an admin to add you."))]
    if not route.allows(staff.role):
        return [answer_here(update, _("Sorry, your role ({role}) cannot use /{command}.").format(
            role=staff.role, command=update.command))]
    return await route.handler(req, staff)
