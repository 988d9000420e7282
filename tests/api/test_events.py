"""POST /api/v1/events: an event in, its touches scheduled once per event id."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from tests.api.conftest import Api
from tests.conftest import START

EVENTS = "/api/v1/events"


@pytest.fixture
async def known(api: Api) -> Api:
    status, _ = await api.post("/api/v1/customers", [
        {"external_id": "C-1", "name": "Mei Chen"}, {"external_id": "C-2", "name": "Tom"}])
    assert status == 200
    return api


def _due(body: dict) -> dict[str, datetime]:
    return {t["purpose"]: datetime.fromisoformat(t["due_at"]) for t in body["touches"]}


async def test_an_event_schedules_the_playbook_touches(known: Api) -> None:
    status, body = await known.post(EVENTS, {
        "id": "order-1/a", "type": "purchase", "customer": "C-1",
        "at": "2026-11-20T15:00:00+08:00", "attrs": {"order": "1"}})
    assert status == 201
    assert body["duplicate"] is False
    at = datetime(2026, 11, 20, 7, 0, tzinfo=UTC)
    # The shipped playbook: tips a week later at 10:00 local (Asia/Shanghai), surveys after
    # three and thirty days.
    assert _due(body) == {"purchase_tips": datetime(2026, 11, 27, 2, 0, tzinfo=UTC),
                          "purchase_csat": at + timedelta(days=3),
                          "purchase_nps": at + timedelta(days=30)}
    async with known.storage.uow() as uow:
        event = await uow.events.by_source_id("order-1/a")
    assert event is not None
    assert (event.id, event.type, event.attrs) == (body["event"], "purchase", {"order": "1"})
    assert await known.rows() == (2, 1, 3)


async def test_the_same_event_id_again_is_a_duplicate_and_schedules_nothing(known: Api) -> None:
    event = {"id": "order-2", "type": "purchase", "customer": "C-1"}
    first_status, first = await known.post(EVENTS, event)
    known.clock.advance(timedelta(minutes=5))  # a retry later, without a time: still the same event
    again_status, again = await known.post(EVENTS, event)
    assert (first_status, again_status) == (201, 200)
    assert again == {"event": first["event"], "touches": [], "duplicate": True}
    assert await known.rows() == (2, 1, 3)


@pytest.mark.parametrize(("change", "differs"), [
    ({"at": "2026-01-01T00:00:00Z"}, "time"), ({"type": "service_completed"}, "type"),
    ({"customer": "C-2"}, "customer"), ({"attrs": {"order": "2"}}, "attrs"),
], ids=["at", "type", "customer", "attrs"])
async def test_the_same_event_id_with_other_content_is_a_conflict(
        known: Api, change: dict[str, object], differs: str) -> None:
    event = {"id": "order-2", "type": "purchase", "customer": "C-1",
             "at": "2026-11-20T08:00:00Z", "attrs": {"order": "1"}}
    assert (await known.post(EVENTS, event))[0] == 201
    status, body = await known.post(EVENTS, {**event, **change})
    assert (status, body) == (409, {"errors": [{"field": "id", "message": (
        f"event id 'order-2' was already reported with a different {differs}")}]})
    assert await known.rows() == (2, 1, 3)
    assert (await known.post(EVENTS, event))[0] == 200  # the same report is still a retry


async def test_an_id_with_a_trailing_newline_is_refused(known: Api) -> None:
    assert (await known.post(EVENTS, {"id": "order-1", "type": "purchase",
                                      "customer": "C-1"}))[0] == 201
    for field, value in (("id", "order-1\n"), ("type", "purchase\n"), ("customer", "C-1\n")):
        status, body = await known.post(EVENTS, {"id": "order-1", "type": "purchase",
                                                 "customer": "C-1", field: value})
        assert status == 422, (field, body)
        assert body["errors"][0]["field"] == field
    status, body = await known.post(EVENTS, {"id": "order-9", "type": "purchase",
                                             "customer": "C-1", "attrs": {"note\n": "x"}})
    assert status == 422
    assert await known.rows() == (2, 1, 3)


async def test_a_retry_storm_on_one_id_records_it_once(known: Api) -> None:
    event = {"id": "order-3", "type": "purchase", "customer": "C-2"}
    answers = await asyncio.gather(*(known.post(EVENTS, event) for _ in range(8)))
    assert sorted(status for status, _ in answers) == [200] * 7 + [201]
    assert {body["event"] for _, body in answers} == {answers[0][1]["event"]}
    assert await known.rows() == (2, 1, 3)


async def test_without_at_the_event_happened_now_and_without_offset_in_business_time(
        known: Api) -> None:
    _, now = await known.post(EVENTS, {"id": "e-now", "type": "service_completed",
                                       "customer": "C-1"})
    assert _due(now) == {"service_csat": START + timedelta(days=1)}
    _, local = await known.post(EVENTS, {"id": "e-local", "type": "service_completed",
                                         "customer": "C-2", "at": "2026-11-20T15:30"})
    # Asia/Shanghai is the business's timezone in these tests: 15:30 there is 07:30 UTC
    assert _due(local) == {
        "service_csat": datetime(2026, 11, 21, 7, 30, tzinfo=UTC)}


async def test_an_event_type_without_touches_is_still_recorded(known: Api) -> None:
    status, body = await known.post(EVENTS, {"id": "r-1", "type": "refund", "customer": "C-1"})
    assert (status, body["touches"], body["duplicate"]) == (201, [], False)
    assert await known.rows() == (2, 1, 0)


GOOD = {"id": "order-9", "type": "purchase", "customer": "C-1"}


@pytest.mark.parametrize(("body", "errors"), [
    ({k: v for k, v in GOOD.items() if k != "id"}, [("id", "is required")]),
    ({k: v for k, v in GOOD.items() if k != "customer"}, [("customer", "is required")]),
    ({**GOOD, "at": 1700000000}, [("at", "must be a string")]),
    ({**GOOD, "type": ["purchase"]}, [("type", "must be a string")]),
    ({**GOOD, "attrs": {"order": 42}}, [("attrs.order", "must be a string")]),
    ({**GOOD, "attrs": ["order=1"]}, [("attrs", "must be an object")]),
    ({**GOOD, "source": "web"}, [("source", "is not a known field")]),
    ({**GOOD, "customer": "NOPE"}, [("customer", "no customer with external id 'NOPE'")]),
    ({**GOOD, "at": "yesterday"},
     [("at", "'yesterday' is not an ISO 8601 time like 2026-11-20T15:30")]),
    ({**GOOD, "at": "9999-01-01T00:00Z"},
     [("at", "'9999-01-01T00:00Z' is out of range (years 1970 to 2100)")]),
    ({**GOOD, "type": "Purchase!"},
     [("type", "event type 'Purchase!' must be lowercase letters, digits and _")]),
    ({**GOOD, "id": "order 9"}, [("id", "event id must be 1-128 letters, digits or . _ : / -")]),
    ({**GOOD, "attrs": {"9lives": "x"}}, [("attrs.9lives", "attribute key '9lives' must be 1-32 "
                                           "letters, digits or _, not starting with a digit")]),
    ({**GOOD, "attrs": {"note": "x" * 201}},
     [("attrs.note", "attribute note: value is longer than 200 characters")]),
    ([GOOD], [(None, "must be a JSON object")]),
    ({"id": 1, "type": 2}, [("id", "must be a string"), ("type", "must be a string"),
                            ("customer", "is required")]),
])
async def test_bad_events_are_422_naming_each_field_and_write_nothing(
        known: Api, body: object, errors: list[tuple[str | None, str]]) -> None:
    status, answer = await known.post(EVENTS, body)
    assert status == 422
    assert answer == {"errors": [{"field": f, "message": m} for f, m in errors]}
    assert await known.rows() == (2, 0, 0)


@pytest.mark.parametrize("raw", [b"", b"{", b'{"id": "x",}', b"\xff\xfe\x00", b"[" * 100_000],
                         ids=["empty", "cut", "trailing-comma", "not-utf8", "deep"])
async def test_a_body_that_is_not_json_is_422(known: Api, raw: bytes) -> None:
    status, answer = await known.post(EVENTS, data=raw,
                                      headers={"Content-Type": "application/json"})
    assert status == 422
    [error] = answer["errors"]
    assert error["field"] is None
    assert error["message"].startswith(("the body is not valid JSON", "the body is nested"))
    assert await known.rows() == (2, 0, 0)
