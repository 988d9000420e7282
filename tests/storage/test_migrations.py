"""The Alembic stairway: up from empty, all the way down, up again; and the schema the
migrations build is exactly the one the models describe."""

import json

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect, text
from sqlmodel import SQLModel

import careloop.storage.models  # noqa: F401
from careloop.storage.engine import make_engine
from careloop.storage.migrate import downgrade, ensure_current, upgrade

TABLES = {
    "customer", "business_event", "touch", "survey_invitation", "survey_answer",
    "support_case", "case_message", "staff_member", "interaction", "callback_key",
    "processed_update", "outbound_message", "community_member", "community_event",
    "community_welcome", "audit_entry", "inbound_update",
}
CAMPAIGNS = {"campaign", "campaign_run", "campaign_response", "campaign_draft"}  # from 0006
SUPPRESSION = {"suppression", "digest_listing"}  # from 0009
DIGEST = {"weekly_digest"}  # from 0012
WEBHOOKS = {"webhook_endpoint", "webhook_delivery"}  # from 0013
PROMISES = {"case_promise"}  # from 0016
EVERY_TABLE = TABLES | CAMPAIGNS | SUPPRESSION | DIGEST | WEBHOOKS | PROMISES


async def _tables(engine) -> set[str]:
    async with engine.connect() as conn:
        names = await conn.run_sync(lambda c: set(inspect(c).get_table_names()))
    return names - {"alembic_version"}


async def test_upgrade_downgrade_upgrade(database_url: str) -> None:
    engine = make_engine(database_url)
    try:
        await upgrade(engine)
        assert await _tables(engine) == EVERY_TABLE
        await ensure_current(engine)
        await downgrade(engine, "0001")
        assert await _tables(engine) == TABLES - {
            "outbound_message", "community_member", "community_event", "community_welcome",
            "audit_entry", "inbound_update"}
        await downgrade(engine, "base")
        assert await _tables(engine) == set()
        await upgrade(engine)
        assert await _tables(engine) == EVERY_TABLE
    finally:
        await engine.dispose()


async def test_migrations_match_the_models(database_url: str) -> None:
    engine = make_engine(database_url)
    try:
        await upgrade(engine)
        async with engine.connect() as conn:
            diff = await conn.run_sync(
                lambda c: compare_metadata(MigrationContext.configure(c), SQLModel.metadata)
            )
        assert diff == []
    finally:
        await engine.dispose()


async def test_an_upgrade_keeps_the_customers_of_the_last_release(database_url: str) -> None:
    """An operator's `careloop db upgrade` over a database in use: the new non-null columns
    get their defaults on the rows already there."""
    engine = make_engine(database_url)
    try:
        await upgrade(engine, "0004")
        async with engine.begin() as conn:
            await conn.execute(text(
                "INSERT INTO customer (external_id, name, chat_id, telegram_user_id, language, "
                "timezone, tier, tags, service_consent, marketing_consent, unreachable, "
                "created_at) VALUES ('C1', 'Ann', 7, 7, 'en', 'UTC', 'gold', '[]', true, true, "
                "false, '2026-11-01 10:00:00')"))
        await upgrade(engine)
        async with engine.connect() as conn:
            row = (await conn.execute(text(
                "SELECT name, marketing_consent, community_member, do_not_contact, muted, "
                "erased_at, marketing_consent_version FROM customer"))).one()
        assert tuple(row) == ("Ann", True, False, False, False, None, None)
    finally:
        await engine.dispose()


async def test_an_upgrade_finds_the_records_linked_before_it(database_url: str) -> None:
    """Someone who wrote before opening their link had a record of their own: its "linked"
    note names the record it became, which 0009 keeps as merged_into_id for erasure."""
    engine = make_engine(database_url)
    try:
        await upgrade(engine, "0008")
        async with engine.begin() as conn:
            for external_id in (None, "C1"):
                await conn.execute(text(
                    "INSERT INTO customer (external_id, name, language, timezone, tier, tags, "
                    "service_consent, marketing_consent, unreachable, do_not_contact, muted, "
                    "community_member, created_at) VALUES (:ext, 'Ann', 'en', 'UTC', "
                    "'member', '[]', false, false, false, false, false, false, "
                    "'2026-11-01 10:00:00')"), {"ext": external_id})
            ids = (await conn.execute(text("SELECT id FROM customer ORDER BY id"))).scalars()
            stub, real = list(ids)
            await conn.execute(text(
                "INSERT INTO interaction (customer_id, at, kind, direction, data) VALUES "
                "(:stub, '2026-11-01 11:00:00', 'linked', 'note', :data)"),
                {"stub": stub, "data": json.dumps({"moved_to": real})})
        await upgrade(engine)
        async with engine.connect() as conn:
            rows = (await conn.execute(text(
                "SELECT id, merged_into_id FROM customer ORDER BY id"))).all()
        assert [tuple(r) for r in rows] == [(stub, real), (real, None)]
    finally:
        await engine.dispose()
