"""A customer's answers to a campaign: the tracked offer button, unsubscribe, and a start
through a campaign's link. Each is counted once per run for the variant they received."""

from __future__ import annotations

from careloop.campaigns import lifecycle as campaigns
from careloop.campaigns.spec import CampaignSpec
from careloop.customers import directory as customers
from careloop.handlers.context import Context
from careloop.handlers.views.campaign_message import in_language
from careloop.kernel.effects import Effect, LogAs, Send, Toast
from careloop.kernel.updates import Button, Keyboard, Update
from careloop.storage.models import Customer, Touch


async def _touch_and_spec(ctx: Context, touch_id: int, customer: Customer
                          ) -> tuple[Touch, CampaignSpec] | None:
    touch = await ctx.uow.touches.get(touch_id)
    if touch is None or touch.customer_id != customer.id or touch.campaign_run_id is None:
        return None
    run = await ctx.uow.campaigns.run(touch.campaign_run_id)
    campaign = await ctx.uow.campaigns.get(run.campaign_id) if run else None
    return (touch, campaigns.spec_of(campaign)) if campaign else None


async def on_offer(update: Update, ctx: Context, customer: Customer, subject: int,
                   value: str) -> list[Effect]:
    """The tracked offer button: counted, then answered with the offer's link."""
    tr = ctx.tr(customer.language)
    assert update.callback_id is not None
    found = await _touch_and_spec(ctx, subject, customer)
    variant = found[1].variant(found[0].variant or "") if found else None
    if found is None or variant is None or variant.button is None:
        return [Toast(update.callback_id, tr.gettext("This button is no longer valid."))]
    await campaigns.respond(ctx.uow, ctx.now, found[0], "tap")
    label = in_language(variant.button.text, tr.language, ctx.catalogs.default)
    return [Toast(update.callback_id),
            Send(update.chat.id, tr.gettext("Here is your offer:"),
                 keyboard=Keyboard.of([Button(label, url=variant.button.url)]),
                 log=LogAs(customer.id))]  # type: ignore[arg-type]


async def on_unsubscribe(update: Update, ctx: Context, customer: Customer, subject: int,
                         value: str) -> list[Effect]:
    """One tap: no more offers, at once. Care messages and surveys are not affected."""
    _ = ctx.tr(customer.language).gettext
    assert update.callback_id is not None
    found = await _touch_and_spec(ctx, subject, customer)
    if found is None:
        return [Toast(update.callback_id, _("This button is no longer valid."))]
    changed = await customers.set_marketing_consent(ctx.uow, ctx.now, customer, False,
                                                    "unsubscribe button")
    await campaigns.respond(ctx.uow, ctx.now, found[0], "unsubscribe")
    if not changed:
        return [Toast(update.callback_id, _("You are already unsubscribed from offers."))]
    return [Toast(update.callback_id, _("Unsubscribed.")),
            Send(update.chat.id, _(
                "Done: you will get no more offers from us. Messages about your purchases "
                "and services are not affected."), log=LogAs(customer.id))]  # type: ignore[arg-type]


async def on_test_button(update: Update, ctx: Context, customer: Customer | None,
                         subject: int, value: str) -> list[Effect]:
    """A button on a marketer's test message: it does nothing but say so."""
    language = customer.language if customer else update.user.language_code
    assert update.callback_id is not None
    return [Toast(update.callback_id, ctx.tr(language).gettext(
        "This is a test message: its buttons do nothing."))]


async def count_start(ctx: Context, customer: Customer, campaign_id: int) -> None:
    """A start through the campaign's link, counted for a customer it reached."""
    assert customer.id is not None
    touch = await ctx.uow.campaigns.received(campaign_id, customer.id)
    if touch is not None:
        await campaigns.respond(ctx.uow, ctx.now, touch, "start")
