"""/stats in the staff group, called directly with a unit of work on a real database."""

from __future__ import annotations

from datetime import timedelta

import pytest

from careloop.bot.app import Storage
from careloop.handlers.context import Context, HandlerConfig
from careloop.handlers.staff.stats import DEFAULT_DAYS, on_stats, parse_days
from careloop.kernel.effects import Send
from careloop.kernel.i18n import Catalogs
from careloop.kernel.messenger import TEXT_LIMIT
from careloop.kernel.updates import Chat, ChatKind, Update, User
from careloop.sandbox.formatting import parse_html
from careloop.storage.models import Case, Customer, StaffMember, SurveyAnswer, SurveyInvitation
from careloop.storage.uow import UnitOfWork
from careloop.surveys.loader import load_surveys
from tests.conftest import START

STAFF_CHAT = -1001234567890
D = timedelta(days=1)


@pytest.mark.parametrize(("args", "days"), [
    ("", DEFAULT_DAYS), ("  ", DEFAULT_DAYS), ("1", 1), ("30", 30), (" 365 ", 365),
    ("0", None), ("366", None), ("-1", None), ("7 days", None), ("seven", None),
    ("٣", None), ("1_0", None), ("+7", None), ("7.5", None), ("0000007", None),
])
def test_parse_days(args: str, days: int | None) -> None:
    assert parse_days(args) == days


def _update(user_id: int, args: str = "", topic_id: int | None = 77) -> Update:
    text = f"/stats {args}".strip()
    return Update(update_id=1, chat=Chat(STAFF_CHAT, ChatKind.SUPERGROUP, is_forum=True),
                  user=User(user_id, "Mia"), message_id=555, text=text, command="stats",
                  command_args=args, topic_id=topic_id)


async def _seed(storage: Storage) -> None:
    async with storage.uow() as uow:
        await uow.staff.add(StaffMember(telegram_user_id=201, role="marketer", added_at=START))
        customer = await uow.customers.add(Customer(name="Olga <b>Secret</b>", created_at=START))
        assert customer.id is not None
        for days_ago, score in ((2, 5), (3, 1), (20, 4)):
            inv = await uow.surveys.add_invitation(SurveyInvitation(
                customer_id=customer.id, survey_key="csat", purpose="purchase_csat",
                sent_at=START - days_ago * D, chat_id=9, message_id=days_ago))
            assert inv.id is not None
            await uow.surveys.add_answer(SurveyAnswer(
                invitation_id=inv.id, customer_id=customer.id, survey_key="csat", score=score,
                negative=score <= 2, reason="delivery" if score <= 2 else None,
                comment="The lid was cracked & I am furious" if score <= 2 else None,
                answered_at=START - days_ago * D))
        await uow.cases.add(Case(customer_id=customer.id, state="open", priority="urgent",
                                 opened_at=START - 3 * D, sla_due_at=START - 3 * D))
        await uow.commit()


def _context(uow: UnitOfWork, language: str = "en") -> Context:
    config = HandlerConfig(staff_chat_id=STAFF_CHAT, link_secret="secret",
                           default_timezone="Asia/Shanghai", staff_language=language,
                           surveys=load_surveys(None))
    return Context(uow, START, Catalogs(), config)


async def test_any_staff_member_sees_the_numbers_in_the_same_topic(storage: Storage) -> None:
    await _seed(storage)
    async with storage.uow() as uow:
        effects = await on_stats(_update(201), _context(uow))
    assert len(effects) == 1
    send = effects[0]
    assert isinstance(send, Send)
    assert (send.chat_id, send.topic_id, send.reply_to, send.keyboard) == (
        STAFF_CHAT, 77, 555, None)
    lines = send.text.splitlines()
    # 7 days in Shanghai: 13 to 20 November; the answer of 20 days ago is outside.
    assert lines[0] == "<b>📊 The last 7 days</b> (Nov 13, 2026 – Nov 20, 2026)"
    assert lines[1:3] == ["Surveys: 2 delivered, 2 answered, response rate 100.0%",
                          "CSAT: 50.0% satisfied (4–5), mean 3.00, 2 answers"]
    assert "Low scores: 1; delivery 1 (100.0%)" in lines
    assert "SLA: 0.0% answered in time (0 in time, 1 late, 0 not yet due)" in lines
    # Numbers only: never a customer's name or words, and Telegram takes the HTML.
    assert "Olga" not in send.text and "lid" not in send.text
    plain, entities = parse_html(send.text)
    assert [e["type"] for e in entities] == ["bold"]
    assert len(plain) < TEXT_LIMIT


async def test_the_window_is_the_argument_and_labels_are_escaped(storage: Storage) -> None:
    await _seed(storage)
    async with storage.uow() as uow:
        effects = await on_stats(_update(201, "30", topic_id=None), _context(uow),
                                 reason_label=lambda key: f"<{key.title()} & co>")
    send = effects[0]
    assert isinstance(send, Send)
    assert send.topic_id is None
    assert send.text.startswith("<b>📊 The last 30 days</b> (Oct 21, 2026 – Nov 20, 2026)")
    assert "Surveys: 3 delivered, 3 answered, response rate 100.0%" in send.text
    assert "Low scores: 1; &lt;Delivery &amp; co&gt; 1 (100.0%)" in send.text.splitlines()
    parse_html(send.text)


async def test_one_day_and_an_empty_database(storage: Storage) -> None:
    async with storage.uow() as uow:
        await uow.staff.add(StaffMember(telegram_user_id=201, role="agent", added_at=START))
        effects = await on_stats(_update(201, "1"), _context(uow))
    send = effects[0]
    assert isinstance(send, Send)
    assert send.text.splitlines()[:4] == [
        "<b>📊 The last 1 day</b> (Nov 19, 2026 – Nov 20, 2026)",
        "Surveys: 0 delivered, 0 answered, response rate —",
        "CSAT: — satisfied (4–5), mean —, 0 answers",
        "NPS: — (0 promoters, 0 passives, 0 detractors)",
    ]


async def test_someone_not_registered_is_refused(storage: Storage) -> None:
    await _seed(storage)
    async with storage.uow() as uow:
        effects = await on_stats(_update(999), _context(uow))
    assert effects == [Send(STAFF_CHAT, "Sorry, only registered staff can see the numbers.",
                            reply_to=555, topic_id=77)]


@pytest.mark.parametrize("args", ["0", "abc", "1000", "7 days"])
async def test_a_bad_argument_gets_a_polite_correction(storage: Storage, args: str) -> None:
    await _seed(storage)
    async with storage.uow() as uow:
        effects = await on_stats(_update(201, args), _context(uow))
    assert effects == [Send(
        STAFF_CHAT, "Please give the number of days as a whole number from 1 to 365, for "
        "example /stats 30.", reply_to=555, topic_id=77)]


async def test_the_staff_groups_language(storage: Storage) -> None:
    await _seed(storage)
    async with storage.uow() as uow:
        refused = await on_stats(_update(999), _context(uow, "zh_Hans"))
        effects = await on_stats(_update(201, "21"), _context(uow, "ru"))
    assert isinstance(refused[0], Send)
    assert refused[0].text == "抱歉，只有已登记的员工才能查看数据。"
    send = effects[0]
    assert isinstance(send, Send)
    assert send.text.splitlines()[:2] == [
        "<b>📊 За последний 21 день</b> (30 окт. 2026\u202fг. – 20 нояб. 2026\u202fг.)",
        "Опросы: доставлено 3, отвечено 3, доля ответов 100,0\xa0%",
    ]
