"""/stats in the staff group: the last days' numbers, for anyone registered as staff."""

from __future__ import annotations

from html import escape
from zoneinfo import ZoneInfo

from careloop.handlers.context import Context
from careloop.handlers.views.reporting import ReasonLabel, case_lines, local_date, survey_lines
from careloop.handlers.views.timeline import as_words
from careloop.kernel.effects import Effect, Send
from careloop.kernel.i18n import Translator
from careloop.kernel.updates import Update
from careloop.surveys.reports import Report, build_report

DEFAULT_DAYS = 7
# A year of numbers is still a quick read; longer windows are the CLI report's business.
MAX_DAYS = 365


def parse_days(args: str) -> int | None:
    """The window `/stats [DAYS]` asks for: 7 without an argument, None for anything but
    a whole number of days from 1 to MAX_DAYS."""
    text = args.strip()
    if not text:
        return DEFAULT_DAYS
    # ASCII digits only: int() would also take "٣" or "1_0".
    if not (text.isascii() and text.isdigit()) or len(text) > 4:
        return None
    days = int(text)
    return days if 1 <= days <= MAX_DAYS else None


def stats_html(tr: Translator, report: Report, reason_label: ReasonLabel | None = None) -> str:
    """The totals as compact HTML: every line escaped, only the heading in bold. Numbers
    only: no customer's name or words ever reach it."""
    heading = tr.ngettext("📊 The last {n} day", "📊 The last {n} days", report.days).format(
        n=report.days)
    zone = ZoneInfo(report.timezone)  # the business's local days
    since = local_date(tr, report.since.astimezone(zone).date())
    until = local_date(tr, report.until.astimezone(zone).date())
    lines = [*survey_lines(tr, report.surveys, reason_label or as_words),
             *case_lines(tr, report)]
    return "\n".join([f"<b>{escape(heading)}</b> ({escape(since)} – {escape(until)})",
                      *map(escape, lines)])


async def on_stats(update: Update, ctx: Context, *,
                   reason_label: ReasonLabel | None = None) -> list[Effect]:
    """/stats [DAYS]: CSAT, NPS, response rate, reasons and case figures of the last DAYS
    days (7 by default), as a reply in the same topic. Any registered staff member."""
    _ = ctx.staff_tr.gettext
    member = await ctx.uow.staff.by_telegram_user(update.user.id)
    if member is None:
        return [_reply(update, _("Sorry, only registered staff can see the numbers."))]
    days = parse_days(update.command_args)
    if days is None:
        return [_reply(update, _(
            "Please give the number of days as a whole number from 1 to {max}, for example "
            "/stats 30."
        ).format(max=MAX_DAYS))]
    report = await build_report(ctx.uow, ctx.now, days, timezone=ctx.config.default_timezone)
    return [_reply(update, stats_html(ctx.staff_tr, report, reason_label))]


def _reply(update: Update, text: str) -> Send:
    return Send(update.chat.id, text, reply_to=update.message_id, topic_id=update.topic_id)
