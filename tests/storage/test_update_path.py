"""The statements an update's handling is made of: each says in one round trip what used to
take two, and must mean the same on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from typing import Any

from sqlalchemy import event
from sqlmodel import select

from careloop.bot.app import Storage
from careloop.customers.timeline import record
from careloop.storage.models import (
    CallbackKey,
    Customer,
    InvitationState,
    SurveyAnswer,
    SurveyInvitation,
)
from tests.conftest import START


async def test_keeping_updates_stores_only_those_not_stored_yet(storage: Storage) -> None:
    async with storage.uow() as uow:
        assert await uow.inbox.keep_new([(1, 10, {"a": 1}), (2, 20, {})], START) == {1, 2}
        await uow.commit()
    async with storage.uow() as uow:
        assert await uow.inbox.keep_new([(2, 20, {}), (3, 30, {})], START) == {3}
        assert await uow.inbox.keep_new([], START) == set()
        await uow.commit()
    async with storage.uow() as uow:
        assert [(r.update_id, r.payload) for r in await uow.inbox.waiting()] == [
            (1, {"a": 1}), (2, {}), (3, {})]


async def test_an_update_is_handled_the_first_time_only(storage: Storage) -> None:
    async with storage.uow() as uow:
        assert await uow.updates.first_time(7, START)
        await uow.rollback()  # nothing kept: it comes again
    async with storage.uow() as uow:
        assert await uow.updates.first_time(7, START)
        await uow.commit()
    async with storage.uow() as uow:
        assert not await uow.updates.first_time(7, START)
        assert await uow.updates.seen(7)


async def test_taking_a_stored_update_marks_it_handled_once(storage: Storage) -> None:
    async with storage.uow() as uow:
        await uow.inbox.keep_new([(8, 10, {}), (9, 10, {})], START)
        await uow.commit()
    async with storage.uow() as uow:
        assert await uow.inbox.take(8, START)
        await uow.rollback()  # nothing kept: still stored, and not handled
    async with storage.uow() as uow:
        assert [r.update_id for r in await uow.inbox.waiting()] == [8, 9]
        assert await uow.inbox.take(8, START)
        await uow.commit()
    async with storage.uow() as uow:
        assert [r.update_id for r in await uow.inbox.waiting()] == [9]
        assert await uow.updates.seen(8)
        await uow.inbox.keep_new([(8, 10, {})], START)  # Telegram sends it again
        assert not await uow.inbox.take(8, START)  # taken out again, and not handled twice
        await uow.commit()
    async with storage.uow() as uow:
        assert [r.update_id for r in await uow.inbox.waiting()] == [9]


async def test_an_invitation_takes_one_answer(storage: Storage) -> None:
    async with storage.uow() as uow:
        customer = await uow.customers.add(Customer(name="Ann", created_at=START))
        invitation = SurveyInvitation(customer_id=customer.id, survey_key="csat",
                                      purpose="test", chat_id=55, sent_at=START)
        expired = SurveyInvitation(customer_id=customer.id, survey_key="csat", purpose="test",
                                   chat_id=55, sent_at=START, state=InvitationState.EXPIRED)
        uow.session.add_all([invitation, expired])
        await uow.commit()

    def answer(invitation_id: int, score: int) -> SurveyAnswer:
        return SurveyAnswer(invitation_id=invitation_id, customer_id=customer.id,
                            survey_key="csat", score=score, negative=False, answered_at=START)

    async with storage.uow() as uow:
        first = await uow.surveys.take_answer(answer(invitation.id, 5), START)
        assert first is not None and first.id is not None
        assert await uow.surveys.answer(first.id) is first  # in the session, as stored
        # A double tap in the same moment, and an answer to a closed invitation: none kept.
        assert await uow.surveys.take_answer(answer(invitation.id, 4), START) is None
        assert await uow.surveys.take_answer(answer(expired.id, 4), START) is None
        await uow.commit()
    async with storage.uow() as uow:
        stored = await uow.surveys.invitation(invitation.id)
        assert stored is not None and stored.state == InvitationState.ANSWERED
        assert stored.closed_at is not None
        answers = (await uow.session.exec(select(SurveyAnswer))).all()
        assert [(a.invitation_id, a.score) for a in answers] == [(invitation.id, 5)]


async def test_the_skipping_insert_is_compiled_once(storage: Storage) -> None:
    """The dialects' own ON CONFLICT opts out of SQLAlchemy's statement cache; insert_new's
    does not, so the update path's inserts are compiled once, not on every update."""
    seen: list[str] = []

    def stats(_conn: Any, _cursor: Any, statement: str, _params: Any, context: Any,
              _many: Any) -> None:
        if statement.startswith("INSERT INTO processed_update"):
            seen.append(context._get_cache_stats().split()[0])

    event.listen(storage.engine.sync_engine, "after_cursor_execute", stats)
    try:
        for update_id in (1, 2, 2):
            async with storage.uow() as uow:
                await uow.updates.first_time(update_id, START)
                await uow.commit()
    finally:
        event.remove(storage.engine.sync_engine, "after_cursor_execute", stats)
    # The first compiles (or finds what an earlier test in this process compiled); the next
    # two find it. Uncacheable, each would say "no key".
    assert seen[1:] == ["cached", "cached"], seen
    async with storage.uow() as uow:
        assert await uow.updates.seen(2) and not await uow.updates.first_time(1, START)


