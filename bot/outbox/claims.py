"""Who holds a message that is being sent, and until when.

Every process makes one owner id at start-up. A claim (a touch or a stored reply marked
`sending`) records its owner and a lease; the owner renews the lease while it works, so
another process started on the same database (an overlapping restart, a second worker on
PostgreSQL) leaves it alone and recovers only claims whose lease ran out: their owner is
gone. Just before the HTTP call the claim is marked attempted, in a commit of its own: a
claim that was never attempted cannot have reached anyone and is simply sent later; only an
attempt cut off in flight is in doubt, and then the category's rule applies
(care.failures.RESEND_IF_UNSURE).
"""

from __future__ import annotations

import os
import secrets
import socket
from dataclasses import dataclass, field
from datetime import datetime, timedelta

# How long a claim holds without renewal. The owner renews every third of it; a process
# stalled for longer than this (or killed) loses its claims to the next recovery.
LEASE = timedelta(seconds=60)
# Why a recovered claim that was never attempted goes back to the queue.
REQUEUED = "claimed by a process that stopped before sending it; sent again later"


def _owner() -> str:
    # Readable in the table (host and pid), unique even when a pid is reused.
    return f"{socket.gethostname()[:40]}:{os.getpid()}:{secrets.token_hex(4)}"


@dataclass(frozen=True, slots=True)
class Claims:
    """This process's owner id and the lease its claims take."""

    lease: timedelta = LEASE
    owner: str = field(default_factory=_owner)

    def until(self, now: datetime) -> datetime:
        return now + self.lease

    @property
    def renew_every(self) -> float:
        """Seconds between renewals: a third of the lease."""
        return self.lease.total_seconds() / 3
