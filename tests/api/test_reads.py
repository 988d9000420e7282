"""The read API over HTTP: a customer and their timeline, cases and answers page by page
behind cursors that hold still while rows are added, and the report."""

from __future__ import annotations

import json
from typing import Any

import pytest
from sqlmodel import select

from careloop.storage.models import AuditEntry
from careloop.surveys.reports import BREAKDOWNS, build_report
from tests.api.conftest import Api
from tests.api.seed import add_answer_and_case, seed
from tests.conftest import START


async def _get(api: Api, path: str, **kwargs: Any) -> tuple[int, Any]:
    status, body, _ = await api.call("GET", path, **kwargs)
    return status, body


async def _all(api: Api, path: str) -> list[dict[str, Any]]:
    """Every item, following the cursors two at a time."""
    items: list[dict[str, Any]] = []
    sep = "&" if "?" in path else "?"
    status, page = await _get(api, f"{path}{sep}limit=2")
    while True:
        assert status == 200, page
        items += page["items"]
        if not page["has_more"]:
            return items
        status, page = await _get(api, f"{path}{sep}limit=2&cursor={page['next_cursor']}")


async def test_a_customer_with_their_timeline_and_the_viewing_audited(api: Api) -> None:
    ids = await seed(api.storage)
    status, body = await _get(api, "/api/v1/customers/C-1")
    assert status == 200
    assert (body["id"], body["name"], body["tier"], body["tags"]) == (
        ids["mei"], "Mei Chen", "gold", ["coffee"])
    assert [(e["kind"], e["direction"], e["text"]) for e in body["timeline"]] == [
        ("message", "in", "Where is my order?"), ("answer", "in", None)]
    assert body["timeline"][1]["data"] == {"survey": "csat", "score": 1}
    async with api.storage.uow() as uow:
        [entry] = (await uow.session.exec(select(AuditEntry))).all()
    assert (entry.action, entry.customer_id, entry.data) == (
        "viewed_history", ids["mei"], {"via": "api"})

    assert (await _get(api, "/api/v1/customers/C-404"))[0] == 404
    assert (await _get(api, "/api/v1/customers/%20bad"))[0] == 404
    assert (await _get(api, "/api/v1/customers/C-1", auth=False))[0] == 401


async def test_pages_follow_cursors_and_hold_still_while_cases_are_added(api: Api) -> None:
    ids = await seed(api.storage)
    status, first = await _get(api, "/api/v1/cases?limit=3")
    assert status == 200 and first["has_more"] and len(first["items"]) == 3
    # A case opened between two pages shows at the end, not in the middle.
    _, new_case = await add_answer_and_case(api.storage, ids["tom"], 0, 1)
    status, rest = await _get(api, f"/api/v1/cases?limit=3&cursor={first['next_cursor']}")
    assert [c["id"] for c in rest["items"]] == [4, new_case] and not rest["has_more"]
    # The last page's cursor, asked again later, brings only what is new.
    _, newer = await add_answer_and_case(api.storage, ids["mei"], 0, 2)
    status, later = await _get(api, f"/api/v1/cases?cursor={rest['next_cursor']}")
    assert [c["id"] for c in later["items"]] == [newer]
    everything = await _all(api, "/api/v1/cases")
    assert [c["id"] for c in everything] == [1, 2, 3, 4, new_case, newer]
    assert everything[0]["customer"] == "C-1" and everything[1]["customer"] == "C-2"


async def test_filters_by_state_and_window(api: Api) -> None:
    await seed(api.storage)
    opened = await _all(api, "/api/v1/cases?state=open")
    assert [c["state"] for c in opened] == ["open"]
    # The window is in the business's time (Asia/Shanghai); a date's `until` includes it.
    recent = await _all(api, "/api/v1/cases?since=2026-11-16")
    assert [c["opened_at"][:10] for c in recent] == ["2026-11-18", "2026-11-19"]
    early = await _all(api, "/api/v1/answers?until=2026-11-15&survey=csat")
    assert [(a["customer"], a["score"]) for a in early] == [("C-1", 1), ("C-2", 2)]
    assert await _all(api, "/api/v1/answers?survey=nps") == []


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)  # no SQL reached
async def test_bad_queries_are_422_naming_the_parameter(api: Api) -> None:
    for query, field in [("state=lost", "state"), ("limit=0", "limit"), ("limit=x", "limit"),
                         ("cursor=abc", "cursor"), ("since=yesterday", "since"),
                         ("since=2026-11-20&until=2026-11-01", "since")]:
        status, body = await _get(api, f"/api/v1/cases?{query}")
        assert (status, body["errors"][0]["field"]) == (422, field), query


async def test_the_summary_is_the_report_careloop_report_prints(api: Api) -> None:
    await seed(api.storage)
    api.clock.set(START)
    status, body = await _get(api, "/api/v1/reports/summary?since=2026-11-06")
    assert status == 200
    async with api.storage.uow() as uow:
        report = await build_report(uow, START, body["days"], timezone="Asia/Shanghai",
                                    by=BREAKDOWNS)
    assert body == json.loads(json.dumps(report.as_dict()))
    assert body["days"] == 15 and body["until"] == START.isoformat()
    status, body = await _get(api, "/api/v1/reports/summary?since=2026-12-01")
    assert status == 422
