"""`careloop staff ...`: who may work cases and campaigns in the chat."""

from __future__ import annotations

import argparse
from zoneinfo import ZoneInfo

from careloop.bot.cli.console import CliError, Console, handles
from careloop.customers import owners
from careloop.storage.models import StaffMember

ROLES = ("agent", "lead", "marketer", "admin")
MAX_TELEGRAM_ID = 2**52  # Telegram user ids fit in 52 bits
USER_ID_HELP = "the member's numeric Telegram user id"


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    staff = sub.add_parser("staff", help="staff members: add, list, remove")
    st_sub = staff.add_subparsers(dest="staff_command", required=True, metavar="ACTION")
    st_add = st_sub.add_parser("add", help="register or change a staff member (a removed "
                               "one comes back)")
    st_add.add_argument("telegram_user_id", type=int, metavar="TELEGRAM_USER_ID",
                        help=USER_ID_HELP)
    st_add.add_argument("--role", required=True, choices=ROLES,
                        help="agents work cases; leads also assign and see customers' data "
                        "unmasked; marketers run campaigns; admins do everything")
    st_add.add_argument("--name", default=None,
                        help="how cards name them until they act in the group (default: "
                        "their Telegram name, once known)")
    handles(st_add, cmd_add)
    st_list = st_sub.add_parser("list", help="list the staff members")
    st_list.add_argument("--removed", action="store_true",
                         help="include members who were removed")
    handles(st_list, cmd_list)
    st_remove = st_sub.add_parser(
        "remove", help="revoke a staff member: their buttons and commands stop working",
        description="Revoke a staff member at once. Their record stays, so cases, notes and "
        "the audit log still name them; `staff add` brings them back.")
    st_remove.add_argument("telegram_user_id", type=int, metavar="TELEGRAM_USER_ID",
                           help=USER_ID_HELP)
    handles(st_remove, cmd_remove)


def _check_id(user_id: int) -> None:
    if not 0 < user_id < MAX_TELEGRAM_ID:
        raise CliError("TELEGRAM_USER_ID must be a positive Telegram user id")


async def cmd_add(args: argparse.Namespace, console: Console) -> int:
    _check_id(args.telegram_user_id)
    async with console.storage.uow() as uow:
        member = await uow.staff.any_by_telegram_user(args.telegram_user_id)
        if member is None:
            member = await uow.staff.add(StaffMember(
                telegram_user_id=args.telegram_user_id, role=args.role, name=args.name,
                added_at=console.now()))
            verb = "added"
        else:
            verb = "added back" if member.removed_at is not None else "updated"
            member.role = args.role
            member.name = args.name or member.name
            member.removed_at = None
            uow.session.add(member)
        await uow.commit()
    print(f"staff member {args.telegram_user_id} {verb} as {args.role}")
    return 0


async def cmd_list(args: argparse.Namespace, console: Console) -> int:
    async with console.storage.uow() as uow:
        members = await uow.staff.listed(removed=args.removed)
    if not members:
        print("no staff members yet: add one with `careloop staff add TELEGRAM_USER_ID "
              "--role agent`")
        return 0
    tz = ZoneInfo(console.settings.timezone)
    # One member a line, tab-separated, dates in ISO form: easy to read and to cut.
    for m in members:
        name = " ".join(filter(None, [m.name, f"@{m.username}" if m.username else None]))
        status = (f"removed {m.removed_at.astimezone(tz).date().isoformat()}"
                  if m.removed_at is not None
                  else f"since {m.added_at.astimezone(tz).date().isoformat()}")
        print(f"{m.telegram_user_id}\t{m.role}\t{name or '-'}\t{status}")
    return 0


async def cmd_remove(args: argparse.Namespace, console: Console) -> int:
    _check_id(args.telegram_user_id)
    async with console.storage.uow() as uow:
        member = await uow.staff.by_telegram_user(args.telegram_user_id)
        if member is None:
            if await uow.staff.any_by_telegram_user(args.telegram_user_id) is not None:
                print(f"staff member {args.telegram_user_id} was already removed")
                return 0
            raise CliError(f"no staff member with Telegram user id {args.telegram_user_id}")
        member.removed_at = console.now()
        uow.session.add(member)
        open_cases = await uow.cases.count_active(assignee_id=member.id)
        owned = await uow.customers.owned_by(member.id)
        for customer in owned:  # a departed owner would hold their customers' first claims
            await owners.set_owner(uow, console.now(), customer, None, owners.Via.REMOVED)
        await uow.commit()
    print(f"staff member {args.telegram_user_id} removed: their buttons and commands in the "
          "staff group no longer work")
    if owned:
        print(f"{len(owned)} customer(s) they owned now have no owner: give them a new one "
              "with the import's owner column, the API or /owner in the staff group")
    if open_cases:
        print(f"{open_cases} open case(s) are still assigned to them: a lead can give each to "
              "someone else with /assign CASE @name")
    return 0
