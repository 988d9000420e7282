"""Alembic, driven from code: `careloop db upgrade`, the demo and the tests all come here."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

MIGRATIONS = Path(__file__).parent / "migrations"


def alembic_config() -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    return cfg


async def upgrade(engine: AsyncEngine, revision: str = "head") -> None:
    await _run(engine, lambda cfg: command.upgrade(cfg, revision))


async def downgrade(engine: AsyncEngine, revision: str) -> None:
    await _run(engine, lambda cfg: command.downgrade(cfg, revision))


async def _run(engine: AsyncEngine, action: Callable[[Config], object]) -> None:
    # Alembic is synchronous; hand it the async engine's connection so it runs inside the
    # caller's event loop instead of starting one of its own.
    def run(conn: Connection) -> None:
        cfg = alembic_config()
        cfg.attributes["connection"] = conn
        action(cfg)

    async with engine.begin() as conn:
        await conn.run_sync(run)


class SchemaOutOfDate(Exception):
    pass


def head_revision() -> str | None:
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


async def current_revision(engine: AsyncEngine) -> str | None:
    def current(conn: Connection) -> str | None:
        return MigrationContext.configure(conn).get_current_revision()

    async with engine.connect() as conn:
        return await conn.run_sync(current)


async def ensure_current(engine: AsyncEngine) -> None:
    """Refuse to work on a database whose schema is behind this version of careloop."""
    if await current_revision(engine) != head_revision():
        raise SchemaOutOfDate(
            "the database schema is not up to date: run `careloop db upgrade` first"
        )
