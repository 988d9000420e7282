"""`careloop demo`: the whole loop on a sandbox Telegram, a temporary database and a
hand-driven clock. Nothing to set up, no token, no real waiting.

With --locale the customers' Telegram apps, the staff group and the narration are in that
language; the customers' language reaches careloop only through Telegram's language_code.
"""

from __future__ import annotations

import sys
import tempfile
import time
import unicodedata
from pathlib import Path
from typing import TextIO

from careloop.bot.app import Storage
from careloop.care.scripts.loader import shipped
from careloop.handlers.community import WELCOME_WINDOW
from careloop.handlers.views.reporting import report_text
from careloop.kernel.i18n import Catalogs, Translator
from careloop.kernel.languages import telegram_code
from careloop.sandbox import SandboxMessage
from careloop.sandbox.stage import Stage
from careloop.surveys.reports import build_report

# No language column: each customer's language comes from their Telegram app.
CUSTOMERS_CSV = (
    "external_id,name,tier,language,timezone,birthday,tags\n"
    "C-1001,Mei Chen,gold,,Asia/Shanghai,1991-04-18,coffee\n"
    "C-1002,Tom Baker,standard,,Europe/London,,\n"
    "C-1003,Olga Ivanova,vip,,Europe/Moscow,,returning\n"
)


def reader_language(catalogs: Catalogs, locale: str | None) -> str | None:
    """The catalog `--locale` asks for (English when it is not given); None, said in one
    line, when there is no catalog for it."""
    language = catalogs.normalize(locale) if locale else "en"
    if language is None:
        print(f"careloop: error: --locale {locale!r}: no catalog; available: "
              f"{', '.join(catalogs.languages)}", file=sys.stderr)
    return language


async def run_demo(locale: str | None = None, out: TextIO | None = None) -> int:
    stream = out or sys.stdout
    catalogs = Catalogs()
    if (language := reader_language(catalogs, locale)) is None:
        return 2
    tr = catalogs.translator(language)
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="careloop-demo-") as tmp:
        stage = await Stage.open(Path(tmp), language=language, staff_language=language,
                                 group_title=tr.gettext("Care team"),
                                 community_title=tr.gettext("Our community"))
        try:
            await _play(stage, tr, stream)
        finally:
            await stage.close()
    seconds = tr.decimal(time.monotonic() - started, "0.0")
    _say(stream, "\n" + tr.gettext("(demo finished in {seconds} s of real time)").format(
        seconds=seconds))
    return 0


def _say(stream: TextIO, line: str = "") -> None:
    print(line, file=stream)


