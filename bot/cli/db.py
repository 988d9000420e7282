"""`careloop db upgrade`: the database schema."""

from __future__ import annotations

import argparse

from alembic.util.exc import CommandError

from careloop.bot.cli.console import CliError, Console, handles
from careloop.storage.migrate import current_revision, downgrade, head_revision, upgrade


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    db = sub.add_parser("db", help="database schema")
    db_sub = db.add_subparsers(dest="db_command", required=True, metavar="ACTION")
    handles(db_sub.add_parser("upgrade", help="apply every migration not yet applied"),
            cmd_upgrade, schema=False)
    handles(db_sub.add_parser("current", help="print the revision the database is at"),
            cmd_current, schema=False)
    handles(db_sub.add_parser("check", help="exit 0 when the schema is current, 1 when "
                              "`careloop db upgrade` is needed"), cmd_check, schema=False)
    back = db_sub.add_parser("downgrade", help="roll the schema back to REVISION (before "
                             "running an older careloop; back up first)")
    back.add_argument("revision", metavar="REVISION",
                      help="the revision to go back to, as `careloop db current` prints it "
                      "(e.g. 0013)")
    handles(back, cmd_downgrade, schema=False)


async def cmd_upgrade(args: argparse.Namespace, console: Console) -> int:
    engine = console.storage.engine
    before = await current_revision(engine)
    await upgrade(engine)
    after = await current_revision(engine)
    print(f"database schema at revision {after}"
          + (f" (was {before or 'empty'})" if before != after else " (already the latest)"))
    return 0


async def cmd_current(args: argparse.Namespace, console: Console) -> int:
    current = await current_revision(console.storage.engine)
    head = head_revision()
    state = "the latest" if current == head else f"the latest is {head}"
    print(f"database schema at revision {current or 'empty'} ({state})")
    return 0


async def cmd_check(args: argparse.Namespace, console: Console) -> int:
    current = await current_revision(console.storage.engine)
    if current != head_revision():
        raise CliError(f"the database schema is at {current or 'empty'}, not {head_revision()}: "
                       "run `careloop db upgrade`")
    print(f"database schema current ({current})")
    return 0


async def cmd_downgrade(args: argparse.Namespace, console: Console) -> int:
    engine = console.storage.engine
    before = await current_revision(engine)
    try:
        await downgrade(engine, args.revision)
    except CommandError as exc:
        raise CliError(f"REVISION: {exc}") from None
    after = await current_revision(engine)
    print(f"database schema at revision {after or 'empty'} (was {before or 'empty'})")
    return 0
