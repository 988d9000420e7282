"""Privacy through the sandbox: consent per category, the /mydata export, erasure (staff
views and reports), the retention purge on a moved clock, and logs that carry ids and error
kinds, never names, message texts or the bot's token."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import sys
from datetime import datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlmodel import select

from careloop.care import touches as care
from careloop.sandbox import SandboxMessage, SandboxUser
from careloop.sandbox.stage import Stage
from careloop.storage.models import (
    AuditEntry,
    Customer,
    Interaction,
    Suppression,
    SurveyAnswer,
    Touch,
)
from careloop.surveys import reports
from tests.e2e.conftest import CSV_HEADER, linked, process_env, running, surveyed, with_case


async def _customer(stage: Stage, customer_id: int = 1) -> Customer:
    async with stage.storage.uow() as uow:
        customer = await uow.customers.get(customer_id)
    assert customer is not None
    return customer


async def _rows(stage: Stage, model: type) -> list:
    async with stage.storage.uow() as uow:
        return list((await uow.session.exec(select(model))).all())


async def _report(stage: Stage, at: datetime) -> dict:
    async with stage.storage.uow() as uow:
        report = await reports.build_report(uow, at, 30, by=reports.BREAKDOWNS)
    return report.as_dict()


def _export(stage: Stage, message: SandboxMessage) -> dict:
    assert message.document is not None
    stored = stage.sandbox.world.files[message.document["file_id"]]
    assert stored.data is not None
    return json.loads(stored.data.decode("utf-8"))


async def test_settings_show_and_change_each_consent_with_its_text_version(
        stage: Stage) -> None:
    ann = await linked(stage, "C1")
    await stage.say(ann, "/settings")
    shown = await stage.bot_says(ann.id, "Your settings")
    assert "Care messages and surveys: on since" in (shown.content or "")
    # The consent text's version is an internal id: kept in the records, never shown.
    assert "service-2026-06" not in (shown.content or "")
    assert "Offers and news: off" in (shown.content or "")
    assert await stage.press(ann, shown, "Allow offers and news") == "Saved."
    edited = await stage.wait(lambda: next(
        (m for m in stage.sandbox.bot_messages(ann.id)
         if m.message_id == shown.message_id and m.edited), None), "the settings to change")
    assert "Offers and news: on since" in (edited.content or "")
    customer = await _customer(stage)
    assert customer.marketing_consent and customer.marketing_consent_version == (
        "marketing-2026-06")
    # /stop takes back every category at once; each change is in the timeline.
    await stage.say(ann, "/stop")
    await stage.bot_says(ann.id, "we will not send you any more messages")
    customer = await _customer(stage)
    assert not customer.service_consent and not customer.marketing_consent
    consents = [(e.data["category"], e.data["granted"], e.data["via"], e.data["version"])
                for e in await _rows(stage, Interaction) if e.kind == "consent"]
    assert consents == [
        ("service", True, "button", "service-2026-06"),
        ("marketing", True, "/settings", "marketing-2026-06"),
        ("service", False, "/stop", "service-2026-06"),
        ("marketing", False, "/stop", "marketing-2026-06"),
    ]


async def test_mydata_sends_the_export_a_few_times_a_day(database_url: str,
                                                         tmp_path: Path) -> None:
    async with running(database_url, tmp_path, export_per_day=1) as stage:
        ann, _card = await with_case(stage, "C1", comment="The zip <broke> & stuck")
        await stage.say(ann, "/mydata")
        sent = await stage.bot_says(ann.id, "everything we keep about you")
        assert "1 support case" in (sent.content or "") and "1 survey answer" in (
            sent.content or "")
        data = _export(stage, sent)
        assert data["profile"]["name"] == "Ann Lee"
        assert data["profile"]["external_id"] == "C1"
        assert data["consents"]["service"]["granted"] is True
        assert data["consents"]["service"]["text_version"] == "service-2026-06"
        assert data["consents"]["marketing"]["granted"] is False
        assert [(a["survey"], a["score"], a["comment"]) for a in data["answers"]] == [
            ("csat", 1, "The zip <broke> & stuck")]
        assert [c["state"] for c in data["cases"]] == ["open"]
        assert "The zip <broke> & stuck" in [e["text"] for e in data["timeline"]]
        # The stored copy of the file goes once Telegram has it.
        await stage.quiet()
        async with stage.storage.uow() as uow:
            rows = await uow.session.exec(select(__import__(
                "careloop.storage.models", fromlist=["OutboundMessage"]).OutboundMessage))
            uploads = [r.payload["upload"] for r in rows.all() if r.payload.get("upload")]
        assert uploads == [[sent.document["file_name"], ""]]  # type: ignore[index]
        # One a day here: the second is refused until tomorrow.
        after = stage.last_id(ann.id)
        await stage.say(ann, "/mydata")
        await stage.bot_says(ann.id, "Please try again tomorrow", after=after)
        stage.advance(days=1, minutes=1)
        await stage.say(ann, "/mydata")
        again = await stage.bot_says(ann.id, "everything we keep about you",
                                     after=sent.message_id)
        assert again.document is not None
        exported = [e for e in await _rows(stage, AuditEntry) if e.action == "exported"]
        assert [(e.actor, e.customer_id) for e in exported] == [("customer", 1)] * 2


async def test_forget_erases_personal_data_and_keeps_the_numbers(stage: Stage) -> None:
    lead, agent, _ = stage.staff
    ann, card = await with_case(stage, "C1", comment="Broken zip, call 555 0199 123")
    await stage.press(agent, card, "Claim")
    await stage.say(agent, "We are on it", chat_id=stage.staff_chat, reply_to=card.message_id)
    await stage.bot_says(ann.id, "We are on it")
    await stage.quiet()
    at = stage.clock.now()
    before = await _report(stage, at)

    ask = await _forget(stage, ann)
    await stage.quiet()

    # The card already in the group is redrawn without the name and the comment.
    redrawn = await stage.wait(lambda: card if card.edited and "erased customer" in (
        card.content or "") else None, "the card to be redrawn")
    assert "Ann" not in (redrawn.content or "") and "Broken zip" not in (redrawn.content or "")
    erased = await _customer(stage)
    assert erased.erased_at is not None and erased.name == ""
    assert (erased.external_id, erased.telegram_user_id, erased.chat_id) == (None, None, None)
    assert not erased.service_consent
    assert [e.text for e in await _rows(stage, Interaction) if e.text] == []
    assert [a.comment for a in await _rows(stage, SurveyAnswer)] == [None]
    assert [a.score for a in await _rows(stage, SurveyAnswer)] == [1]
    assert await _report(stage, at) == before  # the numbers do not change
    # Staff see an erased customer, and none of what they said.
    after = stage.last_id(stage.staff_chat)
    await stage.say(lead, "/cases", chat_id=stage.staff_chat)
    listing = await stage.bot_says(stage.staff_chat, "Open cases", after=after)
    assert "erased customer" in (listing.content or "") and "Ann" not in (listing.content or "")
    await stage.say(lead, "/case 1", chat_id=stage.staff_chat)
    fresh = await stage.bot_says(stage.staff_chat, "Case #1", after=listing.message_id)
    assert "erased customer" in (fresh.content or "")
    for gone in ("Ann", "Broken zip", "555", "We are on it"):
        assert gone not in (fresh.content or ""), gone
    await stage.say(lead, "/history C1", chat_id=stage.staff_chat)
    await stage.bot_says(stage.staff_chat, "No customer has the id C1")
    # The person who comes back starts afresh.
    await stage.say(ann, "/start")
    await stage.bot_says(ann.id, "May we message you?", after=ask.message_id)
    people = await _rows(stage, Customer)
    assert len(people) == 2 and people[1].telegram_user_id == ann.id
    assert people[1].service_consent is False
    erasures = [e for e in await _rows(stage, AuditEntry) if e.action == "erased"]
    assert [(e.actor, e.customer_id) for e in erasures] == [("customer", 1)]


async def test_an_unlinked_customer_can_be_erased_and_no_can_be_said(stage: Stage) -> None:
    guest = stage.customer("Walkin", last_name="Person")
    await stage.say(guest, "/start")
    await stage.bot_says(guest.id, "May we message you?")
    await stage.say(guest, "/forget")
    ask = await stage.bot_says(guest.id, "Erase your data?")
    await stage.press(guest, ask, "No, keep it")
    await stage.bot_says(guest.id, "nothing was erased")
    assert (await _customer(stage)).erased_at is None
    await stage.say(guest, "/settings")
    settings = await stage.bot_says(guest.id, "Your settings")
    await stage.say(guest, "/forget")
    ask = await stage.bot_says(guest.id, "Erase your data?", after=ask.message_id)
    await stage.press(guest, ask, "Yes, erase my data")
    await stage.bot_says(guest.id, "your data has been erased")
    gone = await _customer(stage)
    assert gone.erased_at is not None and gone.telegram_user_id is None and gone.name == ""
    # A button the erased record was shown is no longer anyone's.
    assert await stage.press(guest, settings, "Allow care messages") == (
        "This button is no longer valid.")


async def _careloop(stage: Stage, *argv: str) -> str:
    """The operator's command, as a process on the stage's database and bot; its output."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "careloop.bot", *argv, env=process_env(stage),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await asyncio.wait_for(proc.communicate(), 60)
    assert (proc.returncode, err) == (0, b""), err.decode()
    return out.decode()


