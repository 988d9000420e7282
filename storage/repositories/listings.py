"""Pages of cases and survey answers for the read API, by keyset: each page starts after
the last id of the one before, so rows stored meanwhile never shift or repeat a page."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlmodel import col, select

from careloop.storage.models import Case, Customer, SurveyAnswer
from careloop.storage.repositories.base import Repository


class Listings(Repository):
    """Cases and answers page by page, oldest first, each with its customer's external id."""

    async def cases(self, after_id: int, limit: int, *, state: str | None = None,
                    since: datetime | None = None, until: datetime | None = None,
                    ) -> Sequence[tuple[Case, str | None]]:
        """Up to `limit` cases with ids above `after_id`, opened in [since, until)."""
        query: Any = (select(Case, Customer.external_id)
                      .join(Customer, col(Customer.id) == col(Case.customer_id))
                      .where(col(Case.id) > after_id))
        if state is not None:
            query = query.where(col(Case.state) == state)
        if since is not None:
            query = query.where(col(Case.opened_at) >= since)
        if until is not None:
            query = query.where(col(Case.opened_at) < until)
        res = await self.session.exec(query.order_by(col(Case.id)).limit(limit))
        return [(case, external_id) for case, external_id in res.all()]

    async def answers(self, after_id: int, limit: int, *, survey: str | None = None,
                      since: datetime | None = None, until: datetime | None = None,
                      ) -> Sequence[tuple[SurveyAnswer, str | None]]:
        """Up to `limit` answers with ids above `after_id`, given in [since, until)."""
        query: Any = (select(SurveyAnswer, Customer.external_id)
                      .join(Customer, col(Customer.id) == col(SurveyAnswer.customer_id))
                      .where(col(SurveyAnswer.id) > after_id))
        if survey is not None:
            query = query.where(col(SurveyAnswer.survey_key) == survey)
        if since is not None:
            query = query.where(col(SurveyAnswer.answered_at) >= since)
        if until is not None:
            query = query.where(col(SurveyAnswer.answered_at) < until)
        res = await self.session.exec(query.order_by(col(SurveyAnswer.id)).limit(limit))
        return [(answer, external_id) for answer, external_id in res.all()]
