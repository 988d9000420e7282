"""/language: a customer picks the language careloop writes to them in."""

from __future__ import annotations

from careloop.customers import languages
from careloop.handlers.middleware import Press, Request
from careloop.kernel.effects import Edit, Effect, LogAs, Send
from careloop.kernel.languages import own_name
from careloop.kernel.updates import Keyboard
from careloop.storage.models import Customer


async def on_language(req: Request, customer: Customer | None) -> list[Effect]:
    """/language: the languages careloop speaks, each on a button in its own name."""
    if customer is None:
        return [Send(req.chat_id, req._("Hello! Send /start to connect with us."))]
    catalogs = req.ctx.catalogs
    current = catalogs.language_for(customer.language)
    rows = [[await req.ctx.button(("✓ " if language == current else "") + own_name(language),
                                  "language", customer.id, req.chat_id, language)]
            for language in catalogs.languages]
    return [Send(req.chat_id, req._("Which language should I write to you in?"),
                 keyboard=Keyboard.of(*rows), log=LogAs(customer.id))]


async def on_choice(press: Press, customer: Customer) -> list[Effect]:
    """A language button: store the choice and confirm it in the chosen language."""
    if press.subject != customer.id:
        return [press.toast(press._("This button is not for you."))]
    if press.value not in press.ctx.catalogs.languages:  # a language since withdrawn
        return press.no_longer_valid()
    await languages.set_language(press.ctx.uow, press.ctx.now, customer, press.value, "button")
    # TRANSLATORS: "English" is the name of the language of this catalog.
    done = press.ctx.tr(press.value).gettext("Done! From now on I will write to you in English.")
    return [Edit(press.chat_id, press.message_id, done), press.toast()]
