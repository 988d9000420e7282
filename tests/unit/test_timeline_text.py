"""Timeline entries as staff and operators read them: a sentence in their language for
every kind careloop writes, never the stored keys and values."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from careloop.handlers.views.case_card import history_line
from careloop.handlers.views.reporting import history_text
from careloop.handlers.views.timeline import Names, one_line, sentence
from careloop.kernel.i18n import Catalogs
from careloop.storage.models import Customer, Interaction
from careloop.surveys.loader import load_surveys
from tests.i18n.leaks import leaks

AT = datetime(2026, 6, 5, 9, 1, tzinfo=UTC)
NAMES = Names(reason={"product_quality": "Product quality"}.__getitem__, staff={2: "Max"})


def _entry(kind: str, direction: str = "in", text: str | None = None,
           **data: Any) -> Interaction:
    return Interaction(id=1, customer_id=1, at=AT, kind=kind, direction=direction, text=text,
                       data=data)


# One of each kind, with the values careloop stores for it (see each `record` call).
ENTRIES = [
    _entry("message", "in", "Where is my order?", media=None),
    _entry("message", "out", "Your parcel left today."),
    _entry("message", "in", None, media="photo"),
    _entry("button", action="survey", value="2"),
    _entry("button", action="survey_reason", value="product_quality"),
    _entry("button", action="comment_skip", value=""),
    _entry("button", action="consent", value="yes"),
    _entry("button", action="case_confirm", value="no"),
    _entry("button", action="language", value="zh_Hans"),
    _entry("button", action="consent_set", value="marketing:on"),
    _entry("button", action="forget", value="no"),
    _entry("button", action="offer", value=""),
    _entry("button", action="unsubscribe", value=""),
    _entry("answer", survey="csat", score=4, purpose="purchase_csat"),
    _entry("reason", survey="csat", reason="product_quality"),
    _entry("comment", survey="csat", skipped=False),
    _entry("comment", "note", survey="csat", skipped=True, timed_out=True),
    _entry("expired", "note", survey="nps", purpose="purchase_nps"),
    _entry("case", "note", state="open", priority="urgent"),
    _entry("case", "note", state="claimed", action="claim", staff_id=2),
    _entry("case", "note", state="resolved", action="resolve", staff_id=3),
    _entry("case", "note", state="reopened", action="reopen", staff_id=None),
    _entry("case", "note", action="assign", staff_id=2, by_staff_id=3),
    _entry("note", "note", "Called her back", staff_id=2),
    _entry("event", event_type="warranty_expiry", occurred_at="2027-11-20T00:00:00+00:00"),
    _entry("event", event_type="loyalty_upgrade", occurred_at="2027-11-20T00:00:00+00:00"),
    _entry("campaign", response="tap", campaign_id=3, variant="A"),
    _entry("consent", category="service", granted=True, via="start",
           version="service-2026-06"),
    _entry("linked"), _entry("linked", "note", moved_to=7), _entry("registered"),
    _entry("language", language="ru", was="en", via="/language"),
    _entry("skipped", "note", purpose="purchase_tips", reason="no service consent"),
    _entry("failed", "note", purpose="campaign", reason="bad request"),
    _entry("unreachable", "note"), _entry("reachable"),
    _entry("community", action="joined", carried=True),
    _entry("help_request", "in", "Is delivery free?"),
    _entry("erased", "note"), _entry("do_not_contact", "note", via="suppression"),
    _entry("contactable", "note"), _entry("muted", "note"), _entry("unmuted", "note"),
    _entry("export", "out", "Your data, as a file."),
    _entry("button", action="preference", value="q:22:00-10:00"),
    _entry("preferences", quiet_hours="22:00-10:00"), _entry("preferences", quiet_hours=None),
    _entry("preferences", max_messages=1, days=7), _entry("preferences", max_messages=None,
                                                          days=7),
]


@pytest.mark.parametrize("language", ["en", "ru", "zh_Hans", "zh_Hant"])
def test_every_kind_reads_as_a_sentence_in_the_reader_s_language(language: str) -> None:
    tr = Catalogs().translator(language)
    names = Names(reason=load_surveys(None).reason_label(tr, "en"), staff={2: "Max"})
    for e in ENTRIES:
        said = sentence(tr, e, names)
        assert said and leaks(said, english=language != "en") == [], (e.kind, e.data, said)


def test_the_sentences_in_english() -> None:
    tr = Catalogs().translator("en")
    said = {(e.kind, str(e.data)): sentence(tr, e, NAMES) for e in ENTRIES}
    assert [said[k] for k in said if k[0] in ("case", "reason", "event")] == [
        "Gave the reason “Product quality” (CSAT)",
        "Case opened, urgent",
        "Case claimed by Max",
        "Case resolved by staff member #3",
        "Case reopened: the customer says it is not resolved",
        "Case assigned to Max by staff member #3",
        "Event reported: warranty expiry",
        "Event reported: loyalty upgrade",  # a type careloop has no name for, as words
    ]


def test_a_customer_s_own_preferences_in_english() -> None:
    tr = Catalogs().translator("en")
    assert [sentence(tr, e, NAMES) for e in ENTRIES if e.kind == "preferences"] == [
        "Chose their own quiet hours: 22:00-10:00",
        "Chose to keep only the business's quiet hours",
        "Chose to get at most 1 message in 7 days",
        "Chose to get messages as often as the business allows",
    ]


def test_a_card_line_and_the_cli_history_name_the_zone_once() -> None:
    tr = Catalogs().translator("ru")
    line = history_line(tr, ENTRIES[19], "Asia/Shanghai", names=NAMES)
    assert line == "5 июн. 2026\u202fг., 17:01 · Обращение взял(а) в работу Max"
    customer = Customer(id=1, name="Olga", tier="vip", external_id="C-1")
    text = history_text(tr, customer, ENTRIES[:2], "Europe/Moscow", NAMES)
    assert text.splitlines()[1:] == [
        "Время указано в поясе Europe/Moscow:",
        "5 июн. 2026\u202fг., 12:01  ← Написал(а): Where is my order?",
        "5 июн. 2026\u202fг., 12:01  → Отправлено: Your parcel left today.",
    ]


def test_a_line_break_becomes_a_space_except_after_a_wide_character() -> None:
    assert one_line("💬 我们的客服团队：\n非常抱歉") == "💬 我们的客服团队：非常抱歉"
    assert one_line("💬 Our support team:\n  So  sorry\n\n") == "💬 Our support team: So sorry"


def test_why_a_message_was_not_sent_is_named_when_careloop_knows_the_reason() -> None:
    tr = Catalogs().translator("en")
    skipped = _entry("skipped", "note", purpose="purchase_tips", reason="no service consent")
    failed = _entry("failed", "note", purpose="campaign", reason="Bad Request: chat not found")
    assert sentence(tr, skipped) == "Not sent: purchase tips (no consent to care messages)"
    assert sentence(tr, failed) == "Could not be sent: campaign"  # Telegram's words stay stored
