"""How campaigns read, for marketers in the chat and operators at the command line."""

from __future__ import annotations

from html import escape
from zoneinfo import ZoneInfo

from babel import Locale
from babel.dates import format_date, format_time, get_month_names

from careloop.campaigns.lifecycle import COUNTS, Stats, VariantStats, spec_of
from careloop.campaigns.segment import Audience
from careloop.campaigns.spec import CampaignSpec, Schedule, Segment
from careloop.handlers.views.labels import NOT_SENT
from careloop.kernel.i18n import N_, Translator
from careloop.storage.models import Campaign

# Why a customer in the segment gets no message (care.contact.consent_problem).
REASONS = NOT_SENT
COUNT_LABELS = {
    "targeted": N_("targeted"), "sent": N_("sent"), "failed": N_("failed"),
    "blocked": N_("blocked"), "skipped": N_("skipped"), "waiting": N_("waiting"),
    "cancelled": N_("cancelled"), "taps": N_("taps"), "starts": N_("starts"),
    "unsubscribed": N_("unsubscribed"),
}
STATES = {"draft": N_("draft"), "active": N_("active"), "paused": N_("paused"),
          "finished": N_("finished"), "cancelled": N_("cancelled")}


def _name(text: str, html: bool) -> str:
    return escape(text) if html else text


def reason(tr: Translator, text: str) -> str:
    return tr.gettext(REASONS[text]) if text in REASONS else text


def segment_text(tr: Translator, segment: Segment) -> str:
    """Who the campaign is for, in words in the reader's language (the stored filters, and
    the JSON stats, keep `tier=gold,vip`)."""
    _ = tr.gettext
    parts = []
    for label, values in ((_("tier: {values}"), segment.tiers),
                          (_("tags: {values}"), segment.tags),
                          (_("language: {values}"), segment.languages),
                          (_("RFM segment: {values}"), segment.rfm)):
        if values:
            parts.append(label.format(values=tr.join(values)))
    if (days := segment.joined_within_days) is not None:
        parts.append(tr.ngettext("joined in the last {n} day", "joined in the last {n} days",
                                 days).format(n=days))
    if (days := segment.purchased_within_days) is not None:
        parts.append(tr.ngettext("bought in the last {n} day", "bought in the last {n} days",
                                 days).format(n=days))
    if (days := segment.community_joined_within_days) is not None:
        parts.append(tr.ngettext("joined the community group in the last {n} day",
                                 "joined the community group in the last {n} days",
                                 days).format(n=days))
    if segment.birthday_month == "current":
        parts.append(_("birthday this month"))
    elif segment.birthday_month is not None:
        parts.append(_("birthday in {month}").format(
            month=get_month_names("wide", "stand-alone",
                                  Locale.parse(tr.language))[segment.birthday_month]))
    if segment.community == "member":
        parts.append(_("members of the community group"))
    elif segment.community is not None:
        parts.append(_("not in the community group"))
    return "; ".join(parts) if parts else _("every customer")


def schedule_text(tr: Translator, schedule: Schedule) -> str:
    """When the campaign runs, in words; a time of day is each customer's own unless the
    file gave it an offset, and then its zone is named."""
    _ = tr.gettext
    locale = Locale.parse(tr.language)
    if schedule.monthly_day is not None and schedule.at is not None:
        said = _("monthly on day {day} at {time}, each customer's local time").format(
            day=schedule.monthly_day, time=format_time(schedule.at, "short", locale=locale))
        if schedule.until is not None:
            said = _("{schedule}, until {date}").format(
                schedule=said, date=format_date(schedule.until, "medium", locale=locale))
        return said
    if schedule.once is not None:
        if schedule.once.tzinfo is None:
            return _("once on {date} at {time}, each customer's local time").format(
                date=format_date(schedule.once, "medium", locale=locale),
                time=format_time(schedule.once, "short", locale=locale))
        zone = schedule.once.tzinfo
        return _("once, {moment}").format(moment=tr.datetime(
            schedule.once, zone.key if isinstance(zone, ZoneInfo) else "UTC"))
    return _("once, when started")


def summary(tr: Translator, campaign: Campaign, *, html: bool = False) -> str:
    """One line: number, name, state, when, who."""
    spec = spec_of(campaign)
    state = tr.gettext(STATES.get(campaign.state, campaign.state))
    if spec.to_community:
        return tr.gettext("#{id} {name} — {state} — {when} — a post in the community "
                          "group").format(id=campaign.id, name=_name(campaign.name, html),
                                          state=state, when=schedule_text(tr, spec.schedule))
    return tr.gettext("#{id} {name} — {state} — {when} — segment: {segment}").format(
        id=campaign.id, name=_name(campaign.name, html), state=state,
        when=schedule_text(tr, spec.schedule),
        segment=_name(segment_text(tr, spec.segment), html))


def audience_text(tr: Translator, found: Audience) -> str:
    lines = [tr.ngettext("Would reach {n} customer.", "Would reach {n} customers.",
                         len(found.recipients)).format(n=tr.decimal(len(found.recipients)))]
    if found.excluded:
        lines.append(tr.gettext("Excluded: {reasons}").format(reasons=tr.join(
            f"{reason(tr, r)} {tr.decimal(n)}" for r, n in found.excluded.most_common())))
    return "\n".join(lines)


def _counts(tr: Translator, v: VariantStats) -> str:
    values = v.as_dict()
    return " · ".join(f"{tr.gettext(COUNT_LABELS[k])} {tr.decimal(values[k])}" for k in COUNTS
                      if values[k] or k in ("targeted", "sent"))


def stats_text(tr: Translator, stats: Stats, *, html: bool = False) -> str:
    spec: CampaignSpec = spec_of(stats.campaign)
    lines = [summary(tr, stats.campaign, html=html),
             tr.ngettext("{n} run", "{n} runs", stats.runs).format(n=stats.runs),
             _counts(tr, stats.total)]
    if len(stats.variants) > 1:
        for variant in spec.variants:
            counts = stats.variants.get(variant.name, VariantStats())
            lines.append(tr.gettext("variant {name} ({share}%): {counts}").format(
                name=variant.name, share=variant.share, counts=_counts(tr, counts)))
    if stats.excluded:
        lines.append(tr.gettext("Excluded: {reasons}").format(reasons=tr.join(
            f"{reason(tr, r)} {tr.decimal(n)}" for r, n in stats.excluded.most_common())))
    return "\n".join(lines)


def stats_json(stats: Stats) -> dict[str, object]:
    spec = spec_of(stats.campaign)
    return {
        "id": stats.campaign.id, "name": stats.campaign.name, "state": stats.campaign.state,
        "schedule": spec.schedule.describe(), "segment": spec.segment.describe(),
        "runs": stats.runs, "excluded": dict(stats.excluded),
        "skipped_reasons": dict(stats.skipped_reasons),
        "total": stats.total.as_dict(),
        "variants": {name: {"share": variant.share if (variant := spec.variant(name)) else 0,
                            **v.as_dict()}
                     for name, v in stats.variants.items()},
    }
