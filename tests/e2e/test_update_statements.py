"""The survey-answer path's SQL, counted: each statement is a round trip to the database, so
a count that grows is the path growing slower (see the README's Performance section)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

import pytest
from sqlalchemy import event

from careloop.bot.inbound import Inbound
from careloop.sandbox.stage import Stage
from tests.e2e.conftest import surveyed

# Set while a stored update is stored or handled: the scheduled rounds' statements, which
# run meanwhile in tasks of their own, are not the update's.
_UPDATE: ContextVar[bool] = ContextVar("update", default=False)


def _as_update(method: Callable[..., Awaitable[Any]]) -> Callable[..., Awaitable[Any]]:
    async def wrapped(*args: Any, **kwargs: Any) -> Any:
        token = _UPDATE.set(True)
        try:
            return await method(*args, **kwargs)
        finally:
            _UPDATE.reset(token)
    return wrapped


@contextmanager
def statements(stage: Stage, monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """The statements that storing and handling updates send, from here to the end."""
    seen: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if _UPDATE.get():
            seen.append(" ".join(statement.split()))

    monkeypatch.setattr(Inbound, "_store", _as_update(Inbound._store))
    monkeypatch.setattr(Inbound, "_handle", _as_update(Inbound._handle))
    engine = stage.storage.engine.sync_engine
    event.listen(engine, "before_cursor_execute", count)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", count)


# A press on a survey's score, from its arrival to its answer: the update stored (1); in
# the handling's transaction, taken out of the stored updates and marked handled (2), the
# button's key, its presser and its survey read at once (1), the survey marked answered and
# the answer stored (2), the webhooks' endpoints read for the answer's event (1), and the
# timeline's two entries written together (1). PostgreSQL does each of the pairs in one
# statement (a data-modifying WITH).
SURVEY_ANSWER = {"sqlite": 8, "postgresql": 6}


async def test_a_survey_answer_press(stage: Stage, monkeypatch: pytest.MonkeyPatch) -> None:
    person, survey = await surveyed(stage, "C1")
    await stage.quiet()
    with statements(stage, monkeypatch) as seen:
        assert await stage.press(person, survey, "5") == "Thank you!"
        await stage.quiet()
    listing = "\n".join(s[:120] for s in seen)
    expected = SURVEY_ANSWER[stage.storage.engine.dialect.name]
    assert len(seen) == expected, f"{len(seen)} statements:\n{listing}"
    async with stage.storage.uow() as uow:
        customer = await uow.customers.by_telegram_user(person.id)
        assert customer is not None
        entries = await uow.timeline.of(customer.id)
    assert [e.kind for e in entries][-2:] == ["button", "answer"]
