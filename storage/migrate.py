"""Alembic, driven from code: `careloop db upgrade`, the demo and the tests all come here."""

from __future__ import annotations

import atexit
import shutil
import sqlite3
import tempfile
from collections.abc import Callable
from contextlib import closing
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

from careloop.storage.engine import make_engine

MIGRATIONS = Path(__file__).parent / "migrations"


def alembic_config() -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    return cfg


async def upgrade(engine: AsyncEngine, revision: str = "head") -> None:
    await _run(engine, lambda cfg: command.upgrade(cfg, revision))


# This process's empty database at the head revision, made by `upgrade` (see `upgrade_new`).
_template: Path | None = None


async def upgrade_new(engine: AsyncEngine) -> None:
    """`upgrade` for a database made a moment ago (the sandbox's stages, the tests): a new
    SQLite file is filled from an empty one this process migrated before, through SQLite's
    backup API. Running every migration costs a second or two of one core per file, and the
    test suite makes about a thousand of them. Any other database is upgraded as ever."""
    path = _new_sqlite_file(engine)
    if path is None:
        await upgrade(engine)
        return
    global _template
    if _template is None:
        folder = Path(tempfile.mkdtemp(prefix="careloop-schema-"))
        atexit.register(shutil.rmtree, folder, ignore_errors=True)
        migrated = make_engine(f"sqlite+aiosqlite:///{folder / 'head.db'}")
        try:
            await upgrade(migrated)
        finally:
            await migrated.dispose()
        _template = folder / "head.db"
    _copy(_template, path)


def _copy(source: Path, target: Path) -> None:
    # The backup API writes through SQLite's own locks: safe whatever has the file open.
    with closing(sqlite3.connect(source)) as src, closing(sqlite3.connect(target)) as dst:
        src.backup(dst)


def _new_sqlite_file(engine: AsyncEngine) -> Path | None:
    """The SQLite file `engine` opens when nothing is in it yet, else None."""
    if engine.url.get_backend_name() != "sqlite" or engine.url.database in (None, "", ":memory:"):
        return None
    path = Path(engine.url.database)
    return path if not path.exists() or path.stat().st_size == 0 else None


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
