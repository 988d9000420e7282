"""`careloop events add`: a business event; the playbook schedules its touches."""

from __future__ import annotations

import argparse
import sys

from careloop.bot.cli.console import (
    CUSTOMER,
    CUSTOMER_HELP,
    CliError,
    Console,
    find_customer,
    handles,
)
from careloop.care import touches as care
from careloop.care.playbook.model import BUILT_IN_TRIGGERS, Playbook


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    events = sub.add_parser("events", help="business events")
    ev_sub = events.add_subparsers(dest="events_command", required=True, metavar="ACTION")
    add = ev_sub.add_parser(
        "add", help="report an event; the playbook schedules its touches",
        description="Record a business event for a customer; the playbook's rules for its "
        "type schedule touches. Give each event your own system's id with --id: the same id "
        "reported again (a retry, a re-run import) is recognised and records nothing twice.")
    add.add_argument("--type", required=True, dest="event_type", metavar="TYPE",
                     help="the event type, lowercase letters, digits and _ (purchase, "
                     "service_completed, warranty_expiry, ...: `careloop playbook check` "
                     "lists the types its rules follow)")
    add.add_argument("--customer", required=True, metavar=CUSTOMER, help=CUSTOMER_HELP)
    add.add_argument("--at", metavar="TIME", help="when it happened, ISO 8601, in "
                     "CARELOOP_TIMEZONE unless it says its offset (default: now)")
    add.add_argument("--attr", action="append", default=[], metavar="KEY=VALUE",
                     help="a detail kept with the event, such as order=42 (repeatable); a "
                     "purchase's amount=1250.00 and currency=EUR are typed, and so is any "
                     "attribute the playbook declares as a number")
    add.add_argument("--id", dest="source_id", metavar="EVENT_ID",
                     help="your system's id for the event, its idempotency key: reporting "
                     "the same id again records nothing new")
    handles(add, cmd_add)


def _warn_unfollowed(event_type: str, playbook: Playbook) -> None:
    """A typo in --type is still a valid type: say that nothing follows it."""
    if event_type in BUILT_IN_TRIGGERS or playbook.for_event(event_type):
        return
    known = ", ".join(playbook.event_types()) or "none"
    print(f"careloop: warning: no playbook rule follows event type {event_type!r}, so it "
          f"schedules nothing; the playbook's event types: {known}", file=sys.stderr)


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
        customer = await find_customer(uow, args.customer)
        try:
            scheduled = await care.add_event(uow, now, customer, args.event_type, at, attrs,
                                             playbook, source_id=args.source_id,
                                             time_given=bool(args.at))
        except care.BadEvent as exc:
            raise CliError(str(exc)) from None
        await uow.commit()
    _warn_unfollowed(args.event_type, playbook)
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
        if args.source_id is None:
            print(f"careloop: hint: event {scheduled.event.id} looks like one reported before "
                  "(the same type, customer and time) and is now recorded twice; pass your "
                  "system's id for each event with --id so that a repeat records nothing",
                  file=sys.stderr)
    for rule in scheduled.passed:
        print(tr.gettext("  {rule}: not scheduled, its time before the event has passed")
              .format(rule=rule.purpose))
    return 0
