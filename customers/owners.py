"""Customers' owners: the staff member (a sales rep, an account manager) who follows their
own customers up. An owner is named on the customer's case cards, has the first claim on a
new case for a while before the rest of the team, and is told first when a case is late.

An owner is set by the CSV import, the HTTP API or /owner in the staff group; every change is
in the customer's timeline."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from careloop.customers.timeline import record
from careloop.kernel.numbers import whole_number
from careloop.storage.models import Case, Customer, StaffMember
from careloop.storage.uow import UnitOfWork

# The roles that handle cases may own customers; a marketer sees no single customer.
OWNER_ROLES = frozenset({"agent", "lead", "admin"})
# What an import cell or /owner takes to mean "no owner".
NO_OWNER = frozenset({"none", "-"})


class Via(StrEnum):
    """Where an owner change came from, as the timeline keeps it."""

    IMPORT = "import"
    API = "api"
    STAFF = "staff"  # /owner in the staff group
    REMOVED = "removed"  # the owner left the staff (careloop staff remove)


def match_staff(members: Iterable[StaffMember], who: str) -> StaffMember | None:
    """The member `who` names, as staff type each other (@username, Telegram user id or
    name, any case), among `members`: an import resolves a whole file against one reading
    of the staff list. The same rules as the staff repository's `find`."""
    who = who.strip()
    if who.startswith("@"):
        wanted = who[1:].lower()
        return next((m for m in members if (m.username or "").lower() == wanted), None)
    user_id = whole_number(who)
    if user_id is not None:
        return next((m for m in members if m.telegram_user_id == user_id), None)
    return next((m for m in members if (m.name or "").lower() == who.lower()), None)


def owner_problem(members: Iterable[StaffMember], who: str) -> StaffMember | str | None:
    """An import's owner cell: the member it names, None for no owner (`none` or `-`), or
    why it names nobody who may own customers (one line, for the row's rejection)."""
    if who.strip().lower() in NO_OWNER:
        return None
    found = match_staff(members, who)
    if found is None:
        return (f"owner {who.strip()!r} is not a staff member: give their @username, "
                "Telegram user id or name as `careloop staff list` shows them, or none")
    if found.role not in OWNER_ROLES:
        return f"owner {who.strip()!r} is a {found.role} and cannot own customers"
    return found


async def set_owner(uow: UnitOfWork, now: datetime, customer: Customer,
                    owner: StaffMember | None, via: Via, by: StaffMember | None = None) -> bool:
    """Give the customer `owner` (None: no owner), recorded in their timeline. False when
    nothing changed."""
    new = owner.id if owner is not None else None
    if customer.owner_id == new:
        return False
    customer.owner_id = new
    uow.session.add(customer)
    await record(uow, now, customer.id, "owner", "note", staff_id=new,
                 by_staff_id=by.id if by is not None else None, via=str(via))
    return True


def may_change(actor: StaffMember, current: int | None, new: StaffMember | None) -> bool:
    """Leads and admins give any customer to anyone; an agent may take a customer nobody
    owns, and give up one they own."""
    if actor.role in ("lead", "admin"):
        return True
    if new is not None:
        return new.id == actor.id and current in (None, actor.id)
    return current == actor.id


@dataclass(frozen=True, slots=True)
class FirstClaim:
    """The owner's first claim on a case, held against someone else until `until`."""

    owner_id: int
    until: datetime


def first_claim(case: Case, customer: Customer, claimer: StaffMember, now: datetime,
                window: timedelta) -> FirstClaim | None:
    """Whether the owner's first claim stops `claimer` from claiming the case now: for
    `window` after the case opened nobody else may claim it (a lead can still /assign it).
    None: they may claim."""
    if customer.owner_id is None or customer.owner_id == claimer.id or window <= timedelta(0):
        return None
    until = case.opened_at + window
    return FirstClaim(customer.owner_id, until) if now < until else None
