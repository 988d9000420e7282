"""The statements behind erasure, retention and the data export, and the audit log.

The timeline is append-only for everything else; only here are texts taken out of it, as
privacy law requires: entries stay (their kind, time and direction count in the numbers),
their words go.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, update
from sqlmodel import col, select

from careloop.storage.models import (
    AuditEntry,
    BusinessEvent,
    CallbackKey,
    Case,
    CasePromise,
    CommunityEvent,
    CommunityMember,
    InboundUpdate,
    Interaction,
    OutboundMessage,
    SurveyAnswer,
    SurveyInvitation,
    TouchState,
)
from careloop.storage.repositories.base import Repository

# Outbound messages still to be sent keep their text until they go (or are erased).
_SETTLED = (TouchState.SENT, TouchState.FAILED, TouchState.SKIPPED, TouchState.CANCELLED)


def _count(result: Any) -> int:
    return int(result.rowcount or 0)


class PrivacyQueries(Repository):
    """A customer's data across tables: exported, erased, purged when old, and audited."""

    async def _write(self, statement: Any) -> int:
        return _count(await self.session.exec(statement))

    # --- the export -----------------------------------------------------------------------

    async def answers_of(self, customer_ids: Sequence[int]) -> Sequence[SurveyAnswer]:
        res = await self.session.exec(select(SurveyAnswer).where(
            col(SurveyAnswer.customer_id).in_(customer_ids)).order_by(col(SurveyAnswer.id)))
        return res.all()

    async def cases_of(self, customer_ids: Sequence[int]) -> Sequence[Case]:
        res = await self.session.exec(select(Case).where(
            col(Case.customer_id).in_(customer_ids)).order_by(col(Case.id)))
        return res.all()

    async def events_of(self, customer_ids: Sequence[int]) -> Sequence[BusinessEvent]:
        res = await self.session.exec(select(BusinessEvent).where(
            col(BusinessEvent.customer_id).in_(customer_ids)).order_by(col(BusinessEvent.id)))
        return res.all()

    async def timeline_of(self, customer_ids: Sequence[int]) -> Sequence[Interaction]:
        res = await self.session.exec(select(Interaction).where(
            col(Interaction.customer_id).in_(customer_ids))
            .order_by(col(Interaction.at), col(Interaction.id)))
        return res.all()

    # --- erasure --------------------------------------------------------------------------

    async def erase_texts(self, customer_ids: Sequence[int]) -> int:
        """Every text in the customers' timelines; returns how many entries had one."""
        return await self._write(
            update(Interaction)
            .where(col(Interaction.customer_id).in_(customer_ids),
                   col(Interaction.text).is_not(None))
            .values(text=None))

    async def erase_comments(self, customer_ids: Sequence[int]) -> int:
        """Written answers, questions asked in the community group, and promises made."""
        return await self._write(
            update(SurveyAnswer)
            .where(col(SurveyAnswer.customer_id).in_(customer_ids),
                   col(SurveyAnswer.comment).is_not(None))
            .values(comment=None)) + await self._write(
            update(Case)
            .where(col(Case.customer_id).in_(customer_ids), col(Case.question).is_not(None))
            .values(question=None)) + await self._write(
            update(CasePromise)
            .where(col(CasePromise.customer_id).in_(customer_ids),
                   col(CasePromise.text).is_not(None))
            .values(text=None))

    async def forget_community_member(self, telegram_user_id: int) -> None:
        """The tie between the Telegram account and the group: its joins and leaves stay
        counted for the weekly figures, under no one's id (0)."""
        await self._write(delete(CommunityMember)
                          .where(col(CommunityMember.telegram_user_id) == telegram_user_id))
        await self._write(update(CommunityEvent)
                          .where(col(CommunityEvent.telegram_user_id) == telegram_user_id)
                          .values(telegram_user_id=0))

    async def erase_event_details(self, customer_ids: Sequence[int]) -> None:
        """An event's attributes are the business's free-form details about the person, and
        its id in the business's system may name them (an order number, an email)."""
        await self._write(update(BusinessEvent)
                          .where(col(BusinessEvent.customer_id).in_(customer_ids))
                          .values(attrs={}, source_id=None))

    async def erase_audit_details(self, customer_ids: Sequence[int]) -> None:
        """Who did what stays in the audit log; a free-text reason (a block's, a mute's)
        may say things about the person, and goes."""
        res = await self.session.exec(select(AuditEntry).where(
            col(AuditEntry.customer_id).in_(customer_ids)))
        for entry in res.all():
            if "reason" in entry.data:
                entry.data = {k: v for k, v in entry.data.items() if k != "reason"}
                self.session.add(entry)

    async def forget_chat(self, customer_ids: Sequence[int], chat_ids: Sequence[int],
                          case_ids: Sequence[int], staff_chat_ids: Sequence[int]) -> int:
        """The Telegram side: the chat ids on invitations, the buttons and every stored
        message to the chats; and stored staff-group messages about the customers: those of
        their cases (relays carry their words and attachments' file ids) and those that name
        them (a /history reply, a list, a digest). Returns messages removed."""
        await self._write(update(SurveyInvitation)
                          .where(col(SurveyInvitation.customer_id).in_(customer_ids))
                          .values(chat_id=None))  # its message id counts it as delivered
        removed = 0
        if chat_ids:
            await self._write(delete(CallbackKey).where(col(CallbackKey.chat_id).in_(chat_ids)))
            removed += await self._write(
                delete(OutboundMessage).where(col(OutboundMessage.chat_id).in_(chat_ids)))
            # Their updates stored and not yet handled (bot.inbound) hold their words too.
            await self._write(
                delete(InboundUpdate).where(col(InboundUpdate.chat_id).in_(chat_ids)))
        if staff_chat_ids:
            cases, people = set(case_ids), set(customer_ids)
            res = await self.session.exec(
                select(OutboundMessage.id, OutboundMessage.payload, OutboundMessage.state)
                .where(col(OutboundMessage.chat_id).in_(staff_chat_ids)))
            about = []
            for row_id, payload, state in res.all():
                of_case = (payload.get("case_link") or [None])[0] in cases
                named = set(payload.get("about") or ())
                # A digest still waiting that lists others too stays, for them: it is drawn
                # anew without the customer before it goes (handlers/casework.py).
                if of_case or (named & people and (state in _SETTLED or named <= people)):
                    about.append(row_id)
            if about:
                removed += await self._write(
                    delete(OutboundMessage).where(col(OutboundMessage.id).in_(about)))
        return removed

    # --- retention ------------------------------------------------------------------------

    async def purge_texts(self, cutoff: datetime) -> int:
        return await self._write(
            update(Interaction)
            .where(col(Interaction.at) < cutoff, col(Interaction.text).is_not(None))
            .values(text=None))

    async def purge_comments(self, cutoff: datetime) -> int:
        """Written answers and community questions older than `cutoff`."""
        return await self._write(
            update(SurveyAnswer)
            .where(col(SurveyAnswer.answered_at) < cutoff, col(SurveyAnswer.comment).is_not(None))
            .values(comment=None)) + await self._write(
            update(Case)
            .where(col(Case.opened_at) < cutoff, col(Case.question).is_not(None))
            .values(question=None)) + await self._write(
            update(CasePromise)
            .where(col(CasePromise.made_at) < cutoff, col(CasePromise.text).is_not(None))
            .values(text=None))

    async def purge_outbound(self, cutoff: datetime) -> int:
        """Settled outbound messages: their rows hold the texts that were sent."""
        return await self._write(
            delete(OutboundMessage)
            .where(col(OutboundMessage.created_at) < cutoff,
                   col(OutboundMessage.state).in_(_SETTLED)))

    # --- the audit log --------------------------------------------------------------------

    async def audit(self, entry: AuditEntry) -> AuditEntry:
        return await self._add(entry)

    async def audit_since(self, since: datetime, limit: int = 10_000) -> Sequence[AuditEntry]:
        res = await self.session.exec(
            select(AuditEntry).where(col(AuditEntry.at) >= since)
            .order_by(col(AuditEntry.at), col(AuditEntry.id)).limit(limit))
        return res.all()

    async def audit_count(self, customer_id: int, action: str, since: datetime) -> int:
        res = await self.session.exec(
            select(func.count()).select_from(AuditEntry)
            .where(col(AuditEntry.customer_id) == customer_id, col(AuditEntry.action) == action,
                   col(AuditEntry.at) >= since))
        return int(res.one())
