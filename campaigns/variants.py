"""Which A/B variant a customer draws: a stable hash, so a re-planned run (after a crash
between two processes) draws the same, and a split that follows the shares closely."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

from careloop.campaigns.spec import Variant


def bucket(campaign_id: int, customer_id: int) -> int:
    """0-99, uniform over customers, independent between campaigns."""
    digest = hashlib.sha256(f"{campaign_id}:{customer_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") % 100


def draw(variants: Sequence[Variant], campaign_id: int, customer_id: int) -> Variant:
    point = bucket(campaign_id, customer_id)
    edge = 0
    for variant in variants:
        edge += variant.share
        if point < edge:
            return variant
    return variants[-1]