async def test_the_operator_erases_a_customer_who_never_linked(stage: Stage) -> None:
    guest = stage.customer("Walkin", last_name="Person")
    await stage.say(guest, "/start")
    await stage.bot_says(guest.id, "May we message you?")
    await stage.say(guest, "call me at 555 0100 200")
    await stage.quiet()
    assert (await _careloop(stage, "customers", "erase", "#1", "--yes")).startswith(
        "customer #1 erased: ")
    gone = await _customer(stage)
    assert (gone.name, gone.telegram_user_id, gone.chat_id) == ("", None, None)
    assert [e.text for e in await _rows(stage, Interaction) if e.text] == []
    erasures = [e for e in await _rows(stage, AuditEntry) if e.action == "erased"]
    assert [(e.actor, e.customer_id) for e in erasures] == [("operator", 1)]


async def test_an_erasure_by_the_operator_redraws_the_case_cards(stage: Stage) -> None:
    _ann, card = await with_case(stage, "C1", comment="Broken zip <again> & again")
    await stage.quiet()
    out = await _careloop(stage, "customers", "erase", "C1", "--yes")
    assert out.splitlines()[-1] == (
        "1 case card(s) in the staff group redrawn without the name")
    redrawn = card.content or ""
    assert card.edited and "erased customer" in redrawn
    assert "Ann" not in redrawn and "Broken zip" not in redrawn
    # Still a working card: staff can claim the case of an erased customer.
    _lead, agent, _ = stage.staff
    assert await stage.press(agent, card, "Claim") == "You claimed case #1."


