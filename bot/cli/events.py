"""`careloop events add`: a business event; the playbook schedules its touches."""

from __future__ import annotations

import argparse

from careloop.bot.cli.console import CliError, Console, handles
from careloop.care import touches as care


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    events = sub.add_parser("events", help="business events")
    ev_sub = events.add_subparsers(dest="events_command", required=True, metavar="ACTION")
    add = ev_sub.add_parser("add", help="report an event; the playbook schedules its touches")
    add.add_argument("--type", required=True, dest="event_type")
    add.add_argument("--customer", required=True, help="the customer's external id")
    add.add_argument("--at", help="when it happened, ISO 8601 (default: now)")
    add.add_argument("--attr", action="append", default=[], metavar="KEY=VALUE")
    add.add_argument("--id", dest="source_id",
                     help="your system's id for the event: reporting it again does nothing")
    handles(add, cmd_add)


async def cmd_add(args: argparse.Namespace, console: Console) -> int:
    settings = console.settings
    playbook = console.playbook()
    now = console.now()
    try:
        at = care.parse_at(args.at, settings.timezone) if args.at else now
        attrs = care.parse_attrs(args.attr)
    except care.BadEvent as exc:
        raise CliError(f"--at {exc}" if exc.field == "at" else str(exc)) from None
    async with console.storage.uow() as uow:
        customer = await uow.customers.by_external_id(args.customer)
        if customer is None:
            raise CliError(f"no customer with external id {args.customer!r}")
        try:
            scheduled = await care.add_event(uow, now, customer, args.event_type, at, attrs,
                                             playbook, source_id=args.source_id,
                                             time_given=bool(args.at))
        except care.BadEvent as exc:
            raise CliError(str(exc)) from None
        await uow.commit()
    tr = console.tr
    if scheduled.repeated:
        print(tr.gettext("event {source} was already recorded as event {id}; nothing changed")
              .format(source=args.source_id, id=scheduled.event.id))
        return 0
    print(tr.ngettext("event {id} recorded; {n} touch scheduled",
                      "event {id} recorded; {n} touches scheduled",
                      len(scheduled.touches)
                      ).format(id=scheduled.event.id, n=len(scheduled.touches)))
    for touch in scheduled.touches:
        # In the customer's own zone: a rule's "at 10:00" is their 10:00.
        print(f"  {touch.purpose}: {tr.datetime(touch.due_at, customer.timezone)}")
    if scheduled.duplicates:
        print(tr.ngettext("{n} touch was already scheduled for the same event, not repeated",
                          "{n} touches were already scheduled for the same event, not repeated",
                          scheduled.duplicates).format(n=scheduled.duplicates))
    for rule in scheduled.passed:
        print(tr.gettext("  {rule}: not scheduled, its time before the event has passed")
              .format(rule=rule.purpose))
    return 0
