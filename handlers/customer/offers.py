"""A customer's answers to a campaign: the tracked offer button, unsubscribe, and a start
through a campaign's link. Each is counted once per run for the variant they received."""

from __future__ import annotations

from careloop.campaigns import lifecycle as campaigns
from careloop.campaigns.spec import CampaignSpec
from careloop.customers import directory as customers
from careloop.handlers.context import Context
from careloop.handlers.middleware import Press
from careloop.handlers.views.campaign_message import in_language, message_language
from careloop.kernel.effects import Effect, LogAs, Send
from careloop.kernel.updates import Button, Keyboard
from careloop.storage.models import Customer, Touch


async def _touch_and_spec(ctx: Context, touch_id: int, customer: Customer
                          ) -> tuple[Touch, CampaignSpec] | None:
    touch = await ctx.uow.touches.get(touch_id)
    if touch is None or touch.customer_id != customer.id or touch.campaign_run_id is None:
        return None
    run = await ctx.uow.campaigns.run(touch.campaign_run_id)
    campaign = await ctx.uow.campaigns.get(run.campaign_id) if run else None
    return (touch, campaigns.spec_of(campaign)) if campaign else None


async def on_offer(press: Press, customer: Customer) -> list[Effect]:
    """The tracked offer button: counted, then answered with the offer's link."""
    ctx = press.ctx
    found = await _touch_and_spec(ctx, press.subject, customer)
    variant = found[1].variant(found[0].variant or "") if found else None
    if found is None or variant is None or variant.button is None:
        return press.no_longer_valid()
    await campaigns.respond(ctx.uow, ctx.now, found[0], "tap")
    shown_in = message_language(variant, press.tr.language, ctx.catalogs.default)
    label = in_language(variant.button.text, shown_in, ctx.catalogs.default)
    return [press.toast(),
            Send(press.chat_id, press._("Here is your offer:"),
                 keyboard=Keyboard.of([Button(label, url=variant.button.url)]),
                 log=LogAs(customer.id))]


async def on_unsubscribe(press: Press, customer: Customer) -> list[Effect]:
    """One tap: no more offers, at once. Care messages and surveys are not affected."""
    ctx, _ = press.ctx, press._
    found = await _touch_and_spec(ctx, press.subject, customer)
    if found is None:
        return press.no_longer_valid()
    changed = await customers.set_marketing_consent(ctx.uow, ctx.now, customer, False,
                                                    "unsubscribe button")
    await campaigns.respond(ctx.uow, ctx.now, found[0], "unsubscribe")
    if not changed:
        return [press.toast(_("You are already unsubscribed from offers."))]
    return [press.toast(_("Unsubscribed.")),
            Send(press.chat_id, _(
                "Done: you will get no more offers from us. Messages about your purchases "
                "and services are not affected."), log=LogAs(customer.id))]


async def on_test_button(press: Press) -> list[Effect]:
    """A button on a marketer's test message: it does nothing but say so."""
    return [press.toast(press._("This is a test message: its buttons do nothing."))]


async def count_start(ctx: Context, customer: Customer, campaign_id: int) -> None:
    """A start through the campaign's link, counted for a customer it reached."""
    touch = await ctx.uow.campaigns.received(campaign_id, customer.id)
    if touch is not None:
        await campaigns.respond(ctx.uow, ctx.now, touch, "start")
