"""`careloop staff add`: who may work cases and campaigns in the chat."""

from __future__ import annotations

import argparse

from careloop.bot.cli.console import CliError, Console, handles
from careloop.storage.models import StaffMember

ROLES = ("agent", "lead", "marketer", "admin")
MAX_TELEGRAM_ID = 2**52  # Telegram user ids fit in 52 bits


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    staff = sub.add_parser("staff", help="staff members")
    st_sub = staff.add_subparsers(dest="staff_command", required=True, metavar="ACTION")
    st_add = st_sub.add_parser("add", help="register or change a staff member")
    st_add.add_argument("telegram_user_id", type=int)
    st_add.add_argument("--role", required=True, choices=ROLES)
    st_add.add_argument("--name", default=None)
    handles(st_add, cmd_add)


async def cmd_add(args: argparse.Namespace, console: Console) -> int:
    if not 0 < args.telegram_user_id < MAX_TELEGRAM_ID:
        raise CliError("TELEGRAM_USER_ID must be a positive Telegram user id")
    async with console.storage.uow() as uow:
        member = await uow.staff.by_telegram_user(args.telegram_user_id)
        if member is None:
            member = await uow.staff.add(StaffMember(
                telegram_user_id=args.telegram_user_id, role=args.role, name=args.name,
                added_at=console.now()))
            verb = "added"
        else:
            member.role = args.role
            member.name = args.name or member.name
            uow.session.add(member)
            verb = "updated"
        await uow.commit()
    print(f"staff member {args.telegram_user_id} {verb} as {args.role}")
    return 0
