"""The numbers staff and operators watch: CSAT, NPS, response rate, cases by state."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import Any

from storage.uow import UnitOfWork
from surveys.metrics import CsatSummary, NpsSummary, csat, nps, response_rate


@dataclass(frozen=True, slots=True)
class Report:
    since: datetime
    until: datetime
    invited: int
    answered: int
    response_rate: float | None
    csat: CsatSummary
    nps: NpsSummary
    cases: dict[str, int]

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["since"] = self.since.isoformat()
        data["until"] = self.until.isoformat()
        return data


async def build_report(uow: UnitOfWork, now: datetime, days: int) -> Report:
    since = now - timedelta(days=days)
    # Only questions that reached the customer count as invitations.
    invitations = [i for i in await uow.surveys.invitations_since(since) if i.message_id]
    answers = await uow.surveys.answers_to([i.id for i in invitations if i.id is not None])
    by_survey: dict[str, list[int]] = {"csat": [], "nps": []}
    for answer in answers:
        by_survey.setdefault(answer.survey_key, []).append(answer.score)
    return Report(
        since=since,
        until=now,
        invited=len(invitations),
        answered=len(answers),
        response_rate=response_rate(len(invitations), len(answers)),
        csat=csat(by_survey["csat"]),
        nps=nps(by_survey["nps"]),
        cases=await uow.cases.count_by_state(since),
    )