async def test_an_erasure_by_the_operator_counts_the_cards_telegram_would_not_edit(
        stage: Stage) -> None:
    _ann, card = await with_case(stage, "C1", comment="Broken zip")
    await stage.quiet()
    stage.sandbox.inject_fault("editMessageText", chat_id=stage.staff_chat, kind="bad_request")
    out = await _careloop(stage, "customers", "erase", "C1", "--yes")
    assert out.splitlines()[-1] == (
        "0 case card(s) in the staff group redrawn without the name; 1 could not be edited "
        "(deleted, or too old)")
    assert "Ann" in (card.content or "")  # the edit was refused: the operator is told so


async def test_retention_purges_old_texts_on_a_moved_clock(stage: Stage) -> None:
    ann, _card = await with_case(stage, "C1", comment="Old complaint")
    await stage.quiet()
    stage.advance(days=366)
    await stage.say(ann, "A new message")
    await stage.quiet()
    assert stage.running is not None
    purged = await stage.running.app.retention.run()
    assert purged.comments == 1 and purged.texts >= 2 and purged.messages >= 1
    texts = [e.text for e in await _rows(stage, Interaction) if e.text]
    assert texts == ["A new message"]  # younger than the retention period: kept
    assert [(a.score, a.comment) for a in await _rows(stage, SurveyAnswer)] == [(1, None)]
    runs = [e for e in await _rows(stage, AuditEntry) if e.action == "purged"]
    assert [(e.actor, e.data["comments"], e.data["texts"]) for e in runs] == [
        ("retention", 1, purged.texts)]
    assert (await stage.running.app.retention.run()).total == 0  # nothing left to purge