async def test_a_press_reads_its_key_presser_and_subject_at_once(storage: Storage) -> None:
    async with storage.uow() as uow:
        customer = await uow.customers.add(Customer(name="Ann", telegram_user_id=55, chat_id=55,
                                                    created_at=START))
        invitation = SurveyInvitation(customer_id=customer.id, survey_key="csat",
                                      purpose="test", chat_id=55, sent_at=START)
        uow.session.add(invitation)
        await uow.session.flush()
        await uow.callbacks.add(CallbackKey(key="k1", action="survey", subject_id=invitation.id,
                                            value="5", chat_id=55, created_at=START))
        await uow.commit()
    subjects = {"survey": SurveyInvitation}
    async with storage.uow() as uow:
        pressed = await uow.callbacks.pressed("k1", 55, subjects)
        assert pressed is not None
        key, presser = pressed
        assert (key.value, presser.name if presser else None) == ("5", "Ann")
        # Read with them: found in the session, without another query.
        assert uow.session.identity_map.get(uow.session.identity_key(
            SurveyInvitation, invitation.id)) is not None
        assert await uow.callbacks.get("k1") is key
        stranger = await uow.callbacks.pressed("k1", 99, subjects)
        assert stranger is not None and stranger[1] is None
        assert await uow.callbacks.pressed("nope", 55, subjects) is None


async def test_timeline_entries_wait_for_the_commit_but_are_seen_before_it(
        storage: Storage) -> None:
    async with storage.uow() as uow:
        customer = await uow.customers.add(Customer(name="Ann", created_at=START))
        await uow.commit()
    async with storage.uow() as uow:
        await record(uow, START, customer.id, "note", "note", "first")
        await record(uow, START, customer.id, "note", "note", "second")
        assert [e.text for e in await uow.timeline.of(customer.id)] == ["first", "second"]
        await record(uow, START, customer.id, "note", "note", "third")
        await uow.commit()
    async with storage.uow() as uow:
        await record(uow, START, customer.id, "note", "note", "rolled back")
        await uow.rollback()
    async with storage.uow() as uow:
        assert [e.text for e in await uow.timeline.of(customer.id)] == [
            "first", "second", "third"]


async def test_writers_take_turns(storage: Storage) -> None:
    """On SQLite two writing units of work in this process do not overlap (no wait in
    SQLite's busy handler); on PostgreSQL they may."""
    inside: list[int] = []
    most = 0

    async def write(n: int) -> None:
        nonlocal most
        async with storage.uow.writing() as uow:
            inside.append(n)
            most = max(most, len(inside))
            await uow.inbox.keep_new([(n, n, {})], START)
            await asyncio.sleep(0.01)
            await uow.commit()
            inside.remove(n)

    await asyncio.gather(*(write(n) for n in range(1, 6)))
    sqlite = storage.engine.dialect.name == "sqlite"
    assert most == 1 if sqlite else most >= 1
    async with storage.uow() as uow:
        assert len(await uow.inbox.waiting()) == 5
