"""A touch as its customer will see it: a care message, a survey's question with its buttons,
a reminder of a survey, or a campaign's message. The outbox sender renders each touch it
claims through this, in the claim's unit of work (bot.app hands it over)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from careloop.campaigns import lifecycle as campaigns
from careloop.campaigns.spec import CampaignSpec
from careloop.care.playbook.model import SURVEY_REMINDER
from careloop.cases.callback import CALLBACK_PURPOSE
from careloop.handlers.context import Context, ContextFactory
from careloop.handlers.views.campaign_message import campaign_message, values_of
from careloop.handlers.views.render import (
    callback_intro,
    care_text,
    survey_prompt,
    survey_reminder,
)
from careloop.kernel.updates import Keyboard
from careloop.storage.models import Campaign, CampaignState, Customer, SurveyInvitation, Touch
from careloop.storage.uow import UnitOfWork
from careloop.surveys.invitations import reminded_invitation
from careloop.surveys.lifecycle import reminder_wanted


@dataclass(frozen=True, slots=True)
class TouchMessage:
    text: str
    keyboard: Keyboard | None = None
    invitation_id: int | None = None  # a survey's: its message id is kept when it is sent
    reply_to: int | None = None  # a reminder answers its survey's message
    photo: str | None = None  # a campaign's picture: `text` is its caption


class TouchViews:
    """For each claimed group of touches, the view that renders them."""

    def __init__(self, contexts: ContextFactory) -> None:
        self._contexts = contexts

    def __call__(self, uow: UnitOfWork, now: datetime) -> TouchView:
        return TouchView(self._contexts(uow, now))


class TouchView:
    """Renders the touches of one claimed group; a survey's invitation is created in the
    claim's unit of work, and each campaign is read once for all its messages."""

    def __init__(self, ctx: Context) -> None:
        self._ctx = ctx
        self._campaigns: dict[int, tuple[Campaign, CampaignSpec]] = {}

    async def __call__(self, touch: Touch, customer: Customer) -> TouchMessage | str:
        """The message to send, or why there is none after all."""
        ctx = self._ctx
        assert customer.chat_id is not None
        if touch.campaign_run_id is not None:
            return await self._campaign(touch, customer)
        if touch.template == SURVEY_REMINDER:
            return await self._reminder(touch, customer)
        if touch.survey_key is None:
            text = care_text(ctx, touch.template, customer)
            if text is None:  # taken out of the script library since it was scheduled
                return f"unknown care message {touch.template!r}"
            return TouchMessage(text)
        definition = ctx.surveys.get(touch.survey_key)
        if definition is None:  # taken out of the survey file since it was scheduled
            return f"unknown survey {touch.survey_key!r}"
        invitation = await ctx.uow.surveys.add_invitation(SurveyInvitation(
            customer_id=customer.id, touch_id=touch.id, survey_key=touch.survey_key,
            purpose=touch.purpose, chat_id=customer.chat_id, sent_at=ctx.now,
        ))
        text, keyboard = await survey_prompt(ctx, customer, invitation, definition)
        if touch.purpose == CALLBACK_PURPOSE:
            text = callback_intro(ctx.tr(customer.language), text)
        return TouchMessage(text, keyboard, invitation.id)

    async def _reminder(self, touch: Touch, customer: Customer) -> TouchMessage | str:
        """A reply to the survey's own message, so its buttons are the ones to press."""
        invitation_id = reminded_invitation(touch.idempotency_key)
        uow = self._ctx.uow
        invitation = await uow.surveys.invitation(invitation_id) if invitation_id else None
        if invitation is None or not reminder_wanted(invitation.state):
            return "survey answered or closed"
        return TouchMessage(survey_reminder(self._ctx.tr(customer.language)),
                            reply_to=invitation.message_id)

    async def _campaign(self, touch: Touch, customer: Customer) -> TouchMessage | str:
        assert customer.chat_id is not None and touch.campaign_run_id is not None
        campaign, spec = await self._campaign_of(touch.campaign_run_id)
        variant = spec.variant(touch.variant or "")
        if campaign.state == CampaignState.CANCELLED or variant is None:
            return "campaign cancelled"
        shown = await campaign_message(self._ctx, campaign.id, variant, customer.language,
                                       values_of(customer), customer.chat_id, touch.id)
        return TouchMessage(shown.text, shown.keyboard, photo=shown.photo)

    async def _campaign_of(self, run_id: int) -> tuple[Campaign, CampaignSpec]:
        if run_id not in self._campaigns:
            run = await self._ctx.uow.campaigns.run(run_id)
            campaign = await self._ctx.uow.campaigns.get(run.campaign_id) if run else None
            assert campaign is not None
            self._campaigns[run_id] = (campaign, campaigns.spec_of(campaign))
        return self._campaigns[run_id]