async def test_the_loop_logs_no_personal_data_or_token(
    stage: Stage, caplog: pytest.LogCaptureFixture, runtime: str
) -> None:
    caplog.set_level(logging.INFO)  # what `careloop run` logs
    # `careloop run` quiets httpx, but a host embedding careloop may not: under PTB it logs
    # each request's URL, which holds the token unless careloop takes it out.
    caplog.set_level(logging.INFO, logger="httpx")
    _lead, agent, _ = stage.staff
    olga, survey = await surveyed(stage, "C1", "Olga Secretname")
    await stage.press(olga, survey, "1")
    await stage.bot_says(olga.id, "What went wrong?")
    # A failed send is logged: with its reason, not its text.
    stage.sandbox.inject_fault("sendMessage", chat_id=stage.staff_chat, kind="server_error")
    await stage.say(olga, "Broken, my card number 4111-CARD-9925")
    await stage.bot_says(olga.id, "Someone from our team will look into it")
    await stage.wait(lambda: any(r.error_code == 500 for r in stage.sandbox.requests) or None,
                     "the card's send to fail")
    await stage.quiet()
    stage.advance(seconds=31)  # the retry after the 5xx
    card = await stage.bot_says(stage.staff_chat, "Case #1")
    await stage.quiet()  # the tick that sent the card has recorded it: replies find the case
    await stage.press(agent, card, "Claim")
    await stage.say(agent, "Private answer text", chat_id=stage.staff_chat,
                    reply_to=card.message_id)
    await stage.bot_says(olga.id, "Private answer text")
    # A campaign's offer and its tap, then the community group: a join and a question.
    await stage.agree_to_offers("C1")
    campaign = await stage.create_campaign("""
name: Offer
segment: all
message:
  text: "Secret offer for {first_name}"
  button: {text: Get it, url: "https://example.com/o", tracked: true}
""")
    await stage.start_campaign(campaign)
    await stage.campaign_round()
    offer = await stage.bot_says(olga.id, "Secret offer for Olga")
    await stage.press(olga, offer, "Get it")
    await stage.bot_says(olga.id, "Here is your offer")
    await stage.join(olga)
    await stage.post(olga, f"@{stage.sandbox.bot.username} where is parcel PX-7781?")
    await stage.bot_says(olga.id, "We have your question from the community group")
    # The privacy side of the loop: settings, the export, erasure and the purge.
    await stage.say(olga, "/settings")
    await stage.bot_says(olga.id, "Your settings")
    await stage.say(olga, "/mydata")
    await stage.bot_says(olga.id, "everything we keep about you")
    await _forget(stage, olga)
    await stage.say(olga, "/start")  # back as someone new, whose texts the purge takes
    await stage.bot_says(olga.id, "Hello, Olga!")
    await stage.quiet()
    stage.advance(days=400)
    assert stage.running is not None
    await stage.running.app.retention.run()
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert "not sent: transient" in logged  # careloop did log the failure
    assert "retention: purged" in logged
    # ...and the runtime its work: PTB's httpx each request; aiogram logs nothing of the
    # calls careloop posts itself, nor of careloop's own polling (bot/runtime/polling.py).
    assert ("polling Telegram for updates" if runtime == "aiogram"
            else "/bot<token>/sendMessage") in logged
    assert "Case #1" not in logged
    assert "campaign 1: run 1 (start) planned" in logged
    # The secrets are spelled so they cannot turn up by chance: a bare "4111" can, in a
    # timestamp's microseconds.
    for secret in ("Olga", "Secretname", "4111-CARD", "Private answer text", "Broken",
                   "Secret offer", "PX-7781", "/mydata", "/forget", "Erase your data",
                   stage.sandbox.token, stage.sandbox.token.split(":")[1]):
        assert secret not in logged, secret