async def _play(stage: Stage, tr: Translator, stream: TextIO) -> None:
    say = lambda line="": _say(stream, line)  # noqa: E731
    # The narration and the people's words are in the demo's language. The demo finds the
    # bot's messages and buttons by their translations too, so a catalog that lacks one of
    # the bot's texts stops the demo.
    _ = tr.gettext
    sb = stage.sandbox
    lin, max_, sam = stage.staff
    await stage.import_customers(CUSTOMERS_CSV)
    await stage.add_staff(lin, "lead")
    await stage.add_staff(max_, "agent")  # Sam is in the group but not registered as staff
    await stage.start_bot()
    say(_("careloop demo: a sandbox Telegram, 3 customers, a staff group; the clock is "
          "simulated."))
    say()

    app_language = telegram_code(tr.language)
    people = {"C-1001": stage.customer("Mei", app_language),
              "C-1002": stage.customer("Tom", app_language),
              "C-1003": stage.customer("Olga", app_language)}
    mei, tom, olga = people.values()

    say(_("1. Each customer opens their personal link and agrees to be contacted."))
    yes = _("✅ Yes, keep in touch")
    for external_id, person in people.items():
        await stage.say(person, f"/start {await stage.link(external_id)}")
        await stage.press(person, await stage.bot_offers(person.id, yes), yes)

    say(_("2. The shop reports a purchase for each of them."))
    for external_id in people:
        await stage.event(external_id, "purchase")

    say(_("3. Three days later each of them is asked for a CSAT score."))
    stage.advance(days=3, minutes=1)
    csat = stage.surveys["csat"]
    question = csat.question.show(tr, tr.language)
    surveys = {p.id: await stage.bot_says(p.id, question) for p in people.values()}

    say(_("4. {mei} and {tom} are happy; {olga} is not, and says why.").format(
        mei=mei.first_name, tom=tom.first_name, olga=olga.first_name))
    await stage.press(mei, surveys[mei.id], csat.label(5, tr, tr.language))
    await stage.press(tom, surveys[tom.id], csat.label(4, tr, tr.language))
    await stage.press(olga, surveys[olga.id], csat.label(1, tr, tr.language))
    quality = _("Product quality")
    await stage.press(olga, await stage.bot_offers(olga.id, quality), quality)
    await stage.bot_offers(olga.id, _("Skip"))
    await stage.say(olga, _("The kettle arrived with a cracked lid & no receipt."))
    card = await stage.bot_says(stage.staff_chat, _("🚨 Case #{id} · urgent").format(id=1))

    # Names are placeholders, never part of a translation: a translator cannot spell one
    # person two ways.
    say(_("5. In the staff group, {sam} (not registered) cannot claim it; {max} can, and "
          "answers.").format(sam=sam.first_name, max=max_.first_name))
    toast = await stage.press(sam, card, _("🙋 Claim"))
    # The quoted toast loses its full stop: where it goes is the language's rule
    # (Russian puts it after the closing «»).
    say("   " + _("{name}'s tap is refused: “{toast}.”").format(
        name=sam.first_name, toast=_without_full_stop(toast or "")))
    await stage.press(max_, card, _("🙋 Claim"))
    answer = _("So sorry, {name}! A new lid is on its way today.").format(
        name=olga.first_name)
    await stage.say(max_, answer, chat_id=stage.staff_chat, reply_to=card.message_id)
    await stage.bot_says(olga.id, answer)
    mark = stage.last_id(stage.staff_chat)
    question = _("Thanks. Will it come with the receipt?")
    await stage.say(olga, question)
    await stage.bot_says(stage.staff_chat, question, after=mark)

    say(_("6. {max} resolves; {olga} says it is not resolved yet, so the case reopens.").format(
        max=max_.first_name, olga=olga.first_name))
    card = _current(stage, card)
    await stage.press(max_, card, _("✅ Resolve"))
    not_yet = _("No, not yet")
    await stage.press(olga, await stage.bot_offers(olga.id, not_yet), not_yet)
    await stage.bot_says(stage.staff_chat, _(
        "⚠️ Case #{id} reopened: the customer says it is not resolved.").format(id=1))
    card = _current(stage, card)
    answer = _("The receipt is in your email now.")
    await stage.say(max_, answer, chat_id=stage.staff_chat, reply_to=card.message_id)
    await stage.bot_says(olga.id, answer)
    await stage.press(max_, _current(stage, card), _("✅ Resolve"))
    resolved = _("Yes, resolved")  # the earlier question lost its buttons when answered
    await stage.press(olga, await stage.bot_offers(olga.id, resolved), resolved)
    await stage.bot_says(stage.staff_chat, _(
        "✅ Case #{id}: the customer confirmed it is resolved.").format(id=1))

    say(_("7. A week after the purchase, at 10:00 in their own timezones, tips arrive."))
    stage.advance(days=5)
    for person in people.values():
        await stage.bot_says(person.id, shipped().care_text(
            "purchase_tips", stage.settings.language, name=person.first_name))

    say(_("8. {tom} joins the shop's community group: a welcome greets the newcomers, and "
          "his question to the bot there becomes a case. The group never sees who asked "
          "what.").format(tom=tom.first_name))
    community = stage.community_chat
    assert community is not None
    await stage.join(tom)
    stage.advance(seconds=WELCOME_WINDOW.total_seconds() + 1)  # joins close together share it
    await stage.bot_says(community, tr.ngettext(
        "👋 A warm welcome to {n} new member!", "👋 A warm welcome to {n} new members!", 1
    ).format(n=1))
    asked = _("Does the gold membership include free delivery?")
    await stage.post(tom, f"@{sb.bot.username} {asked}")
    await stage.bot_says(community, _(
        "Thank you! I have passed your question to our team. They will answer you in a "
        "private chat with me: tap below to open it."))
    await stage.bot_says(stage.staff_chat, asked)
    await stage.quiet()

    names = {u.id: u.first_name for u in (*people.values(), lin, max_, sam)}
    say()
    for person in people.values():
        _transcript(stage, tr, person.id,
                    _("Private chat with {name}").format(name=person.first_name), names, stream)
    title = _("Staff group “{title}”").format(title=_("Care team"))
    _transcript(stage, tr, stage.staff_chat, title, names, stream)
    title = _("Community group “{title}”").format(title=_("Our community"))
    _transcript(stage, tr, community, title, names, stream)
    heading = _("Closing report")
    say(heading)
    say("-" * _width(heading))
    say(await _report(stage.storage, stage, tr))
    say()
    say(_("Bot API requests: {requests}, refused by the spec check: {refused}").format(
        requests=len(sb.requests), refused=len(sb.rejected())))


def _current(stage: Stage, message: SandboxMessage) -> SandboxMessage:
    """The message as the chat shows it now (buttons change when a card is edited)."""
    return next(m for m in stage.sandbox.messages(message.chat_id)
                if m.message_id == message.message_id)


def _width(text: str) -> int:
    """Columns on a terminal: wide and full-width characters (CJK) take two. Ambiguous
    ones (curly quotes, «») take one, as terminals outside CJK legacy modes show them."""
    return sum(2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1 for ch in text)


def _without_full_stop(text: str) -> str:
    return text[:-1] if text.endswith((".", "。")) else text


def _transcript(stage: Stage, tr: Translator, chat_id: int, title: str, names: dict[int, str],
                stream: TextIO) -> None:
    _ = tr.gettext
    bot = _("bot")
    # TRANSLATORS: an edited message, shown as it reads now after the one first sent.
    edited = _("↳ edited: {text}")
    _say(stream, title)
    _say(stream, "-" * _width(title))
    service = {"new_chat_members": "→ " + _("joined the group"),
               "left_chat_member": "← " + _("left the group")}
    for m in stage.sandbox.messages(chat_id):
        who = bot if m.from_bot else names.get(m.sender_id, str(m.sender_id))
        if m.service in service:
            _say(stream, f"{who:>5}: {service[m.service]}")
            continue
        # An edited message is shown as it was first sent, then as it reads now.
        versions = [*m.history, m.content] if m.edited else [m.content]
        for i, text in enumerate(versions):
            shown = (text or "").replace("\n", "\n       ")
            _say(stream, f"{who:>5}: {shown}" if i == 0
                 else "       " + edited.format(text=shown))
        for row in m.buttons:
            _say(stream, "       " + "  ".join(f"[{label}]" for label, _data in row))
    _say(stream)


async def _report(storage: Storage, stage: Stage, tr: Translator) -> str:
    async with storage.uow() as uow:
        report = await build_report(uow, stage.clock.now(), 30)
    return report_text(tr, report, stage.settings.timezone,
                       reason_label=stage.surveys.reason_label(tr, tr.language))
