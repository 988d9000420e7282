"""How a webhook delivery is signed, and how a receiver checks it (the README shows the
same few lines for receivers to copy)."""

from __future__ import annotations

import hashlib
import hmac
import secrets

TIMESTAMP = "Careloop-Timestamp"  # seconds since the epoch, when this attempt was made
SIGNATURE = "Careloop-Signature"  # "v1=" and the hex HMAC-SHA256 of "{timestamp}.{body}"
IDEMPOTENCY_KEY = "Idempotency-Key"  # the event's id: the same on every attempt
EVENT = "Careloop-Event"  # the event's type, also in the body
# A receiver should refuse a signature older than this: a replayed request.
TOLERANCE_SECONDS = 300


def new_secret() -> str:
    return "whsec_" + secrets.token_urlsafe(32)


def signature(secret: str, timestamp: int, body: bytes) -> str:
    # The timestamp is signed with the body, so an old request cannot be replayed with a
    # fresh timestamp.
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return "v1=" + mac.hexdigest()


def verify(secret: str, timestamp: str, signed: str, body: bytes, *, now: float | None = None,
           tolerance: float = TOLERANCE_SECONDS) -> bool:
    """Whether a delivery's headers sign this body; with `now`, also whether it is recent."""
    if not timestamp.isascii() or not timestamp.isdigit():
        return False
    if now is not None and abs(now - int(timestamp)) > tolerance:
        return False
    return hmac.compare_digest(signature(secret, int(timestamp), body).encode(),
                               signed.encode("utf-8", "surrogateescape"))