# --- erasure leaves nothing behind ---------------------------------------------------------

_TEXTUAL = (sa.String, sa.Text, sa.JSON, sa.Date, sa.Enum)


async def _personal_values_left(stage: Stage, values: list[str], telegram_id: int
                                ) -> list[tuple[str, str, str]]:
    """Every table and every text-like column of the migrated schema (read from the
    database, so a column added later is scanned too), searched for the values; and every
    integer column for the Telegram account's id. Returns (table, column, value) found."""
    def read(conn: sa.Connection) -> list[tuple[str, str, str]]:
        inspector = sa.inspect(conn)
        found = []
        for table in inspector.get_table_names():
            if table == "alembic_version":
                continue
            columns = inspector.get_columns(table)
            textual = [c["name"] for c in columns if isinstance(c["type"], _TEXTUAL)]
            numeric = [c["name"] for c in columns if isinstance(c["type"], sa.Integer)]
            picked = textual + numeric
            rows = conn.execute(sa.select(*[sa.column(n) for n in picked])
                                .select_from(sa.table(table))).all()
            for row in rows:
                for name, value in zip(picked, row, strict=True):
                    if value is None:
                        continue
                    if name in numeric:
                        if value == telegram_id:
                            found.append((table, name, str(value)))
                        continue
                    shown = value if isinstance(value, str) else json.dumps(
                        value, ensure_ascii=False, default=str)
                    found += [(table, name, v) for v in values if v.lower() in shown.lower()]
        return found

    async with stage.storage.engine.connect() as conn:
        return await conn.run_sync(read)


PHONE = "+86 138 0013 8000"
# What the person is known by and said: none of it may be left anywhere after erasure.
ANNABEL = ["Annabel", "Quist", "Tgquist", "annabel_tg", "ANN-7781", "zebra", "kangaroo",
           "0013 8000", "walrus", "pelican", "1990-05-31", "order-ann-5531", "giftwrap"]


async def _annabel_with_a_case_and_restrictions(stage: Stage) -> tuple[
        SandboxUser, SandboxMessage]:
    """Annabel writes before she has her link, opens it, answers a survey with a low
    score, a comment and her phone; staff view her history, open her case's card again,
    mute and block her with reasons. Returns her and the first card."""
    lead, _agent, _ = stage.staff
    ann = stage.sandbox.add_user("Annabel", last_name="Tgquist", username="annabel_tg")
    await stage.say(ann, "/start")
    await stage.bot_says(ann.id, "Hello, Annabel Tgquist!")
    await stage.say(ann, "a zebra crossed before I had my link")
    await stage.bot_says(ann.id, "open the personal link the business sent you")
    await stage.import_customers(
        CSV_HEADER + "ANN-7781,Annabel Quist,gold,,,1990-05-31,vip\n")
    await stage.say(ann, f"/start {await stage.link('ANN-7781')}")
    welcome = await stage.bot_says(ann.id, "Hello, Annabel Quist!")
    await stage.press(ann, welcome, "Yes")
    async with stage.storage.uow() as uow:
        customer = await uow.customers.by_external_id("ANN-7781")
        assert customer is not None
        await care.add_event(uow, stage.clock.now(), customer, "service_completed",
                             stage.clock.now(), {"note": "giftwrap"}, stage.playbook,
                             source_id="order-ann-5531")
        await uow.commit()
    stage.advance(days=1, minutes=1)
    await stage.press(ann, await stage.bot_says(ann.id, "How satisfied"), "1")
    await stage.bot_says(ann.id, "What went wrong?")
    await stage.say(ann, f"a kangaroo ate the parcel, call {PHONE}")
    card = await stage.bot_says(stage.staff_chat, "Case #1")
    await stage.quiet()
    for command, answer in (("/history ANN-7781", "tier gold"), ("/case 1", "Case #1"),
                            ("/mute ANN-7781 shouts like a walrus", "is muted"),
                            ("/block ANN-7781 asked never, via pelican post",
                             "do-not-contact list")):
        after = stage.last_id(stage.staff_chat)
        await stage.say(lead, command, chat_id=stage.staff_chat)
        await stage.bot_says(stage.staff_chat, answer, after=after)
    await stage.quiet()
    return ann, card


