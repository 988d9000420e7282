"""A campaign as one customer would get it now: the variant drawn for them, their language,
their name filled in, the buttons, and why they would not get it, if they would not.
`careloop campaigns preview` prints it; the playground shows it beside each customer."""

from __future__ import annotations

from dataclasses import dataclass

from careloop.campaigns import lifecycle as campaigns
from careloop.campaigns.variants import draw
from careloop.care.contact import consent_problem
from careloop.handlers.context import Context
from careloop.handlers.views.campaign_message import CampaignMessage, campaign_message, values_of
from careloop.storage.models import Campaign, Category, Customer


@dataclass(frozen=True, slots=True)
class Preview:
    variant: str
    language: str  # the catalog the customer reads
    message: CampaignMessage
    problem: str | None  # why this customer would not get it now (care.contact's words)


async def preview(ctx: Context, campaign: Campaign, customer: Customer) -> Preview:
    """Stores the buttons' keys in ctx's unit of work, like a real send would: the caller
    rolls it back, so a preview leaves nothing behind."""
    assert campaign.id is not None
    spec = campaigns.spec_of(campaign)
    variant = draw(spec.variants, campaign.id, customer.id)
    shown = await campaign_message(ctx, campaign.id, variant, customer.language,
                                   values_of(customer), customer.chat_id or 0, 0, test=True)
    return Preview(variant.name, ctx.tr(customer.language).language, shown,
                   consent_problem(customer, Category.MARKETING))
