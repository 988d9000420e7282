"""Campaigns in storage: create, check the audience, start, pause, resume, cancel, plan each
run's messages into the outbox, count what they did. The sender delivers them like any
touch, inside Telegram's limits and the contact policy, which is checked again at send time."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime

from careloop.campaigns import message, schedule
from careloop.campaigns.segment import Audience, Recipient, in_segment
from careloop.campaigns.spec import CampaignSpec, Variant
from careloop.campaigns.variants import draw
from careloop.care.contact import UNREACHABLE
from careloop.care.failures import FINAL
from careloop.customers.timeline import record
from careloop.storage.models import (
    Campaign,
    CampaignResponse,
    CampaignRun,
    CampaignState,
    Category,
    Customer,
    Touch,
    TouchState,
)
from careloop.storage.uow import UnitOfWork

PURPOSE = "campaign"
TEMPLATE = "campaign"
STARTABLE = (CampaignState.DRAFT,)
# A finished campaign has planned all its runs; its last messages may still be waiting.
PAUSABLE = (CampaignState.ACTIVE, CampaignState.FINISHED)
CANCELLABLE = (CampaignState.DRAFT, CampaignState.ACTIVE, CampaignState.PAUSED,
               CampaignState.FINISHED)


class CampaignProblem(ValueError):
    """Why a campaign cannot do what was asked; the message is shown as it is."""


def spec_of(campaign: Campaign) -> CampaignSpec:
    return CampaignSpec.from_json(campaign.spec)


def check_link(spec: CampaignSpec, bot_username: str | None) -> None:
    """{start_link} is a link to the bot only when its @username is known."""
    if bot_username:
        return
    texts = [text for variant in spec.variants for text in variant.text.values()]
    if any(message.START_LINK in message.placeholders(text) for text in texts):
        raise CampaignProblem("its text has {start_link}, which needs CARELOOP_BOT_USERNAME "
                              "(the bot's @username, without the @)")


async def create(uow: UnitOfWork, now: datetime, spec: CampaignSpec,
                 created_by: int | None = None) -> Campaign:
    return await uow.campaigns.add(Campaign(name=spec.name, spec=spec.to_json(),
                                            created_by=created_by, created_at=now))


async def get(uow: UnitOfWork, campaign_id: int) -> Campaign:
    campaign = await uow.campaigns.get(campaign_id)
    if campaign is None:
        raise CampaignProblem(f"there is no campaign {campaign_id}")
    return campaign


async def find_audience(uow: UnitOfWork, spec: CampaignSpec, now: datetime,
                        month: int | None = None) -> Audience:
    """Who the campaign would reach now (`month`: the run's, for birthday=current)."""
    purchases = await uow.campaigns.last_purchases() if spec.segment.purchased_within_days \
        else {}
    found = Audience()
    async for page in uow.campaigns.customer_pages():  # a page's records, then let go
        found.add(spec.segment, page, now, month or now.month, purchases)
    return found


@dataclass(frozen=True, slots=True)
class Placement:
    """Where one customer stands in a campaign's audience now."""

    in_segment: bool
    excluded: str | None = None  # in the segment, but not to be contacted: why


async def placement(uow: UnitOfWork, spec: CampaignSpec, customer: Customer, now: datetime,
                    month: int | None = None) -> Placement:
    """Whether a run planned now would reach `customer`, decided by the code that picks a
    run's recipients (a preview must not promise what the send would not do)."""
    purchases = await uow.campaigns.last_purchases() if spec.segment.purchased_within_days \
        else {}
    found = Audience()
    found.add(spec.segment, [customer], now, month or now.month, purchases)
    if found.recipients:
        return Placement(True)
    if found.excluded:
        return Placement(True, next(iter(found.excluded)))
    return Placement(False)


def variant_for(spec: CampaignSpec, campaign_id: int, customer_id: int) -> Variant:
    """The variant a customer gets, in every run and in a preview."""
    return draw(spec.variants, campaign_id, customer_id)


async def audience_languages(uow: UnitOfWork, spec: CampaignSpec, now: datetime
                             ) -> Counter[str]:
    """How many of the segment's customers have each stored language, whether or not they
    may be contacted today (consent can come later)."""
    purchases = await uow.campaigns.last_purchases() if spec.segment.purchased_within_days \
        else {}
    languages: Counter[str] = Counter()
    async for page in uow.campaigns.customer_pages():
        languages.update(c.language for c in page
                         if in_segment(spec.segment, c, now, now.month, purchases.get(c.id)))
    return languages


@dataclass(frozen=True, slots=True)
class Started:
    first_run: schedule.Occurrence | None  # None: confirmation is needed first
    recipients: int


def run_at(spec: CampaignSpec, occurrence: schedule.Occurrence, timezone: str,
           now: datetime) -> datetime:
    """When the round takes up a run: ahead of time for messages due at each customer's own
    hour; at its time, in the business's timezone, for a post in the community group."""
    return occurrence.due(timezone, now) if spec.to_community else occurrence.plan_at


async def start(uow: UnitOfWork, now: datetime, campaign: Campaign, *, confirm_above: int,
                confirmed: bool, timezone: str, bot_username: str | None) -> Started:
    """Activate a draft; its first run is planned by the next campaign round. A campaign that
    would reach more than `confirm_above` customers starts only when `confirmed`."""
    if campaign.state not in STARTABLE:
        raise CampaignProblem(f"campaign {campaign.id} is {campaign.state}; only a draft starts")
    spec = spec_of(campaign)
    check_link(spec, bot_username)
    first = schedule.first(spec.schedule, now)
    if first is None:
        raise CampaignProblem(f"campaign {campaign.id}'s time has passed: "
                              f"{spec.schedule.describe()}")
    reach = 0 if spec.to_community else len((await find_audience(uow, spec, now)).recipients)
    if reach > confirm_above and not confirmed:
        return Started(None, reach)
    if not await uow.campaigns.move(campaign.id, STARTABLE, CampaignState.ACTIVE,
                                    started_at=now,
                                    next_run_at=run_at(spec, first, timezone, now),
                                    next_occurrence=first.key):
        raise CampaignProblem(f"campaign {campaign.id} was started or changed meanwhile")
    return Started(first, reach)


async def pause(uow: UnitOfWork, campaign: Campaign) -> int:
    """Stop planning runs and hold the messages not yet sent; returns how many were held."""
    if not await uow.campaigns.move(campaign.id, PAUSABLE, CampaignState.PAUSED):
        raise CampaignProblem(f"campaign {campaign.id} is {campaign.state}; only a started "
                              "campaign pauses")
    return await uow.campaigns.move_touches(campaign.id, TouchState.PENDING, TouchState.HELD)


async def resume(uow: UnitOfWork, now: datetime, campaign: Campaign, timezone: str) -> int:
    """Release the held messages and plan runs again; a monthly run whose day passed while
    paused is skipped, not sent late. Returns how many messages were released."""
    values: dict[str, object] = {}
    state = CampaignState.ACTIVE if campaign.next_occurrence else CampaignState.FINISHED
    spec = spec_of(campaign)
    if spec.schedule.recurring:
        following = schedule.first(spec.schedule, now)
        planned = {run.occurrence for run in await uow.campaigns.runs(campaign.id)}
        while following is not None and following.key in planned:  # paused after planning
            following = schedule.after(spec.schedule, following)
        values = {"next_run_at": run_at(spec, following, timezone, now) if following else None,
                  "next_occurrence": following.key if following else None}
        state = CampaignState.ACTIVE if following else CampaignState.FINISHED
    if not await uow.campaigns.move(campaign.id, (CampaignState.PAUSED,), state, **values):
        raise CampaignProblem(f"campaign {campaign.id} is {campaign.state}; only a paused "
                              "campaign resumes")
    return await uow.campaigns.move_touches(campaign.id, TouchState.HELD, TouchState.PENDING)


async def cancel(uow: UnitOfWork, campaign: Campaign) -> int:
    """End the campaign for good: no more runs, and nothing not yet sent goes out."""
    if not await uow.campaigns.move(campaign.id, CANCELLABLE, CampaignState.CANCELLED,
                                    next_run_at=None):
        raise CampaignProblem(f"campaign {campaign.id} is already {campaign.state}")
    cancelled = 0
    for state in (TouchState.PENDING, TouchState.HELD):
        cancelled += await uow.campaigns.move_touches(campaign.id, state,
                                                      TouchState.CANCELLED,
                                                      last_error="campaign cancelled")
    return cancelled


async def plan_run(uow: UnitOfWork, now: datetime, campaign: Campaign, timezone: str
                   ) -> CampaignRun | None:
    """Plan the campaign's due run: pick its audience and queue one message per recipient
    (a community post is sent by the round after this commit). The run's unique occurrence
    and the conditional move of the campaign make this happen once; None if another process
    did it first."""
    if (campaign.state != CampaignState.ACTIVE or campaign.next_occurrence is None
            or campaign.next_run_at is None or campaign.next_run_at > now):
        return None  # planned (or paused, or cancelled) since it was found due
    spec = spec_of(campaign)
    occurrence = schedule.occurrence_at(spec.schedule, campaign.next_occurrence, now)
    assert occurrence is not None
    following = schedule.after(spec.schedule, occurrence)
    # The audience is read before the first write: on SQLite the write lock is then held
    # for the inserts only, not for the scan of every customer. A second process that
    # finds the same run due reads it too, and then loses the conditional move below.
    month = occurrence.local[0].month if occurrence.local else now.month
    found = None if spec.to_community else await find_audience(uow, spec, now, month)
    if not await uow.campaigns.advance(
            campaign.id, occurrence.key, following.key if following else None,
            run_at(spec, following, timezone, now) if following else None,
            finished=following is None):
        return None
    if found is None:
        return await uow.campaigns.add_run(CampaignRun(
            campaign_id=campaign.id, occurrence=occurrence.key, planned_at=now))
    run = await uow.campaigns.add_run(CampaignRun(
        campaign_id=campaign.id, occurrence=occurrence.key, planned_at=now,
        targeted=len(found.recipients), excluded=dict(found.excluded)))
    await uow.campaigns.add_touches(
        _touch(run.id, campaign.id, customer, occurrence.due(customer.timezone, now), now,
               variant_for(spec, campaign.id, customer.id).name)
        for customer in found.recipients)
    return run


def _touch(run_id: int, campaign_id: int, customer: Recipient, due: datetime, now: datetime,
           variant: str) -> dict[str, object]:
    return {"customer_id": customer.id, "purpose": PURPOSE, "category": Category.MARKETING,
            "template": TEMPLATE, "due_at": due, "state": TouchState.PENDING, "attempts": 0,
            "idempotency_key": f"campaign:{run_id}:{customer.id}", "created_at": now,
            "campaign_run_id": run_id, "variant": variant, "event_id": None,
            "survey_key": None}


async def respond(uow: UnitOfWork, now: datetime, touch: Touch, kind: str) -> bool:
    """Count a recipient's tap, start or unsubscribe once per run; False if already counted."""
    assert touch.campaign_run_id is not None and touch.variant is not None
    run = await uow.campaigns.run(touch.campaign_run_id)
    assert run is not None
    counted = await uow.campaigns.respond(CampaignResponse(
        campaign_id=run.campaign_id, run_id=run.id, customer_id=touch.customer_id,
        variant=touch.variant, kind=kind, at=now))
    if counted:
        await record(uow, now, touch.customer_id, "campaign", "in", response=kind,
                     campaign_id=run.campaign_id, variant=touch.variant)
    return counted


# --- statistics -------------------------------------------------------------------------

COUNTS = ("targeted", "sent", "failed", "blocked", "skipped", "waiting", "cancelled",
          "taps", "starts", "unsubscribed")


@dataclass(slots=True)
class VariantStats:
    targeted: int = 0
    sent: int = 0
    failed: int = 0
    blocked: int = 0  # the customer blocked the bot or the chat is gone
    skipped: int = 0  # consent withdrawn, caps or do-not-contact at send time
    waiting: int = 0  # pending, held or being sent
    cancelled: int = 0
    taps: int = 0
    starts: int = 0
    unsubscribed: int = 0

    def as_dict(self) -> dict[str, int]:
        return {name: getattr(self, name) for name in COUNTS}


@dataclass(slots=True)
class Stats:
    campaign: Campaign
    runs: int = 0
    excluded: Counter[str] = field(default_factory=Counter)
    variants: dict[str, VariantStats] = field(default_factory=dict)
    skipped_reasons: Counter[str] = field(default_factory=Counter)

    @property
    def total(self) -> VariantStats:
        total = VariantStats()
        for v in self.variants.values():
            for name in COUNTS:
                setattr(total, name, getattr(total, name) + getattr(v, name))
        return total


_STATE_COUNT = {TouchState.SENT: "sent", TouchState.PENDING: "waiting",
                TouchState.HELD: "waiting", TouchState.SENDING: "waiting",
                TouchState.CANCELLED: "cancelled"}
_RESPONSE_COUNT = {"tap": "taps", "start": "starts", "unsubscribe": "unsubscribed"}


def _outcome(state: str, error: str | None) -> str:
    if error is not None and (error == UNREACHABLE or error.startswith(FINAL)):
        return "blocked"
    return _STATE_COUNT.get(TouchState(state), str(state))


async def stats(uow: UnitOfWork, campaign: Campaign) -> Stats:
    result = Stats(campaign)
    for defined in spec_of(campaign).variants:
        result.variants[defined.name] = VariantStats()
    for run in await uow.campaigns.runs(campaign.id):
        result.runs += 1
        result.excluded.update(run.excluded)
    for variant, state, error, count in await uow.campaigns.touch_counts(campaign.id):
        v = result.variants.setdefault(variant, VariantStats())
        v.targeted += count
        outcome = _outcome(state, error)
        if outcome == "skipped" and error:
            result.skipped_reasons[error] += count
        setattr(v, outcome, getattr(v, outcome) + count)
    for variant, kind, count in await uow.campaigns.response_counts(campaign.id):
        v = result.variants.setdefault(variant, VariantStats())
        name = _RESPONSE_COUNT[kind]
        setattr(v, name, getattr(v, name) + count)
    return result