@pytest.mark.parametrize("path", ["forget", "operator"])
async def test_erasure_leaves_no_personal_value_in_any_table_and_redraws_the_group(
        database_url: str, tmp_path: Path, path: str) -> None:
    async with running(database_url, tmp_path, forum=True) as stage:
        ann, card = await _annabel_with_a_case_and_restrictions(stage)
        [topic] = stage.sandbox.topics(stage.staff_chat)
        assert "Annabel Quist" in topic.name
        cards = [m for m in stage.sandbox.bot_messages(stage.staff_chat)
                 if "Case #1" in (m.content or "") and "Customer:" in (m.content or "")]
        assert len(cards) == 2 and all(m.pinned for m in cards)  # the card, then /case 1's
        found = await _personal_values_left(stage, ANNABEL, ann.id)
        assert {v for _t, _c, v in found} >= {"Annabel", "Tgquist", "zebra", "walrus",
                                              "pelican", "order-ann-5531", "1990-05-31"}

        if path == "forget":
            await _forget(stage, ann)
        else:
            out = await _careloop(stage, "customers", "erase", "ANN-7781", "--yes")
            assert out.splitlines()[-1] == (
                "2 case card(s) in the staff group redrawn without the name; "
                "1 forum topic(s) renamed")
        await stage.quiet()

        assert await _personal_values_left(stage, ANNABEL, ann.id) == []
        # Every card (the pinned ones) and the topic's name, drawn anew without her.
        for shown in cards:
            redrawn = await stage.wait(lambda m=shown: m if "erased customer" in (
                m.content or "") else None, "a card to be redrawn")
            for value in ANNABEL:
                assert value.lower() not in (redrawn.content or "").lower(), value
        renamed = await stage.wait(lambda: topic if "erased customer" in topic.name else None,
                                   "the topic to be renamed")
        assert renamed.name == "#1 · erased customer · CSAT 1"
        assert card in cards


async def _forget(stage: Stage, person: SandboxUser) -> SandboxMessage:
    """The customer asks careloop to forget them and confirms; the question asked."""
    await stage.say(person, "/forget")
    ask = await stage.bot_says(person.id, "Erase your data?")
    await stage.press(person, ask, "Yes, erase my data")
    await stage.bot_says(person.id, "your data has been erased")
    return ask


async def _four_unhappy(stage: Stage) -> list[SandboxUser]:
    """Four customers answer CSAT 1 and write why: four cases within one minute."""
    people = [await linked(stage, f"D{n}", name) for n, name in enumerate(
        ("Xena Early", "Yuri Early", "Annabel Quist", "Zoe Later"))]
    for n in range(4):
        await stage.event(f"D{n}", "service_completed")
    stage.advance(days=1, minutes=1)
    for n, person in enumerate(people):
        await stage.press(person, await stage.bot_says(person.id, "How satisfied"), "1")
        await stage.bot_says(person.id, "What went wrong?")
        await stage.say(person, f"kangaroo trouble number {n}")
        await stage.bot_says(person.id, "Someone from our team will look into it")
    return people


async def test_an_erasure_redraws_the_digests_that_listed_the_customer(
        database_url: str, tmp_path: Path) -> None:
    # Two cards a minute: the third and fourth case of the minute wait, then go as a digest.
    async with running(database_url, tmp_path, group_messages_per_minute=2) as stage:
        people = await _four_unhappy(stage)
        stage.advance(seconds=61)
        digest = await stage.bot_says(stage.staff_chat, "more than the group takes at once")
        assert "Annabel Quist" in (digest.content or "") and "Zoe Later" in (
            digest.content or "")
        await stage.quiet()
        ann = people[2]
        await _forget(stage, ann)
        redrawn = await stage.wait(lambda: digest if "erased customer" in (
            digest.content or "") else None, "the digest to be redrawn")
        text = redrawn.content or ""
        assert "Annabel" not in text and "kangaroo trouble number 2" not in text
        assert "Zoe Later" in text and "kangaroo trouble number 3" in text  # the others stay
        await stage.quiet()
        left = await _personal_values_left(stage, ["Annabel", "Quist", "number 2"], ann.id)
        assert left == []


