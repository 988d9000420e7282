"""What an API request does, apart from HTTP: check the body, then one unit of work."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import TypeVar

from pydantic import ValidationError
from sqlalchemy.exc import IntegrityError

from careloop.bot.api.errors import ApiError, FieldError, field_path, from_validation, invalid
from careloop.bot.api.schemas import MAX_CUSTOMERS, CustomerIn, EventIn
from careloop.care import touches as care
from careloop.care.playbook.model import Playbook
from careloop.customers import directory as customers
from careloop.customers import owners
from careloop.customers.suppression import NoSecret
from careloop.storage.uow import UnitOfWorkFactory

T = TypeVar("T")


def event_body(body: object) -> EventIn:
    try:
        return EventIn.model_validate(body)
    except ValidationError as exc:
        raise ApiError(422, from_validation(exc)) from None


async def record_event(uow: UnitOfWorkFactory, now: datetime, event: EventIn,
                       timezone: str, playbook: Playbook) -> care.Scheduled:
    """The event and its touches, or the earlier event when its id was seen before."""
    try:
        at = care.parse_at(event.at, timezone) if event.at is not None else now
    except care.BadEvent as exc:
        raise invalid(exc.field, str(exc)) from None

    async def attempt() -> care.Scheduled:
        async with uow() as work:
            customer = await work.customers.by_external_id(event.customer)
            if customer is None:
                raise invalid("customer", f"no customer with external id {event.customer!r}")
            try:
                scheduled = await care.add_event(work, now, customer, event.type, at,
                                                 event.attrs, playbook, source_id=event.id,
                                                 time_given=event.at is not None)
            except care.DifferentEvent as exc:
                raise ApiError(409, [FieldError("id", str(exc))]) from None
            except care.BadEvent as exc:
                raise invalid(exc.field, str(exc)) from None
            await work.commit()
        return scheduled

    return await _again_after_a_conflict(attempt)


def customer_rows(body: object) -> list[customers.CustomerRow]:
    """Every customer in the body, or ApiError naming every bad field: one bad item and
    nothing is written."""
    if isinstance(body, dict):
        items: list[object] = [body]
    elif isinstance(body, list):
        if not body:
            raise invalid(None, "the list has no customers")
        if len(body) > MAX_CUSTOMERS:
            raise invalid(None, f"at most {MAX_CUSTOMERS} customers per request")
        items = body
    else:
        raise invalid(None, "the body must be a customer object or a list of them")

    def where(index: int) -> tuple[int, ...]:
        return (index,) if isinstance(body, list) else ()

    errors: list[tuple[int, FieldError]] = []
    checker = customers.RowChecker("item")
    for index, item in enumerate(items):
        try:
            parsed = CustomerIn.model_validate(item)
        except ValidationError as exc:
            errors += [(index, e) for e in from_validation(exc, where(index))]
            continue
        checker.add(index, parsed.model_dump())
    checked = checker.result()
    errors += [(r.position, FieldError(field_path([*where(r.position), *filter(None, [r.field])]),
                                       r.reason)) for r in checked.rejected]
    if errors:
        errors.sort(key=lambda pair: pair[0])  # in the order of the items
        raise ApiError(422, [e for _, e in errors])
    return checked.rows


async def save_customers(uow: UnitOfWorkFactory, now: datetime,
                         rows: list[customers.CustomerRow], language: str,
                         timezone: str, secret: str | None = None, *, listed: bool = True
                         ) -> customers.ImportResult:
    """A customer on the suppression list is stored on do-not-contact; without the secret
    that keys the list (when it has entries) nothing is stored: 503. An owner that names
    nobody who may own customers refuses the request (422); `listed`: the body was a list,
    so errors name the item."""
    async def attempt() -> customers.ImportResult:
        async with uow() as work:
            if any(row.owner is not None for row in rows):
                staff = list(await work.staff.listed())
                errors = [FieldError(field_path([*([i] if listed else []), "owner"]), reason)
                          for i, row in enumerate(rows)
                          if (reason := customers.owner_rejection(row, staff)) is not None]
                if errors:
                    raise ApiError(422, errors)
            try:
                result = await customers.import_rows(work, now, rows, language, timezone,
                                                     secret=secret, via=owners.Via.API)
            except NoSecret:
                raise ApiError(503, [FieldError(None, "the do-not-contact list cannot be "
                                                "checked: CARELOOP_LINK_SECRET is not set")]
                               ) from None
            await work.commit()
        return result

    return await _again_after_a_conflict(attempt)


async def _again_after_a_conflict(attempt: Callable[[], Awaitable[T]]) -> T:
    try:
        return await attempt()
    except IntegrityError:
        # A concurrent request stored the same event id or external id between this one's
        # read and its write. The second attempt reads that row: the event is answered as a
        # duplicate, the customer is updated rather than created twice.
        return await attempt()
