"""A campaign's definition as plain data, stored as JSON on its row."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import date, datetime, time
from typing import Any, Literal

COMMUNITY = ("member", "not_member")


@dataclass(frozen=True, slots=True)
class Segment:
    """Who a campaign is for. Every filter narrows; marketing consent and a reachable chat are
    always required on top (care.contact.consent_problem)."""

    tiers: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()  # any of them
    languages: tuple[str, ...] = ()
    joined_within_days: int | None = None  # the customer record is this new
    purchased_within_days: int | None = None  # a `purchase` event this recent
    birthday_month: int | Literal["current"] | None = None  # "current": the run's month
    community: Literal["member", "not_member"] | None = None
    community_joined_within_days: int | None = None
    rfm: tuple[str, ...] = ()  # RFM segments (care.rfm), any of them

    def describe(self) -> str:
        """The filters as the wizard and `campaigns list` show them: `tier=gold,vip ...`."""
        parts = []
        for name, value in (("tier", self.tiers), ("tags", self.tags),
                            ("language", self.languages), ("rfm", self.rfm)):
            if value:
                parts.append(f"{name}={','.join(value)}")
        for name, days in (("joined", self.joined_within_days),
                           ("purchased", self.purchased_within_days),
                           ("community_joined", self.community_joined_within_days)):
            if days is not None:
                parts.append(f"{name}<{days}d")
        if self.birthday_month is not None:
            parts.append(f"birthday={self.birthday_month}")
        if self.community is not None:
            parts.append(f"community={self.community}")
        return " ".join(parts) or "all"


@dataclass(frozen=True, slots=True)
class OfferButton:
    """One button under the message: a plain link, or a tracked offer (`tracked`), whose tap is
    counted and answered with the link."""

    text: dict[str, str]  # by language
    url: str
    tracked: bool = False


@dataclass(frozen=True, slots=True)
class Variant:
    name: str
    share: int  # percent; a campaign's shares add up to 100
    text: dict[str, str]  # HTML with placeholders, by language
    photo: str | None = None  # an https URL or a Telegram file id
    button: OfferButton | None = None


@dataclass(frozen=True, slots=True)
class Schedule:
    """`once` at a time, or `monthly` on a day at a time. A time without an offset is each
    customer's local time; neither given means the campaign runs when it is started."""

    once: datetime | None = None  # naive: customer-local wall time; aware: one instant
    monthly_day: int | None = None  # 1-31; a shorter month runs on its last day
    at: time | None = None  # the monthly time, customer-local
    until: date | None = None  # the last date a monthly campaign runs

    @property
    def recurring(self) -> bool:
        return self.monthly_day is not None

    def describe(self) -> str:
        if self.monthly_day is not None and self.at is not None:
            tail = f" until {self.until.isoformat()}" if self.until else ""
            return f"monthly on day {self.monthly_day} at {self.at:%H:%M} local{tail}"
        if self.once is not None:
            where = " local" if self.once.tzinfo is None else ""
            return f"once at {self.once.isoformat(sep=' ', timespec='minutes')}{where}"
        return "once, when started"


@dataclass(frozen=True, slots=True)
class CampaignSpec:
    name: str
    segment: Segment
    variants: tuple[Variant, ...]
    schedule: Schedule = field(default_factory=Schedule)
    # "community": one post in the community group instead of a message to each customer,
    # at the business's local time; `pin` pins it in place of the previous post's pin.
    target: Literal["customers", "community"] = "customers"
    pin: bool = False

    @property
    def to_community(self) -> bool:
        return self.target == "community"

    def variant(self, name: str) -> Variant | None:
        return next((v for v in self.variants if v.name == name), None)

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        sched = self.schedule
        data["schedule"] = {
            "once": sched.once.isoformat() if sched.once else None,
            "monthly_day": sched.monthly_day,
            "at": sched.at.isoformat() if sched.at else None,
            "until": sched.until.isoformat() if sched.until else None,
        }
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> CampaignSpec:
        """A spec as stored: it was checked when it was created."""
        seg = data["segment"]
        segment = Segment(**{**seg, "tiers": tuple(seg["tiers"]), "tags": tuple(seg["tags"]),
                             "languages": tuple(seg["languages"]),
                             "rfm": tuple(seg.get("rfm", ()))})
        variants = tuple(
            Variant(name=v["name"], share=v["share"], text=v["text"], photo=v["photo"],
                    button=OfferButton(**v["button"]) if v["button"] else None)
            for v in data["variants"])
        s = data["schedule"]
        schedule = Schedule(
            once=datetime.fromisoformat(s["once"]) if s["once"] else None,
            monthly_day=s["monthly_day"],
            at=time.fromisoformat(s["at"]) if s["at"] else None,
            until=date.fromisoformat(s["until"]) if s["until"] else None,
        )
        return cls(name=data["name"], segment=segment, variants=variants, schedule=schedule,
                   target=data.get("target", "customers"), pin=bool(data.get("pin")))
