"""Draws docs/digest.png and prints the digest's text: the weekly digest of a made-up
shop, twelve weeks of plausible figures, rendered by the code the bot runs.

    python docs/digest_sample.py [LANGUAGE]
"""

from __future__ import annotations

import random
import sys
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from careloop.handlers.views.chart import weekly_chart
from careloop.handlers.views.digest import digest_text
from careloop.kernel.i18n import Catalogs
from careloop.storage.models import StaffMember
from careloop.storage.repositories.kpis import FollowUpRow
from careloop.storage.repositories.reports import CaseRow, InvitationRow
from careloop.surveys.kpis import kpis
from careloop.surveys.metrics import case_figures, survey_figures
from careloop.surveys.thresholds import load_thresholds
from careloop.surveys.weekly import Week, drivers

FIRST_MONDAY = date(2026, 9, 7)
CUSTOMERS = 120


def week(n: int, rng: random.Random) -> Week:
    monday = FIRST_MONDAY + timedelta(days=7 * n)
    since = datetime.combine(monday, datetime.min.time(), UTC)
    until = since + timedelta(days=7) - timedelta(microseconds=1)
    # The desk falls behind in weeks 8-11 (a sales event), and satisfaction follows.
    busy = n >= 8
    follow_ups, answers, cases, purchases = [], [], [], []
    for c in range(CUSTOMERS):
        at = since + timedelta(hours=rng.randrange(24 * 7))
        reached = rng.random() < (0.86 if busy else 0.94)
        score = rng.choices([1, 2, 3, 4, 5], [1, 1, 2, 5, 8] if not busy else [3, 2, 2, 5, 6])[0]
        answered = reached and rng.random() < 0.45
        unhappy = answered and score <= 2
        state = "confirmed" if rng.random() < (0.6 if busy else 0.85) else "open"
        follow_ups.append(FollowUpRow(c, at, "sent" if reached else "skipped",
                                      at if reached else None, "csat" if answered else None,
                                      score if answered else None, unhappy,
                                      state if unhappy else None))
        if reached:
            answers.append(InvitationRow(at, "csat", "purchase_csat", "standard",
                                         score if answered else None, unhappy,
                                         rng.choice(["delivery", "delivery", "quality"])))
        if unhappy:
            late = rng.random() < (0.3 if busy else 0.05)
            first = at + timedelta(hours=rng.uniform(0.5, 30 if late else 20))
            cases.append(CaseRow(at, at + timedelta(hours=24), state, first_response_at=first,
                                 resolved_at=first + timedelta(hours=rng.uniform(2, 40))
                                 if state == "confirmed" else None))
        if reached and rng.random() < (0.25 if score >= 4 else 0.12):
            purchases.append((c, at + timedelta(days=rng.uniform(1, 6))))
    return Week(monday, kpis(since, until, follow_ups, purchases, survey_figures(answers),
                             case_figures(cases, since, until)))


def main() -> None:
    language = sys.argv[1] if len(sys.argv) > 1 else "en"
    tr = Catalogs().translator(language)
    rng = random.Random(7)  # noqa: S311 (made-up figures, the same at every run)
    weeks = [week(n, rng) for n in range(12)]
    this = weeks[-1]
    since = datetime.combine(this.monday, datetime.min.time(), UTC)
    found = drivers([(412, 3, True), (415, 3, True), (419, None, True)], [], since,
                    since + timedelta(days=7), this.kpis.surveys.reasons)
    lin = StaffMember(id=3, telegram_user_id=1003, role="agent", name="Lin")
    print(digest_text(tr, this, weeks[-2], load_thresholds(), found, {3: lin},
                      lambda key: key.capitalize()))
    out = Path(__file__).with_name("digest.png" if language == "en"
                                   else f"digest-{language}.png")
    out.write_bytes(weekly_chart(tr, weeks, tr.gettext("Weekly figures")))


if __name__ == "__main__":
    main()
