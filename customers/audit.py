"""The audit log: who viewed a customer's history, exported, erased or restricted data."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from careloop.storage.models import AuditEntry, StaffMember
from careloop.storage.uow import UnitOfWork


class Actor(StrEnum):
    STAFF = "staff"
    OPERATOR = "operator"  # the careloop command
    CUSTOMER = "customer"  # the person themselves (/mydata, /forget)
    RETENTION = "retention"  # the scheduled purge


class Action(StrEnum):
    VIEWED_HISTORY = "viewed_history"
    # `careloop customers show/list --unmasked`: personal data shown in full.
    VIEWED_RECORD = "viewed_record"
    VIEWED_LIST = "viewed_list"
    EXPORTED = "exported"
    ERASED = "erased"
    BLOCKED = "blocked"
    UNBLOCKED = "unblocked"
    MUTED = "muted"
    UNMUTED = "unmuted"
    PURGED = "purged"


async def log(
    uow: UnitOfWork, now: datetime, actor: Actor, action: Action, customer_id: int | None,
    *, staff: StaffMember | None = None, **data: Any,
) -> AuditEntry:
    return await uow.privacy.audit(AuditEntry(
        at=now, actor=actor.value, staff_id=staff.id if staff else None, action=action.value,
        customer_id=customer_id, data=data))
