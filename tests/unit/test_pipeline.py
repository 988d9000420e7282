"""The pipeline with a recording messenger (the port, not a framework): a redelivered update
is handled once, and a failing handler keeps nothing and apologises."""

from __future__ import annotations

from datetime import timedelta

from careloop.bot.app import Storage, build_app
from careloop.bot.settings import Settings
from careloop.handlers.routing import Router, pressed
from careloop.kernel.clock import ManualClock
from careloop.kernel.messenger import Sent
from careloop.kernel.updates import Chat, ChatKind, Keyboard, Media, Update, User
from careloop.storage.models import Customer, TouchState


class RecordingMessenger:
    def __init__(self) -> None:
        self.sent: list[tuple[int, str]] = []
        self.toasts: list[tuple[str, str | None]] = []

    async def send_text(self, chat_id: int, text: str, *, keyboard: Keyboard | None = None,
                        reply_to: int | None = None, topic_id: int | None = None,
                        paid: bool = False) -> Sent:
        self.sent.append((chat_id, text))
        return Sent(chat_id, len(self.sent))

    async def send_media(self, chat_id: int, media: Media, *, caption: str | None = None,
                         reply_to: int | None = None, topic_id: int | None = None) -> Sent:
        return await self.send_text(chat_id, caption or "")

    async def edit_text(self, chat_id: int, message_id: int, text: str, *,
                        keyboard: Keyboard | None = None) -> None:
        pass

    async def answer_button(self, callback_id: str, text: str | None = None) -> None:
        self.toasts.append((callback_id, text))


def _start(update_id: int) -> Update:
    return Update(update_id=update_id, chat=Chat(7, ChatKind.PRIVATE),
                  user=User(7, "Zoe", language_code="en"), message_id=update_id,
                  text="/start", command="start")


async def test_a_redelivered_update_is_handled_once(storage: Storage, clock: ManualClock) -> None:
    messenger = RecordingMessenger()
    app = build_app(Settings(link_secret="k" * 16), messenger, clock=clock, storage=storage)  # type: ignore[arg-type]
    await app.pipeline.process(_start(1))
    await app.pipeline.process(_start(1))  # Telegram sends it again after a restart
    assert len(messenger.sent) == 1
    await app.pipeline.process(_start(2))
    assert len(messenger.sent) == 2


async def test_a_failing_handler_keeps_nothing_and_apologises(
    storage: Storage, clock: ManualClock, monkeypatch
) -> None:
    from careloop.handlers import customer as customer_handlers

    async def broken(*_: object) -> list:
        raise RuntimeError("bug")

    messenger = RecordingMessenger()
    app = build_app(Settings(link_secret="k" * 16), messenger, clock=clock, storage=storage)  # type: ignore[arg-type]
    await app.pipeline.process(_start(1))
    monkeypatch.setattr(customer_handlers, "BUTTONS", Router(pressed("consent", broken)))
    async with storage.uow() as uow:
        key = (await uow.session.exec(__import__("sqlmodel").select(
            __import__("careloop.storage.models", fromlist=["CallbackKey"]).CallbackKey))).first()
    press = Update(update_id=2, chat=Chat(7, ChatKind.PRIVATE), user=User(7, "Zoe"),
                   message_id=1, callback_id="q1", callback_data=key.key)
    await app.pipeline.process(press)
    assert messenger.toasts == [("q1", "Sorry, something went wrong. Please try again.")]
    async with storage.uow() as uow:
        customer = await uow.customers.by_telegram_user(7)
        assert isinstance(customer, Customer)
        assert not customer.service_consent
        assert not await uow.updates.seen(2)  # rolled back with the rest


async def test_the_apology_is_in_the_language_of_whoever_pressed(
    storage: Storage, clock: ManualClock, monkeypatch
) -> None:
    """A customer reads their stored language, staff the staff group's."""
    from careloop.handlers import customer as customer_handlers
    from careloop.handlers import staff as staff_handlers
    from careloop.storage.models import CallbackKey

    async def broken(*_: object) -> list:
        raise RuntimeError("bug")

    messenger = RecordingMessenger()
    settings = Settings(link_secret="k" * 16, staff_chat_id=-100, staff_language="ru")  # type: ignore[arg-type]
    app = build_app(settings, messenger, clock=clock, storage=storage)
    start = Update(update_id=1, chat=Chat(7, ChatKind.PRIVATE),
                   user=User(7, "美玲", language_code="zh-hant"), message_id=1,
                   text="/start", command="start")
    await app.pipeline.process(start)
    monkeypatch.setattr(customer_handlers, "BUTTONS", Router(pressed("consent", broken)))
    monkeypatch.setattr(staff_handlers, "check_press", broken)  # the staff group's key check
    async with storage.uow() as uow:
        key = (await uow.session.exec(__import__("sqlmodel").select(CallbackKey))).first()
    # Her Telegram has since switched to English; what careloop stored for her counts.
    await app.pipeline.process(Update(
        update_id=2, chat=Chat(7, ChatKind.PRIVATE), user=User(7, "美玲", language_code="en"),
        message_id=1, callback_id="q1", callback_data=key.key))
    await app.pipeline.process(Update(
        update_id=3, chat=Chat(-100, ChatKind.SUPERGROUP),
        user=User(8, "Lin", language_code="zh-hans"), message_id=5, callback_id="q2",
        callback_data="x"))
    assert messenger.toasts == [("q1", "抱歉，發生了一點問題，請再試一次。"),
                                ("q2", "Извините, что-то пошло не так. Попробуйте ещё раз.")]


class FlakyMessenger(RecordingMessenger):
    """Raises an unexpected error for one chat, as a bug in an adapter would."""

    async def send_text(self, chat_id: int, text: str, *, keyboard: Keyboard | None = None,
                        reply_to: int | None = None, topic_id: int | None = None,
                        paid: bool = False) -> Sent:
        if chat_id == 2:
            raise ValueError("adapter bug")
        return await super().send_text(chat_id, text, keyboard=keyboard)


async def test_an_unexpected_send_error_fails_one_touch_and_the_rest_go_out(
    storage: Storage, clock: ManualClock
) -> None:
    from careloop.care.playbook.loader import load_playbook
    from careloop.care.touches import add_event

    playbook = load_playbook(None)
    messenger = FlakyMessenger()
    settings = Settings(link_secret="k" * 16, chat_interval_seconds=0)  # type: ignore[arg-type]
    app = build_app(settings, messenger, clock=clock, storage=storage)
    async with storage.uow() as uow:
        for n in (1, 2, 3):
            customer = await uow.customers.add(Customer(
                external_id=f"C{n}", name=f"P{n}", chat_id=n, telegram_user_id=n,
                service_consent=True, created_at=clock.now()))
            await add_event(uow, clock.now(), customer, "service_completed", clock.now(), {},
                            playbook)
        await uow.commit()
    clock.advance(timedelta(days=2))
    assert await app.sender.tick() == 3
    assert sorted(chat for chat, _ in messenger.sent) == [1, 3]
    async with storage.uow() as uow:
        failed = await uow.touches.in_state(TouchState.FAILED)
        sending = await uow.touches.in_state(TouchState.SENDING)
    assert [(t.customer_id, t.last_error) for t in failed] == [(2, "internal error while sending")]
    assert sending == []
