"""What a `careloop` command works with: the settings, and what the composition root (bot.app)
builds from them. A command parses its arguments, works through a unit of work from
`console.storage`, and prints; it builds nothing of its own."""

from __future__ import annotations

import argparse
import asyncio
import functools
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import datetime
from pathlib import Path

from sqlalchemy.engine import make_url

from careloop.bot.app import (
    App,
    Storage,
    build_app_on_telegram,
    build_storage,
    context_factory,
    load_definitions,
)
from careloop.bot.runtime import make_runtime
from careloop.bot.settings import Settings, load_settings
from careloop.care.playbook.loader import load_playbook
from careloop.care.playbook.model import Playbook
from careloop.care.scripts.library import ScriptLibrary
from careloop.care.scripts.loader import load_scripts
from careloop.handlers.context import Context
from careloop.kernel.clock import SystemClock
from careloop.kernel.i18n import Catalogs, Translator
from careloop.kernel.numbers import whole_number
from careloop.storage.migrate import ensure_current
from careloop.storage.models import Customer
from careloop.storage.uow import UnitOfWork
from careloop.surveys.definitions import SurveyDefinitions
from careloop.surveys.loader import load_surveys

MAX_DAYS = 3650
# How every command names a customer: the business's external id, or `#12`, the record id
# the audit log and the staff group show (a customer who came without a link has no other).
CUSTOMER = "CUSTOMER"
CUSTOMER_HELP = "the customer's external id, or #ID: the record id the audit log shows"
FORMAT_HELP = "text for people, json for programs (default: text)"


class CliError(Exception):
    """Bad input from the operator; the message is the one line they see."""


class Console:
    """One command's share of careloop. The database and the catalogs are built on first use,
    so a command that needs neither (a file check) touches neither."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.clock = SystemClock()
        self._storage: Storage | None = None

    @property
    def storage(self) -> Storage:
        if self._storage is None:
            self._storage = build_storage(self.settings)
        return self._storage

    @functools.cached_property
    def catalogs(self) -> Catalogs:
        return Catalogs(default=self.settings.language)

    @property
    def tr(self) -> Translator:
        """The operator reads the business's language."""
        return self.catalogs.translator(self.settings.language)

    def now(self) -> datetime:
        return self.clock.now()

    def surveys(self, path: Path | None = None) -> SurveyDefinitions:
        """The survey file (CARELOOP_SURVEYS unless `path`); a bad one stops the command with
        its one line."""
        return load_surveys(path or self.settings.surveys)

    def playbook(self, path: Path | None = None) -> Playbook:
        """The playbook (CARELOOP_PLAYBOOK unless `path`), checked against the surveys' keys
        its rules may ask."""
        return load_playbook(path or self.settings.playbook, surveys=self.surveys().keys,
                             templates=self.scripts().care)

    def scripts(self, path: Path | None = None) -> ScriptLibrary:
        """The script library (CARELOOP_SCRIPTS unless `path`); a bad one stops the command
        with its one line."""
        return load_scripts(path or self.settings.scripts)

    def context(self, uow: UnitOfWork) -> Context:
        """What the handlers' views need to draw a message outside an update."""
        return context_factory(self.settings, self.surveys(), catalogs=self.catalogs,
                               scripts=self.scripts())(
            uow, self.now())

    @asynccontextmanager
    async def telegram(self) -> AsyncIterator[App]:
        """The app on careloop's own bot, for a command whose change Telegram must show: its
        effects go out through the app (`App.carry_out`), as a round's do."""
        definitions = load_definitions(self.settings)
        runtime = make_runtime(self.settings)
        try:
            yield await build_app_on_telegram(
                self.settings, runtime.messenger, clock=self.clock,
                storage=self.storage, catalogs=self.catalogs, definitions=definitions)
        finally:
            await runtime.close()

    async def close(self) -> None:
        if self._storage is not None:
            await self._storage.close()


Command = Callable[[argparse.Namespace, Console], Awaitable[int]]


SettingsCheck = Callable[[Settings, argparse.Namespace], None]


def handles(parser: argparse.ArgumentParser, command: Command, *, schema: bool = True,
            check: SettingsCheck | None = None) -> None:
    """`command` carries out what `parser` parsed. `schema`: the database must be at the
    latest schema, checked before anything else (every command but `db upgrade` and the
    file checks). `check`: the settings the command needs, checked first of all."""
    parser.set_defaults(main=functools.partial(_main, command, schema=schema, check=check))


def _main(command: Command, args: argparse.Namespace, *, schema: bool,
          check: SettingsCheck | None) -> int:
    settings = load_settings()
    if check is not None:
        check(settings, args)
    return asyncio.run(_run(command, args, settings, schema=schema))


async def _run(command: Command, args: argparse.Namespace, settings: Settings, *,
               schema: bool) -> int:
    if schema:
        database_exists(settings.database_url)
    console = Console(settings)
    try:
        if schema:
            await ensure_current(console.storage.engine)
        return await command(args, console)
    finally:
        await console.close()


def customer_argument(parser: argparse.ArgumentParser, help: str = CUSTOMER_HELP) -> None:
    """The positional CUSTOMER argument, named and explained alike in every command."""
    parser.add_argument("customer", metavar=CUSTOMER, help=help)


async def find_customer(uow: UnitOfWork, who: str, *, erased: bool = False) -> Customer:
    """By external id, or by record id as `#12`. `erased`: an erased record may be named
    by its record id."""
    if who.startswith("#"):
        number = whole_number(who[1:], max_digits=12)
        customer = await uow.customers.get(number) if number is not None else None
        if customer is None or (customer.erased_at is not None and not erased):
            raise CliError(f"no customer with record id {who!r}")
        return customer
    customer = await uow.customers.by_external_id(who)
    if customer is None:
        raise CliError(f"no customer with external id {who!r}")
    return customer


def database_exists(url: str) -> None:
    """A command that reads the database must not leave an empty SQLite file behind (SQLite
    creates one on connecting): say there is none yet, and how to make it."""
    parsed = make_url(url)
    if not parsed.drivername.startswith("sqlite") or parsed.database in (None, "", ":memory:"):
        return
    if not Path(parsed.database).exists():
        raise CliError(f"no database yet at {parsed.database}: create it with `careloop db "
                       "upgrade` (or set CARELOOP_DATABASE_URL to the one you use)")


def check_days(days: int) -> int:
    if not 1 <= days <= MAX_DAYS:
        raise CliError(f"--since must be between 1 and {MAX_DAYS} days")
    return days
