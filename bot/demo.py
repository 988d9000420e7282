"""`careloop demo`: the whole loop on a sandbox Telegram, a temporary database and a
hand-driven clock. Nothing to set up, no token, no real waiting."""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

from bot.app import Storage
from bot.i18n import Catalogs
from bot.reporting import report_text
from bot.sandbox import SandboxMessage
from bot.services.reports import build_report
from bot.stage import Stage

CUSTOMERS_CSV = (
    "external_id,name,tier,language,timezone,birthday,tags\n"
    "C-1001,Mei Chen,gold,{lang},Asia/Shanghai,1991-04-18,coffee\n"
    "C-1002,Tom Baker,standard,{lang},Europe/London,,\n"
    "C-1003,Olga Ivanova,vip,{lang},Europe/Moscow,,returning\n"
)


async def run_demo(locale: str | None = None, out: object = None) -> int:
    stream = out or sys.stdout
    catalogs = Catalogs()
    language = catalogs.normalize(locale) if locale else "en"
    if language is None:
        print(f"careloop: error: --locale {locale!r}: no catalog; available: "
              f"{', '.join(catalogs.languages)}", file=sys.stderr)
        return 2
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="careloop-demo-") as tmp:
        stage = await Stage.open(Path(tmp), staff_language=language)
        try:
            await _play(stage, language, stream)
        finally:
            await stage.close()
    print(f"\n(demo finished in {time.monotonic() - started:.1f}s of real time)", file=stream)
    return 0


def _say(stream: object, line: str = "") -> None:
    print(line, file=stream)  # type: ignore[call-overload]


async def _play(stage: Stage, language: str, stream: object) -> None:
    say = lambda line="": _say(stream, line)  # noqa: E731
    sb = stage.sandbox
    lin, max_, sam = stage.staff
    await stage.import_customers(CUSTOMERS_CSV.format(lang=language))
    await stage.add_staff(lin, "lead")
    await stage.add_staff(max_, "agent")  # Sam is in the group but not registered as staff
    await stage.start_bot()
    say("careloop demo: a sandbox Telegram, 3 customers, a staff group; the clock is simulated.")
    say()

    people = {"C-1001": stage.customer("Mei", language),
              "C-1002": stage.customer("Tom", language),
              "C-1003": stage.customer("Olga", language)}
    mei, tom, olga = people.values()

    say("1. Each customer opens their personal link and agrees to be contacted.")
    for external_id, person in people.items():
        await stage.say(person, f"/start {await stage.link(external_id)}")
        question = await stage.bot_says(person.id, "May we message you?")
        await stage.press(person, question, "Yes")

    say("2. The shop reports a purchase for each of them.")
    for external_id in people:
        await stage.event(external_id, "purchase")

    say("3. Three days later each of them is asked for a CSAT score.")
    stage.advance(days=3, minutes=1)
    surveys = {p.id: await stage.bot_says(p.id, "How satisfied") for p in people.values()}

    say("4. Mei and Tom are happy; Olga is not, and says why.")
    await stage.press(mei, surveys[mei.id], "5")
    await stage.press(tom, surveys[tom.id], "4")
    await stage.press(olga, surveys[olga.id], "1")
    await stage.bot_says(olga.id, "What went wrong?")
    await stage.say(olga, "The kettle arrived with a cracked lid & no receipt.")
    card = await stage.bot_says(stage.staff_chat, "Case #1")

    say("5. In the staff group, Sam (not registered) cannot claim it; Max can, and answers.")
    toast = await stage.press(sam, card, "Claim")
    say(f"   Sam's tap is refused: “{toast}”")
    await stage.press(max_, card, "Claim")
    await stage.say(max_, "So sorry, Olga! A new lid is on its way today.",
                    chat_id=stage.staff_chat, reply_to=card.message_id)
    await stage.bot_says(olga.id, "A new lid is on its way")
    mark = stage.last_id(stage.staff_chat)
    await stage.say(olga, "Thanks. Will it come with the receipt?")
    await stage.bot_says(stage.staff_chat, "Will it come with the receipt?", after=mark)

    say("6. Max resolves; Olga says it is not resolved yet, so the case reopens.")
    card = _current(stage, card)
    await stage.press(max_, card, "Resolve")
    confirm = await stage.bot_says(olga.id, "Is everything sorted out?")
    await stage.press(olga, confirm, "No")
    await stage.bot_says(stage.staff_chat, "reopened")
    card = _current(stage, card)
    await stage.say(max_, "The receipt is in your email now.", chat_id=stage.staff_chat,
                    reply_to=card.message_id)
    await stage.bot_says(olga.id, "The receipt is in your email now")
    await stage.press(max_, _current(stage, card), "Resolve")
    mark = stage.last_id(olga.id)
    confirm = await stage.bot_says(olga.id, "Is everything sorted out?", after=mark - 1)
    await stage.press(olga, confirm, "Yes")
    await stage.bot_says(stage.staff_chat, "confirmed it is resolved")

    say("7. A week after the purchase, at 10:00 in their own timezones, tips arrive.")
    stage.advance(days=5)
    for person in people.values():
        await stage.bot_says(person.id, "How are you getting on with your purchase?")

    names = {u.id: u.first_name for u in (*people.values(), lin, max_, sam)}
    say()
    for person in people.values():
        _transcript(stage, person.id, f"Private chat with {person.first_name}", names, stream)
    _transcript(stage, stage.staff_chat, "Staff group “Care team”", names, stream)
    say("Closing report")
    say("--------------")
    say(await _report(stage.storage, stage, language))
    rejected = sb.rejected()
    say()
    say(f"Bot API requests: {len(sb.requests)}, refused by the spec check: {len(rejected)}")


def _current(stage: Stage, message: SandboxMessage) -> SandboxMessage:
    """The message as the chat shows it now (buttons change when a card is edited)."""
    return next(m for m in stage.sandbox.messages(message.chat_id)
                if m.message_id == message.message_id)


def _transcript(stage: Stage, chat_id: int, title: str, names: dict[int, str],
                stream: object) -> None:
    _say(stream, title)
    _say(stream, "-" * len(title))
    for m in stage.sandbox.messages(chat_id):
        who = "bot" if m.from_bot else names.get(m.sender_id, str(m.sender_id))
        # An edited message is shown as it was first sent, then as it reads now.
        versions = [*m.history, m.content] if m.edited else [m.content]
        for i, text in enumerate(versions):
            prefix = f"{who:>5}: " if i == 0 else "       ↳ edited: "
            _say(stream, prefix + (text or "").replace("\n", "\n       "))
        for row in m.buttons:
            _say(stream, "       " + "  ".join(f"[{label}]" for label, _ in row))
    _say(stream)


async def _report(storage: Storage, stage: Stage, language: str) -> str:
    async with storage.uow() as uow:
        report = await build_report(uow, stage.clock.now(), 30)
    return report_text(Catalogs().translator(language), report, stage.settings.timezone)