async def test_mydata_includes_what_was_written_before_linking(stage: Stage) -> None:
    ann = stage.sandbox.add_user("Annabel", last_name="Tgquist")
    await stage.say(ann, "/start")
    await stage.bot_says(ann.id, "May we message you?")
    await stage.say(ann, "a zebra crossed before I had my link")
    await stage.bot_says(ann.id, "open the personal link the business sent you")
    await stage.import_customers(CSV_HEADER + "ANN-7781,Annabel Quist,gold,,,,\n")
    await stage.say(ann, f"/start {await stage.link('ANN-7781')}")
    await stage.bot_says(ann.id, "Hello, Annabel Quist!")
    await stage.say(ann, "/mydata")
    data = _export(stage, await stage.bot_says(ann.id, "everything we keep about you"))
    assert "a zebra crossed before I had my link" in [e["text"] for e in data["timeline"]]
    assert data["profile"]["external_id"] == "ANN-7781"


# --- an erased record's link ---------------------------------------------------------------

async def test_an_erased_customers_old_link_no_longer_binds(stage: Stage) -> None:
    ann = await linked(stage, "C1")
    link = await stage.link("C1")
    await _forget(stage, ann)
    # The link she kept, opened by her again or by anyone who found it.
    for person in (ann, stage.customer("Finder")):
        after = stage.last_id(person.id)
        await stage.say(person, f"/start {link}")
        await stage.bot_says(person.id, "this link is no longer valid", after=after)
        assert not [m for m in stage.sandbox.bot_messages(person.id)
                    if "Hello, !" in (m.content or "")]
    erased = await _customer(stage)
    assert (erased.telegram_user_id, erased.chat_id, erased.name) == (None, None, "")


# --- do-not-contact outlives erasure -------------------------------------------------------

async def _contact(stage: Stage, external_id: str) -> Customer:
    async with stage.storage.uow() as uow:
        customer = await uow.customers.by_external_id(external_id)
    assert customer is not None
    return customer


async def test_do_not_contact_survives_erasure_until_unblocked(
        stage: Stage, tmp_path: Path) -> None:
    ann = await linked(stage, "C1")
    await _careloop(stage, "customers", "block", "C1", "--reason", "asked never to hear")
    await _careloop(stage, "customers", "erase", "C1", "--yes")
    # The business imports the same row again: the new record is not contactable.
    csv_file = tmp_path / "again.csv"
    csv_file.write_text(CSV_HEADER + "C1,Ann Lee,standard,,,,\n")
    await _careloop(stage, "customers", "import", str(csv_file))
    assert (await _contact(stage, "C1")).do_not_contact
    # The list keeps keyed hashes, never the ids.
    [by_id, by_account] = sorted(await _rows(stage, Suppression), key=lambda e: e.kind)
    assert stage.settings.link_secret is not None
    secret = stage.settings.link_secret.get_secret_value()
    assert (by_id.kind, by_id.digest) == (
        "external_id", hmac.new(secret.encode(), b"suppression:external_id:C1",
                                hashlib.sha256).hexdigest())
    assert by_account.kind == "telegram_user" and str(ann.id) not in by_account.digest

    # Her Telegram account, back without a link, is not contactable either; nor once it
    # links to the new record.
    await stage.say(ann, "/start")
    await stage.bot_says(ann.id, "May we message you?")
    async with stage.storage.uow() as uow:
        walk_in = await uow.customers.by_telegram_user(ann.id)
    assert walk_in is not None and walk_in.do_not_contact
    await stage.say(ann, f"/start {await stage.link('C1')}")
    await stage.press(ann, await stage.bot_says(ann.id, "Hello, Ann Lee!"), "Yes")
    again = await _contact(stage, "C1")
    assert again.do_not_contact and again.telegram_user_id == ann.id
    await stage.event("C1", "service_completed")
    stage.advance(days=1, minutes=1)
    await stage.until(_touches_settled(stage), "the survey to be skipped")
    assert [(t.state, t.last_error) for t in await _rows(stage, Touch)
            if t.customer_id == again.id] == [("skipped", "do not contact")]

    # Unblocked by the operator: the list forgets her, and she can be asked again.
    out = await _careloop(stage, "customers", "unblock", "C1")
    assert out == ("customer C1 is off the do-not-contact list: proactive messages may "
                   "reach them again (with their consent)\n")
    assert not (await _contact(stage, "C1")).do_not_contact
    assert await _rows(stage, Suppression) == []
    await stage.event("C1", "service_completed")
    stage.advance(days=1, minutes=1)
    await stage.bot_says(ann.id, "How satisfied")
    unblocked = [(e.actor, e.customer_id) for e in await _rows(stage, AuditEntry)
                 if e.action == "unblocked"]
    assert ("operator", again.id) in unblocked


