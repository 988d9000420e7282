"""The step between the router and the handlers: a button's key is checked once, a forged,
stale or misplaced one gets the one "no longer valid" toast in the reader's language, and a
valid key on a case card still needs someone whose role handles cases."""

from __future__ import annotations

import pytest

from careloop.bot.app import Storage
from careloop.cases import lifecycle as cases
from careloop.handlers.buttons import make_button
from careloop.handlers.context import ContextFactory, HandlerConfig
from careloop.handlers.middleware import Press, check_press
from careloop.handlers.router import route
from careloop.kernel.clock import ManualClock
from careloop.kernel.effects import Effect, Toast
from careloop.kernel.i18n import Catalogs
from careloop.kernel.updates import Chat, ChatKind, Update, User
from careloop.storage.models import Customer, StaffMember
from careloop.surveys.loader import load_surveys

STAFF = -100
CONFIG = HandlerConfig(staff_chat_id=STAFF, link_secret="k", default_timezone="UTC",
                       staff_language="ru", surveys=load_surveys(None))
CONTEXTS = ContextFactory(Catalogs(), CONFIG)

NO_LONGER_VALID = {"en": "This button is no longer valid.",
                   "ru": "Эта кнопка больше не действует.",
                   "zh_Hant": "這個按鈕已失效。"}
ONLY_SUPPORT_STAFF = "Извините, работать с обращениями могут только сотрудники поддержки."


def _press(data: str, *, chat: int = 7, user: User | None = None) -> Update:
    kind = ChatKind.PRIVATE if chat > 0 else ChatKind.SUPERGROUP
    return Update(update_id=1, chat=Chat(chat, kind),
                  user=user or User(chat if chat > 0 else 50, "Zoe", language_code="en"),
                  message_id=3, callback_id="q1", callback_data=data)


async def _route(storage: Storage, clock: ManualClock, update: Update) -> list[Effect]:
    async with storage.uow() as uow:
        effects = await route(update, CONTEXTS(uow, clock.now()))
        await uow.commit()
    return effects


async def _key(storage: Storage, clock: ManualClock, action: str, subject: int, chat: int,
               value: str = "") -> str:
    async with storage.uow() as uow:
        button = await make_button(uow, clock.now(), "label", action, subject, chat, value)
        await uow.commit()
    assert button.callback_data is not None
    return button.callback_data


async def test_a_forged_stale_or_misplaced_key_gets_one_toast(storage: Storage,
                                                             clock: ManualClock) -> None:
    other_chat = await _key(storage, clock, "consent", 1, chat=8, value="yes")
    for data in ("forged-key", "x" * 65, "", other_chat):
        assert await _route(storage, clock, _press(data)) == [
            Toast("q1", NO_LONGER_VALID["en"])]


async def test_the_toast_is_in_the_readers_language(storage: Storage,
                                                     clock: ManualClock) -> None:
    # No record: their Telegram's language.
    stranger = User(9, "Иван", language_code="ru")
    assert await _route(storage, clock, _press("forged", chat=9, user=stranger)) == [
        Toast("q1", NO_LONGER_VALID["ru"])]
    # A customer: the language stored for them, whatever their Telegram says now.
    async with storage.uow() as uow:
        await uow.customers.add(Customer(name="美玲", chat_id=7, telegram_user_id=7,
                                         language="zh_Hant", created_at=clock.now()))
        await uow.commit()
    assert await _route(storage, clock, _press("forged")) == [
        Toast("q1", NO_LONGER_VALID["zh_Hant"])]
    # Staff: the staff group's.
    assert await _route(storage, clock, _press("forged", chat=STAFF)) == [
        Toast("q1", NO_LONGER_VALID["ru"])]


async def test_a_key_whose_subject_is_gone_gets_the_same_toast(storage: Storage,
                                                               clock: ManualClock) -> None:
    async with storage.uow() as uow:
        customer = await uow.customers.add(Customer(name="Zoe", chat_id=7, telegram_user_id=7,
                                                    language="en", created_at=clock.now()))
        await uow.commit()
    no_survey = await _key(storage, clock, "survey", 999, chat=7, value="5")
    no_case = await _key(storage, clock, "case_confirm", 999, chat=7, value="yes")
    not_ours = await _key(storage, clock, "case_claim", 1, chat=7)  # a staff action, here
    for data in (no_survey, no_case, not_ours):
        assert await _route(storage, clock, _press(data)) == [
            Toast("q1", NO_LONGER_VALID["en"])]
    async with storage.uow() as uow:  # the presses of a known customer are in their timeline
        kinds = [e.kind for e in await uow.timeline.of(customer.id, limit=10)]  # type: ignore[arg-type]
    assert kinds.count("button") == 3


async def test_a_stranger_pressing_a_case_card_is_refused_after_the_key_check(
    storage: Storage, clock: ManualClock,
) -> None:
    async with storage.uow() as uow:
        customer = await uow.customers.add(Customer(name="Ann", created_at=clock.now()))
        await uow.session.flush()
        case = await cases.open_case(uow, clock.now(), customer.id, "normal", None)  # type: ignore[arg-type]
        uow.session.add(StaffMember(telegram_user_id=51, role="marketer",
                                    added_at=clock.now()))
        uow.session.add(StaffMember(telegram_user_id=52, role="agent", added_at=clock.now()))
        await uow.commit()
    claim = await _key(storage, clock, "case_claim", case.id, chat=STAFF)  # type: ignore[arg-type]
    stranger, marketer, agent = (User(n, "Lin", language_code="en") for n in (50, 51, 52))
    for who in (stranger, marketer):
        assert await _route(storage, clock, _press(claim, chat=STAFF, user=who)) == [
            Toast("q1", ONLY_SUPPORT_STAFF)]
    # A stale key is said so first, whoever presses it.
    assert await _route(storage, clock, _press("stale", chat=STAFF, user=stranger)) == [
        Toast("q1", NO_LONGER_VALID["ru"])]
    # The staff group's key means nothing in a private chat.
    assert await _route(storage, clock, _press(claim, chat=52, user=agent)) == [
        Toast("q1", NO_LONGER_VALID["en"])]
    effects = await _route(storage, clock, _press(claim, chat=STAFF, user=agent))
    assert Toast("q1", f"Вы взяли в работу обращение №{case.id}.") in effects


async def test_a_press_reaches_its_handler_with_its_key_and_ids(storage: Storage,
                                                               clock: ManualClock) -> None:
    data = await _key(storage, clock, "consent", 4, chat=7, value="yes")
    async with storage.uow() as uow:
        ctx = CONTEXTS(uow, clock.now())
        press = await check_press(_press(data), ctx, ctx.tr("en"))
        assert isinstance(press, Press)
        assert (press.callback_id, press.message_id, press.chat_id) == ("q1", 3, 7)
        assert (press.key.action, press.subject, press.value) == ("consent", 4, "yes")
        assert press.no_longer_valid() == [Toast("q1", NO_LONGER_VALID["en"])]
        with pytest.raises(ValueError, match="not a button press"):
            await check_press(Update(update_id=2, chat=Chat(7, ChatKind.PRIVATE),
                                     user=User(7, "Zoe"), text="hi"), ctx, ctx.tr("en"))
