"""A campaign as one customer would get it now: whether they are in its segment, the
variant drawn for them, the language its text is in, their name filled in, the buttons,
and why they would not get it, if they would not. Decided by the code a run decides with.
`careloop campaigns preview` prints it; the playground shows it beside each customer."""

from __future__ import annotations

from dataclasses import dataclass

from careloop.campaigns import lifecycle as campaigns
from careloop.campaigns.spec import CampaignSpec
from careloop.handlers.context import Context
from careloop.handlers.views.campaign_message import CampaignMessage, campaign_message, values_of
from careloop.storage.models import Campaign, Customer

# Why a customer outside the segment would not get the campaign (care.contact's words for
# the other reasons).
NOT_IN_SEGMENT = "not in the campaign's segment"


@dataclass(frozen=True, slots=True)
class Preview:
    spec: CampaignSpec
    variant: str
    reads: str  # the catalog the customer reads
    message: CampaignMessage  # message.language: the text's (the fallback when it lacks `reads`)
    problem: str | None  # why this customer would not get it now, NOT_IN_SEGMENT among them

    @property
    def in_segment(self) -> bool:
        return self.problem != NOT_IN_SEGMENT


async def preview(ctx: Context, campaign: Campaign, customer: Customer) -> Preview:
    """Stores the buttons' keys in ctx's unit of work, like a real send would: the caller
    rolls it back, so a preview leaves nothing behind."""
    assert campaign.id is not None
    spec = campaigns.spec_of(campaign)
    # The very choices a run makes: the segment and the contact rules, the variant, and (in
    # campaign_message, which the sender renders through) the language.
    place = await campaigns.placement(ctx.uow, spec, customer, ctx.now)
    variant = campaigns.variant_for(spec, campaign.id, customer.id)
    shown = await campaign_message(ctx, campaign.id, variant, customer.language,
                                   values_of(customer), customer.chat_id or 0, 0, test=True)
    problem = place.excluded if place.in_segment else NOT_IN_SEGMENT
    return Preview(spec, variant.name, ctx.tr(customer.language).language, shown, problem)