def _touches_settled(stage: Stage):  # type: ignore[no-untyped-def]
    async def probe() -> bool:
        return bool(await _rows(stage, Touch)) and all(
            t.state not in ("pending", "sending") for t in await _rows(stage, Touch))
    return probe


async def test_unblock_lifts_a_block_and_takes_record_ids(stage: Stage) -> None:
    await linked(stage, "C1")
    await _careloop(stage, "customers", "block", "C1", "--reason", "asked")
    assert (await _contact(stage, "C1")).do_not_contact
    assert (await _careloop(stage, "customers", "unblock", "#1")).startswith(
        "customer #1 is off the do-not-contact list")
    assert not (await _contact(stage, "C1")).do_not_contact
    assert await _careloop(stage, "customers", "unblock", "C1") == (
        "customer C1 was not on the do-not-contact list\n")


async def test_unblock_by_the_erased_records_id_lets_the_same_row_in_again(
        stage: Stage, tmp_path: Path) -> None:
    await linked(stage, "C1")
    await _careloop(stage, "customers", "block", "C1", "--reason", "asked")
    await _careloop(stage, "customers", "erase", "C1", "--yes")
    assert len(await _rows(stage, Suppression)) == 2
    assert (await _careloop(stage, "customers", "unblock", "#1")).startswith(
        "customer #1 is off the do-not-contact list")
    assert await _rows(stage, Suppression) == []
    csv_file = tmp_path / "again.csv"
    csv_file.write_text(CSV_HEADER + "C1,Ann Lee,standard,,,,\n")
    await _careloop(stage, "customers", "import", str(csv_file))
    assert not (await _contact(stage, "C1")).do_not_contact


async def test_a_digest_still_waiting_goes_out_without_the_erased_customer(
        database_url: str, tmp_path: Path) -> None:
    async with running(database_url, tmp_path, group_messages_per_minute=2) as stage:
        people = await _four_unhappy(stage)
        await stage.quiet()
        # The digest's first try fails: it waits in the outbox for its retry.
        stage.sandbox.inject_fault("sendMessage", chat_id=stage.staff_chat, kind="server_error")
        stage.advance(seconds=61)
        await stage.wait(lambda: any(r.error_code == 500 for r in stage.sandbox.requests)
                         or None, "the digest's send to fail")
        await stage.quiet()
        ann = people[2]
        await _forget(stage, ann)
        await stage.quiet()
        stage.advance(seconds=31)  # the retry after the 5xx
        digest = await stage.bot_says(stage.staff_chat, "more than the group takes at once")
        text = digest.content or ""
        assert "Zoe Later" in text and "kangaroo trouble number 3" in text
        assert "Annabel" not in text and "kangaroo trouble number 2" not in text
        assert "erased customer" in text
        await stage.quiet()
        assert await _personal_values_left(stage, ["Annabel", "Quist", "number 2"],
                                           ann.id) == []
