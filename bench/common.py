"""What the benchmarks share: run as scripts (`python bench/NAME.py`), they import it by name."""

from __future__ import annotations


async def emptied(database_url: str) -> None:
    """A PostgreSQL database with nothing in it, for a fresh start."""
    from sqlalchemy import text

    from careloop.storage.engine import make_engine

    engine = make_engine(database_url)
    async with engine.begin() as conn:
        await conn.execute(text("DROP SCHEMA public CASCADE"))
        await conn.execute(text("CREATE SCHEMA public"))
    await engine.dispose()
