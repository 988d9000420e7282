"""/settings: each consent category, when it was given and under which text, with a button
to change it."""

from __future__ import annotations

from html import escape

from careloop.customers import consent
from careloop.customers.consent import ConsentCategory
from careloop.handlers.context import Context, HandlerConfig
from careloop.handlers.customer import preferences
from careloop.handlers.customer.preferences import preference_lines, preference_rows
from careloop.handlers.middleware import Press, Request
from careloop.kernel.effects import Edit, Effect, LogAs, Send
from careloop.kernel.i18n import N_, Translator
from careloop.kernel.updates import Keyboard
from careloop.storage.models import Customer

CATEGORY_NAMES = {
    ConsentCategory.SERVICE: N_("Care messages and surveys"),
    ConsentCategory.MARKETING: N_("Offers and news"),
}


def settings_text(tr: Translator, customer: Customer, config: HandlerConfig) -> str:
    _ = tr.gettext
    # A plain literal inside _(): the extractor does not look into f-strings, so a text
    # marked there never reaches the catalogs and stays English.
    lines = ["<b>" + escape(_("Your settings")) + "</b>"]
    for category, name in CATEGORY_NAMES.items():
        at = consent.since(customer, category)
        if consent.granted(customer, category):
            # The version of the consent text stays in the records (/mydata, the audit):
            # it is an internal id, not something the customer can read.
            state = _("on since {date}").format(
                date=tr.datetime(at, customer.timezone) if at else "—")
        elif at is not None:
            state = _("off since {date}").format(date=tr.datetime(at, customer.timezone))
        else:
            state = _("off")
        lines.append(f"{escape(_(name))}: {state}")
    lines += [escape(line) for line in preference_lines(tr, customer, config)]
    lines += ["", _("Change them with the buttons below. /mydata sends you everything we keep "
                    "about you; /forget erases it.")]
    return "\n".join(lines)


async def settings_keyboard(ctx: Context, tr: Translator, customer: Customer) -> Keyboard:
    _ = tr.gettext
    assert customer.chat_id is not None
    rows = []
    for category in ConsentCategory:
        on = consent.granted(customer, category)
        label = {
            (ConsentCategory.SERVICE, True): _("Stop care messages and surveys"),
            (ConsentCategory.SERVICE, False): _("Allow care messages and surveys"),
            (ConsentCategory.MARKETING, True): _("Stop offers and news"),
            (ConsentCategory.MARKETING, False): _("Allow offers and news"),
        }[(category, on)]
        value = f"{category.value}:{'off' if on else 'on'}"
        rows.append([await ctx.button(label, "consent_set", customer.id, customer.chat_id,
                                      value)])
    rows += await preference_rows(ctx, tr, customer)
    return Keyboard.of(*rows)


async def on_settings(req: Request, customer: Customer | None) -> list[Effect]:
    """/settings: the consents, each with its time and text version, and buttons."""
    if customer is None or customer.chat_id is None:
        return [Send(req.chat_id, req._("Hello! Send /start to connect with us."))]
    return [Send(req.chat_id, settings_text(req.tr, customer, req.ctx.config),
                 keyboard=await settings_keyboard(req.ctx, req.tr, customer),
                 log=LogAs(customer.id))]


async def on_consent_set(press: Press, customer: Customer) -> list[Effect]:
    """A /settings button: one category on or off."""
    name, _sep, state = press.value.partition(":")
    if (press.subject != customer.id or name not in set(ConsentCategory)
            or state not in ("on", "off")):
        return press.no_longer_valid()
    ctx = press.ctx
    await consent.set_consent(ctx.uow, ctx.now, customer, name, state == "on", "/settings")
    return [Edit(press.chat_id, press.message_id, settings_text(press.tr, customer, ctx.config),
                 await settings_keyboard(ctx, press.tr, customer)),
            press.toast(press._("Saved."))]


async def on_preference(press: Press, customer: Customer) -> list[Effect]:
    """A /settings preference button: open a choice, or make one."""
    ctx = press.ctx
    if press.subject != customer.id or customer.chat_id is None:
        return press.no_longer_valid()
    if press.value in ("quiet", "often"):
        _ = press._
        title = (_("When should we not write to you? We keep our own quiet hours too.")
                 if press.value == "quiet" else _("How often may we write to you?"))
        return [Edit(press.chat_id, press.message_id, title,
                     await preferences.choices(ctx, press.tr, customer, press.value)),
                press.toast()]
    choice = preferences.parse_choice(press.value, ctx.config)
    if choice is None:
        return press.no_longer_valid()
    await preferences.choose(ctx, customer, *choice)
    return [Edit(press.chat_id, press.message_id, settings_text(press.tr, customer, ctx.config),
                 await settings_keyboard(ctx, press.tr, customer)),
            press.toast(press._("Saved."))]
