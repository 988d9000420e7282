"""`careloop db upgrade`: the database schema."""

from __future__ import annotations

import argparse

from careloop.bot.cli.console import Console, handles
from careloop.storage.migrate import current_revision, upgrade


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    db = sub.add_parser("db", help="database schema")
    db_sub = db.add_subparsers(dest="db_command", required=True, metavar="ACTION")
    handles(db_sub.add_parser("upgrade", help="apply every migration not yet applied"),
            cmd_upgrade, schema=False)


async def cmd_upgrade(args: argparse.Namespace, console: Console) -> int:
    engine = console.storage.engine
    before = await current_revision(engine)
    await upgrade(engine)
    after = await current_revision(engine)
    print(f"database schema at revision {after}"
          + (f" (was {before or 'empty'})" if before != after else " (already the latest)"))
    return 0
