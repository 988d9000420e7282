"""Writing to the per-customer interaction log."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from careloop.kernel.messenger import TEXT_LIMIT
from careloop.storage.models import TimelineEntry
from careloop.storage.uow import UnitOfWork

# How a timeline entry's direction is shown to staff and operators.
ARROWS = {"in": "←", "out": "→", "note": "·"}


def entry(
    at: datetime,
    customer_id: int,
    kind: str,
    direction: str,
    text: str | None = None,
    *,
    message_id: int | None = None,
    case_id: int | None = None,
    **data: Any,
) -> TimelineEntry:
    """A timeline entry's values, not yet stored (see `record`, or Timeline.extend for many
    at once)."""
    return {"customer_id": customer_id, "at": at, "kind": kind, "direction": direction,
            "text": text[:TEXT_LIMIT] if text is not None else None,
            "telegram_message_id": message_id, "case_id": case_id, "data": data}


async def record(
    uow: UnitOfWork,
    at: datetime,
    customer_id: int,
    kind: str,
    direction: str,
    text: str | None = None,
    **extra: Any,
) -> None:
    """Append one entry now, written with the unit of work's commit; `extra` as for
    `entry`."""
    await uow.timeline.append(entry(at, customer_id, kind, direction, text, **extra))
