"""/mydata sends the customer everything careloop keeps about them as a JSON document;
/forget erases it after a confirmation."""

from __future__ import annotations

import json

from careloop.customers import audit, consent, privacy
from careloop.handlers.casework import redraw_after_erasure
from careloop.handlers.middleware import Press, Request
from careloop.kernel.effects import Edit, Effect, LogAs, Send
from careloop.kernel.updates import Keyboard, Upload
from careloop.storage.models import Customer


async def on_mydata(req: Request, customer: Customer | None) -> list[Effect]:
    """/mydata: the export as a file with a short readable summary, a few times a day."""
    ctx, tr, _ = req.ctx, req.tr, req._
    if customer is None:
        return [Send(req.chat_id, _("We keep no data about you. Send /start to connect "
                                       "with us."))]
    per_day = ctx.config.export_per_day
    if await privacy.exports_left(ctx.uow, ctx.now, customer, per_day) == 0:
        return [Send(req.chat_id, tr.ngettext(
            "You can ask for your data {n} time a day. Please try again tomorrow.",
            "You can ask for your data {n} times a day. Please try again tomorrow.",
            per_day).format(n=per_day), log=LogAs(customer.id))]
    exported = await privacy.export(ctx.uow, customer)
    await audit.log(ctx.uow, ctx.now, audit.Actor.CUSTOMER, audit.Action.EXPORTED, customer.id)
    counts = exported.counts
    on, off = _("on"), _("off")
    summary = "\n".join([
        _("Here is everything we keep about you, as a JSON file:"),
        _("• profile: name, language, time zone, tier"),
        tr.ngettext("• {n} entry in your history", "• {n} entries in your history",
                    counts["timeline"]).format(n=counts["timeline"]),
        tr.ngettext("• {n} survey answer", "• {n} survey answers",
                    counts["answers"]).format(n=counts["answers"]),
        tr.ngettext("• {n} support case", "• {n} support cases",
                    counts["cases"]).format(n=counts["cases"]),
        _("• care messages and surveys: {service}; offers and news: {marketing}").format(
            service=on if consent.granted(customer, consent.ConsentCategory.SERVICE) else off,
            marketing=on if consent.granted(customer, consent.ConsentCategory.MARKETING)
            else off),
        "",
        _("/forget erases it."),
    ])
    data = json.dumps(exported.document, ensure_ascii=False, indent=2).encode("utf-8")
    name = f"my-data-{ctx.now:%Y-%m-%d}.json"
    return [Send(req.chat_id, summary, upload=Upload(name, data),
                 log=LogAs(customer.id, kind="export"))]


async def on_forget(req: Request, customer: Customer | None) -> list[Effect]:
    """/forget: asks first; erasure cannot be undone."""
    _ = req._
    if customer is None:
        return [Send(req.chat_id, _("We keep no data about you."))]
    chat = req.chat_id
    keyboard = Keyboard.of(
        [await req.ctx.button(_("Yes, erase my data"), "forget", customer.id, chat, "yes")],
        [await req.ctx.button(_("No, keep it"), "forget", customer.id, chat, "no")],
    )
    return [Send(chat, _(
        "Erase your data? We will delete your name, your Telegram account's link, your "
        "messages and your written answers, and stop every message from us. Anonymous "
        "numbers (scores, counts, times) stay. This cannot be undone."), keyboard=keyboard,
        log=LogAs(customer.id))]


async def on_forget_answer(press: Press, customer: Customer) -> list[Effect]:
    ctx, _ = press.ctx, press._
    if press.subject != customer.id:
        return [press.toast(_("This button is not for you."))]
    if press.value != "yes":
        return [Edit(press.chat_id, press.message_id, _("All right, nothing was erased.")),
                press.toast()]
    await privacy.erase(ctx.uow, ctx.now, customer, audit.Actor.CUSTOMER,
                        ctx.config.staff_chats(), secret=ctx.config.link_secret)
    # Not logged to the timeline: there is no one left to log it for.
    effects: list[Effect] = [Edit(press.chat_id, press.message_id, _(
        "Done: your data has been erased. If you write to us again, you start as a new "
        "customer.")), press.toast()]
    # The cards, topics and digests in the staff group show the name and the comment: they
    # are redrawn without.
    return effects + await redraw_after_erasure(ctx, customer.id)
