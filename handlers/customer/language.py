"""/language: a customer picks the language careloop writes to them in."""

from __future__ import annotations

from careloop.customers import languages
from careloop.handlers.context import Context
from careloop.kernel.effects import Edit, Effect, LogAs, Send, Toast
from careloop.kernel.languages import own_name
from careloop.kernel.updates import Keyboard, Update
from careloop.storage.models import Customer


async def on_language(update: Update, ctx: Context, customer: Customer | None) -> list[Effect]:
    """/language: the languages careloop speaks, each on a button in its own name."""
    _ = ctx.tr(customer.language if customer else update.user.language_code).gettext
    if customer is None or customer.id is None:
        return [Send(update.chat.id, _("Hello! Send /start to connect with us."))]
    current = ctx.catalogs.language_for(customer.language)
    rows = [[await ctx.button(("✓ " if language == current else "") + own_name(language),
                              "language", customer.id, update.chat.id, language)]
            for language in ctx.catalogs.languages]
    return [Send(update.chat.id, _("Which language should I write to you in?"),
                 keyboard=Keyboard.of(*rows), log=LogAs(customer.id))]


async def on_choice(
    update: Update, ctx: Context, customer: Customer, subject: int, value: str
) -> list[Effect]:
    """A language button: store the choice and confirm it in the chosen language."""
    assert update.callback_id is not None and update.message_id is not None
    _ = ctx.tr(customer.language).gettext
    if subject != customer.id:
        return [Toast(update.callback_id, _("This button is not for you."))]
    if value not in ctx.catalogs.languages:  # a language since withdrawn
        return [Toast(update.callback_id, _("This button is no longer valid."))]
    await languages.set_language(ctx.uow, ctx.now, customer, value, "button")
    # TRANSLATORS: "English" is the name of the language of this catalog.
    done = ctx.tr(value).gettext("Done! From now on I will write to you in English.")
    return [Edit(update.chat.id, update.message_id, done), Toast(update.callback_id)]
