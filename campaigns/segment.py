"""Who a campaign reaches, as plain functions: the segment's filters, then the contact rules
that no campaign can switch off."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import NamedTuple

from careloop.campaigns.spec import Segment
from careloop.care.contact import consent_problem
from careloop.storage.models import Category, Customer


class Recipient(NamedTuple):
    """What planning a run needs of a customer, and no more: an audience of a million is
    a million of these, not of whole records."""

    id: int
    timezone: str


@dataclass(frozen=True, slots=True)
class Audience:
    """A segment's customers: who may get the message, and why the others may not."""

    recipients: list[Recipient] = field(default_factory=list)
    excluded: Counter[str] = field(default_factory=Counter)

    @property
    def matched(self) -> int:
        return len(self.recipients) + sum(self.excluded.values())

    def add(self, segment: Segment, customers: Iterable[Customer], now: datetime, month: int,
            last_purchases: Mapping[int, datetime]) -> None:
        """Sort more of the customers in: a recipient, an exclusion, or not in the segment."""
        for customer in customers:
            if not in_segment(segment, customer, now, month, last_purchases.get(customer.id)):
                continue
            if problem := consent_problem(customer, Category.MARKETING):
                self.excluded[problem] += 1
            else:
                self.recipients.append(Recipient(customer.id, customer.timezone))


def in_segment(segment: Segment, customer: Customer, now: datetime, month: int,
               last_purchase: datetime | None) -> bool:
    """Does the customer fit every filter? `month` is the run's month (birthday=current)."""
    if segment.tiers and customer.tier not in segment.tiers:
        return False
    if segment.tags and not set(segment.tags) & set(customer.tags):
        return False
    if segment.languages and customer.language not in segment.languages:
        return False
    if segment.rfm and customer.rfm_segment not in segment.rfm:
        return False
    if segment.joined_within_days is not None and not _within(
            customer.created_at, segment.joined_within_days, now):
        return False
    if segment.purchased_within_days is not None and not _within(
            last_purchase, segment.purchased_within_days, now):
        return False
    if segment.birthday_month is not None:
        wanted = month if segment.birthday_month == "current" else segment.birthday_month
        if customer.birthday is None or customer.birthday.month != wanted:
            return False
    if segment.community is not None and customer.community_member != (
            segment.community == "member"):
        return False
    return segment.community_joined_within_days is None or (
        customer.community_member and _within(customer.community_joined_at,
                                              segment.community_joined_within_days, now))


def audience(segment: Segment, customers: Iterable[Customer], now: datetime, month: int,
             last_purchases: Mapping[int, datetime]) -> Audience:
    """The segment's customers split into recipients and the excluded by reason."""
    result = Audience()
    result.add(segment, customers, now, month, last_purchases)
    return result


def _within(at: datetime | None, days: int, now: datetime) -> bool:
    return at is not None and at >= now - timedelta(days=days)
