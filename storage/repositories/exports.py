"""Read-only queries behind `careloop export`: cases, survey answers and timeline entries
of a window as flat rows (column names first), each with the customer's external id and
name as the operator's own records know them."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.orm import aliased
from sqlmodel import col

from careloop.storage.models import (
    Case,
    Customer,
    Interaction,
    StaffMember,
    SurveyAnswer,
    SurveyInvitation,
)
from careloop.storage.repositories.base import Repository

CASE_COLUMNS = ("case_id", "opened_at", "state", "priority", "customer_external_id",
                "customer_name", "assignee", "sla_due_at", "first_response_at",
                "resolved_at", "closed_at", "reopen_count", "survey", "score", "reason",
                "comment", "question")
ANSWER_COLUMNS = ("answered_at", "customer_external_id", "customer_name", "survey", "purpose",
                  "score", "negative", "reason", "comment")
TIMELINE_COLUMNS = ("at", "customer_external_id", "customer_name", "kind", "direction", "text",
                    "case_id")


class ExportQueries(Repository):
    """`careloop export`'s reads: a window's cases, answers or timeline entries as rows."""

    async def _rows(self, query: Select[Any]) -> list[Sequence[Any]]:
        conn = await self.session.connection()
        return [tuple(row) for row in (await conn.execute(query)).all()]

    async def cases(self, since: datetime, until: datetime) -> list[Sequence[Any]]:
        """Cases opened in the window, oldest first."""
        staff = aliased(StaffMember)
        query = (
            select(col(Case.id), col(Case.opened_at), col(Case.state), col(Case.priority),
                   col(Customer.external_id), col(Customer.name),
                   col(staff.name), col(staff.username), col(Case.sla_due_at),
                   col(Case.first_response_at), col(Case.resolved_at), col(Case.closed_at),
                   col(Case.reopen_count), col(SurveyAnswer.survey_key),
                   col(SurveyAnswer.score), col(SurveyAnswer.reason),
                   col(SurveyAnswer.comment), col(Case.question))
            .select_from(Case)
            .join(Customer, col(Customer.id) == col(Case.customer_id))
            .outerjoin(staff, col(staff.id) == col(Case.assignee_id))
            .outerjoin(SurveyAnswer, col(SurveyAnswer.id) == col(Case.answer_id))
            .where(col(Case.opened_at) >= since, col(Case.opened_at) <= until)
            .order_by(col(Case.opened_at), col(Case.id))
        )
        return [(*r[:6], r[6] or (f"@{r[7]}" if r[7] else None), *r[8:])
                for r in await self._rows(query)]

    async def answers(self, since: datetime, until: datetime) -> list[Sequence[Any]]:
        """Survey answers given in the window, oldest first."""
        query = (
            select(col(SurveyAnswer.answered_at), col(Customer.external_id),
                   col(Customer.name), col(SurveyAnswer.survey_key),
                   col(SurveyInvitation.purpose), col(SurveyAnswer.score),
                   col(SurveyAnswer.negative), col(SurveyAnswer.reason),
                   col(SurveyAnswer.comment))
            .select_from(SurveyAnswer)
            .join(Customer, col(Customer.id) == col(SurveyAnswer.customer_id))
            .join(SurveyInvitation,
                  col(SurveyInvitation.id) == col(SurveyAnswer.invitation_id))
            .where(col(SurveyAnswer.answered_at) >= since,
                   col(SurveyAnswer.answered_at) <= until)
            .order_by(col(SurveyAnswer.answered_at), col(SurveyAnswer.id))
        )
        return [(*r[:6], bool(r[6]), *r[7:]) for r in await self._rows(query)]

    async def timeline(self, since: datetime, until: datetime) -> list[Sequence[Any]]:
        """Every customer's timeline entries in the window, oldest first."""
        query = (
            select(col(Interaction.at), col(Customer.external_id), col(Customer.name),
                   col(Interaction.kind), col(Interaction.direction), col(Interaction.text),
                   col(Interaction.case_id))
            .select_from(Interaction)
            .join(Customer, col(Customer.id) == col(Interaction.customer_id))
            .where(col(Interaction.at) >= since, col(Interaction.at) <= until)
            .order_by(col(Interaction.at), col(Interaction.id))
        )
        return await self._rows(query)
