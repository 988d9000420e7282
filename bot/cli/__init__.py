"""The `careloop` command: the operator contract. Bad input → one line, non-zero exit.

One module per command group registers its commands (`add_parser`); each command parses,
works through the composition root's units of work (`console.Console`), and prints.

Exit codes (the README's "Exit codes" lists them for operators):
0 done; 1 the command could not do its work (a bad value or file, the database, Telegram);
2 a setting is missing or wrong, or cannot be used as it is (an address already in use),
or the command line itself is wrong (argparse); 3 `customers import` imported some rows and
rejected others; 130 interrupted (Ctrl-C); 143 `run` stopped by SIGTERM before it had
started (once running, SIGTERM stops it cleanly with 0); 141 whoever read the output stopped reading
(`careloop report | head -2`), as for any program a closed pipe ends (128 + SIGPIPE).
"""

from __future__ import annotations

import argparse
import os
import select
import signal
import sys
import threading
from collections.abc import Sequence
from importlib.metadata import PackageNotFoundError, version

from asyncpg import PostgresError
from sqlalchemy.exc import SQLAlchemyError

from careloop.bot.cli import (
    audit,
    campaigns,
    checks,
    customers,
    db,
    demo,
    events,
    export,
    history,
    playground,
    report,
    run,
    staff,
    webhooks,
)
from careloop.bot.cli.console import CliError
from careloop.bot.logs import configure
from careloop.bot.settings import ConfigError, load_settings
from careloop.bot.stopping import TERMINATED, StartupTerminated, terminate_startup
from careloop.care.playbook.loader import PlaybookError
from careloop.kernel.messenger import MessengerError
from careloop.storage.migrate import SchemaOutOfDate
from careloop.surveys.loader import SurveysError

# In the order `careloop --help` lists them.
GROUPS = (demo, playground, run, db, customers, events, checks, staff, campaigns, history, audit,
          report, export, webhooks)

OK, FAILED, BAD_SETTING, INTERRUPTED = 0, 1, 2, 130
CLOSED_OUTPUT = 128 + 13  # a shell's status for a program ended by SIGPIPE


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
    if args.command != "run" or threading.current_thread() is not threading.main_thread():
        return _command(args)
    # Until the bot is up, SIGTERM stops it with a line (bot/stopping.py); whoever called
    # main (a test, a host) gets its own handler back.
    before = signal.signal(signal.SIGTERM, terminate_startup)
    try:
        return _command(args)
    finally:
        signal.signal(signal.SIGTERM, before)


def _command(args: argparse.Namespace) -> int:
    # Operators see what a command prints; the running bot also logs its progress, at
    # CARELOOP_LOG_LEVEL (a wrong setting is reported by the command itself, in its line).
    try:
        settings = load_settings()
        level, fmt = settings.log_level, settings.log_format
    except ConfigError:
        level, fmt = "INFO", "text"
    configure(level if args.command == "run" else "WARNING", fmt)
    try:
        code = int(args.main(args))
        sys.stdout.flush()  # a closed pipe shows here, not after main has returned
        return code
    except ConfigError as exc:
        return _error(str(exc), BAD_SETTING)
    except (CliError, SchemaOutOfDate, PlaybookError, SurveysError) as exc:
        return _error(str(exc), FAILED)
    except MessengerError as exc:
        # `run`'s first call to Telegram failed: a wrong token or Bot API URL, or no network.
        return _error(f"Telegram: {exc} ({type(exc).__name__}); check CARELOOP_BOT_TOKEN and "
                      "CARELOOP_TELEGRAM_API_URL", FAILED)
    except BrokenPipeError as exc:
        if _output_closed():
            return _stop_writing()
        return _database_error(exc)  # the database's connection, not the reader, went away
    except (OSError, SQLAlchemyError, PostgresError) as exc:
        # Unreachable server, refused login, unknown database or role (asyncpg's own errors
        # at connect come unwrapped), locked file: one line, no traceback.
        return _database_error(exc)
    except KeyboardInterrupt:
        return INTERRUPTED
    except StartupTerminated:
        print("careloop: stopped: SIGTERM arrived while starting; nothing was left running",
              file=sys.stderr)
        return TERMINATED


def _error(message: str, code: int) -> int:
    print(f"careloop: error: {message}", file=sys.stderr)
    return code


def _database_error(exc: BaseException) -> int:
    # SQL parameters are hidden by the engine, so no customer data is printed here.
    reason = str(getattr(exc, "orig", None) or exc).splitlines()[0][:200]
    return _error(f"cannot use the database: {reason}; check CARELOOP_DATABASE_URL", FAILED)


def _output_closed() -> bool:
    """Is standard output a pipe nobody reads any more? (Linux and the BSDs flag such a pipe
    with POLLERR.) Where that cannot be asked, a broken pipe is taken to be the output's."""
    try:
        poller = select.poll()
        poller.register(sys.stdout.fileno(), select.POLLOUT)
        return any(events & select.POLLERR for _fd, events in poller.poll(0))
    except (AttributeError, OSError, ValueError):
        return True


def _stop_writing() -> int:
    """The reader stopped reading (`careloop report | head -2`): stop quietly, as other Unix
    tools do. What is still buffered goes nowhere, so that Python's own flush at exit does not
    fail a second time with a message on stderr."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)
    return CLOSED_OUTPUT
