"""Whether the database answers, for /healthz."""

from __future__ import annotations

import asyncio
import logging

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from careloop.storage.errors import database_unavailable, reason

log = logging.getLogger(__name__)
TIMEOUT_SECONDS = 5.0


async def database_problem(engine: AsyncEngine) -> str | None:
    """None when the database answers; otherwise one line saying why not."""
    try:
        # A database that hangs is as unhealthy as one that refuses; a probe must not hang.
        async with asyncio.timeout(TIMEOUT_SECONDS), engine.connect() as conn:
            await conn.execute(text("SELECT 1"))
    except TimeoutError:
        problem = f"the database did not answer within {TIMEOUT_SECONDS:g} s"
    except Exception as exc:
        # Not only SQLAlchemy's errors: asyncpg's, while connecting to a server that does not
        # accept connections (starting up, shutting down), come unwrapped.
        if not database_unavailable(exc):
            raise
        problem = reason(exc)
    else:
        return None
    log.warning("health check: %s", problem)
    return problem
