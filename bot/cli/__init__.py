"""The `careloop` command: the operator contract. Bad input → one line, non-zero exit.

One module per command group registers its commands (`add_parser`); each command parses,
works through the composition root's units of work (`console.Console`), and prints.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from importlib.metadata import PackageNotFoundError, version

from sqlalchemy.exc import SQLAlchemyError

from careloop.bot.cli import (
    audit,
    campaigns,
    checks,
    customers,
    db,
    demo,
    events,
    history,
    report,
    run,
    staff,
)
from careloop.bot.cli.console import CliError
from careloop.bot.settings import ConfigError
from careloop.care.playbook.loader import PlaybookError
from careloop.kernel.messenger import MessengerError
from careloop.storage.migrate import SchemaOutOfDate
from careloop.surveys.loader import SurveysError

# In the order `careloop --help` lists them.
GROUPS = (demo, run, db, customers, events, checks, staff, campaigns, history, audit, report)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="careloop",
        description="careloop keeps a business in touch with its customers after a sale.",
    )
    p.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for group in GROUPS:
        group.add_parser(sub)
    return p


def _version() -> str:
    try:
        return version("careloop")
    except PackageNotFoundError:  # run from a source tree that was never installed
        return "unknown"


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    # Operators see what a command prints; the running bot also logs its progress.
    verbose = args.command == "run"
    logging.basicConfig(level=logging.INFO if verbose else logging.WARNING,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("alembic").setLevel(logging.WARNING)  # `db upgrade` reports itself
    # python-telegram-bot's HTTP client logs every request (a line per message sent).
    logging.getLogger("httpx").setLevel(logging.WARNING)
    try:
        return int(args.main(args))
    except ConfigError as exc:
        print(f"careloop: error: {exc}", file=sys.stderr)
        return 2
    except (CliError, SchemaOutOfDate, PlaybookError, SurveysError) as exc:
        print(f"careloop: error: {exc}", file=sys.stderr)
        return 1
    except MessengerError as exc:
        # `run`'s first call to Telegram failed: a wrong token or Bot API URL, or no network.
        print(f"careloop: error: Telegram: {exc} ({type(exc).__name__}); check "
              "CARELOOP_BOT_TOKEN and CARELOOP_TELEGRAM_API_URL", file=sys.stderr)
        return 1
    except (OSError, SQLAlchemyError) as exc:
        # Unreachable server, refused login, locked file: one line, no traceback. SQL
        # parameters are hidden by the engine, so no customer data is printed here.
        reason = str(getattr(exc, "orig", None) or exc).splitlines()[0][:200]
        print(f"careloop: error: cannot use the database: {reason}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
