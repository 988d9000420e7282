"""Whether the database answers, for /healthz."""

from __future__ import annotations

import asyncio
import logging

from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine

log = logging.getLogger(__name__)
TIMEOUT_SECONDS = 5.0


async def database_answers(engine: AsyncEngine) -> bool:
    try:
        # A database that hangs is as unhealthy as one that refuses; a probe must not hang.
        async with asyncio.timeout(TIMEOUT_SECONDS), engine.connect() as conn:
            await conn.execute(text("SELECT 1"))
    except (SQLAlchemyError, OSError, TimeoutError) as exc:
        log.warning("health check: the database does not answer (%s)", type(exc).__name__)
        return False
    return True
