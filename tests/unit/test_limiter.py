"""Telegram's three limits and the 429 pause, on a clock the test moves."""

import pytest

from careloop.bot.outbox.limiter import (
    GROUP_WINDOW,
    NEAR,
    PRIVATE_BURST,
    RATE_MARGIN,
    Limiter,
    Paced,
)

GROUP = -100123


class Clock:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


def test_overall_rate_is_kept_with_a_margin() -> None:
    clock = Clock()
    limiter = Limiter(per_second=30, time_source=clock)
    waits = [limiter.reserve(chat) for chat in range(1, 61)]
    gap = 1 / (30 * RATE_MARGIN)
    assert waits[0] == 0
    assert waits[1] == pytest.approx(gap)
    assert waits[-1] == pytest.approx(59 * gap)
    # No window of one second holds more than 30 of the slots handed out.
    slots = sorted(clock.t + w for w in waits)
    assert max(sum(1 for s in slots if a <= s < a + 1) for a in slots) <= 30


async def test_a_paid_broadcast_is_paced_at_telegrams_1000_and_its_second_kept() -> None:
    # No 3% off the pace (970/s at best): the sliding second, counted from the answers,
    # is what keeps Telegram's count within 1000.
    clock = Clock()

    async def sleep(seconds: float) -> None:
        clock.t += seconds

    limiter = Limiter(per_second=1000, time_source=clock, sleep=sleep)
    waits = [limiter.reserve(chat) for chat in range(1, 11)]
    assert waits[1] == pytest.approx(0.001)
    assert waits[-1] == pytest.approx(0.009)
    # Two thousand sends, each answered 0.1 ms after it went: once a thousand are answered,
    # each waits for a second after the answer of the one a thousand before it, and no
    # second holds more than 1000 of them.
    clock.t += 1
    sent: list[float] = []
    for chat in range(100, 2100):
        async with limiter.turn(chat):
            sent.append(clock.t)
            clock.t += 0.0001
    assert max(sum(1 for s in sent if a <= s < a + 1) for a in sent[::50]) <= 1000
    assert (len(sent) - 1) / (sent[-1] - sent[0]) == pytest.approx(1000, rel=0.01)


def test_a_private_chat_gets_a_short_burst_then_one_per_second() -> None:
    clock = Clock()
    limiter = Limiter(per_second=1000, chat_interval=1.0, time_source=clock)
    waits = [limiter.reserve(7) for _ in range(PRIVATE_BURST + 2)]
    assert all(w < 0.01 for w in waits[:PRIVATE_BURST])
    assert waits[PRIVATE_BURST] == pytest.approx(1 / RATE_MARGIN, rel=0.01)
    assert waits[PRIVATE_BURST + 1] == pytest.approx(2 / RATE_MARGIN, rel=0.01)
    assert limiter.reserve(8) < 0.01  # another chat is not held up
    clock.t += 60
    assert limiter.peek(7) == 0


def test_a_group_gets_twenty_per_minute() -> None:
    clock = Clock()
    limiter = Limiter(per_second=1000, group_per_minute=20, time_source=clock)
    for _ in range(20):
        assert limiter.reserve(GROUP) < 0.1
    wait = limiter.reserve(GROUP)
    assert GROUP_WINDOW <= wait <= GROUP_WINDOW + 1
    clock.t += 61
    assert limiter.peek(GROUP) <= 1  # the window has moved on


def test_a_429_pauses_that_chat_and_two_chats_pause_everything() -> None:
    clock = Clock()
    limiter = Limiter(per_second=1000, time_source=clock)
    limiter.pause(5, 3)
    assert limiter.peek(5) == pytest.approx(3)
    assert limiter.peek(6) < 0.01  # one chat's 429: only that chat waits
    limiter.pause(6, 4)
    assert limiter.peek(9) == pytest.approx(4)  # two chats at once: the flood is overall
    clock.t += 5
    assert limiter.peek(5) < 0.01


def test_peek_takes_nothing() -> None:
    limiter = Limiter(per_second=1, time_source=Clock())
    assert limiter.peek(1) == limiter.peek(1) == 0
    limiter.reserve(1)
    assert limiter.peek(2) == pytest.approx(1 / RATE_MARGIN)


async def test_a_send_that_went_late_holds_back_the_ones_a_second_after_it() -> None:
    clock = Clock()
    late = [0.5]

    async def sleep(seconds: float) -> None:
        clock.t += seconds + late.pop() if late else seconds  # the first sleep overruns

    limiter = Limiter(per_second=3, time_source=clock, sleep=sleep)
    async with limiter.turn(1):
        pass
    async with limiter.turn(2):  # its slot came a third of a second in; it went half a second late
        went_late = clock.t
    async with limiter.turn(3):
        pass
    async with limiter.turn(4):
        pass
    # Paced alone, the next slot would come before a second has passed since the late one,
    # and Telegram would count four in that second.
    paced = clock.t + 1 / (3 * RATE_MARGIN)
    assert paced < went_late + 1.0
    assert clock.t + limiter.peek(5) >= went_late + 1.0


async def test_the_second_after_a_send_counts_from_its_answer() -> None:
    """Telegram may count a request as late as its answer comes back (a slow network, a
    busy process between the send and the count): the window is kept from the answers."""
    clock = Clock()

    async def sleep(seconds: float) -> None:
        clock.t += seconds

    limiter = Limiter(per_second=3, time_source=clock, sleep=sleep)
    async with limiter.turn(1):
        clock.t += 0.5  # half a second until the answer: it may have been counted then
    answered = clock.t
    async with limiter.turn(2):
        pass
    async with limiter.turn(3):
        # Still waiting for this answer: it takes room in the window as if counted now.
        assert clock.t + limiter.peek(4) >= answered + 1.0
    async with limiter.turn(4):
        # Paced from the sends alone it would go 1.03 s after the first send, inside the
        # second after the first's answer, as the fourth Telegram counts in that second.
        assert answered + 1.0 > 1000.0 + 3 / (3 * RATE_MARGIN)
        assert clock.t >= answered + 1.0


def test_a_call_other_than_a_message_counts_overall_and_waits_out_its_chats_pause() -> None:
    """An edit or a button's answer is paced with the messages, but Telegram's per-chat and
    per-group limits are on new messages: it takes nothing from those."""
    clock = Clock()
    limiter = Limiter(per_second=1, time_source=clock)
    for _ in range(PRIVATE_BURST + 2):
        limiter.reserve(7, message=False)
        clock.t += 2
    assert limiter.peek(7) == 0  # the chat's burst is whole
    limiter.reserve(None, message=False)  # a button's answer: in no chat, still a call
    assert limiter.peek(8) == pytest.approx(1 / RATE_MARGIN)
    clock.t += 2
    limiter.pause(7, 3)
    assert limiter.peek(7, message=False) == pytest.approx(3)
    assert limiter.peek(None, message=False) < 0.01


async def test_a_private_chats_next_message_waits_a_full_interval_after_a_late_one() -> None:
    """The chat's slots are handed out from its bucket; a message that went late (a busy
    process woke late, a slow request) must still keep the next one a second after it."""
    clock = Clock()
    overran: list[float] = []

    async def sleep(seconds: float) -> None:
        # The first long wait (the one past the burst) wakes 0.4 s late.
        late = 0.4 if seconds > 0.5 and not any(overran) else 0.0
        overran.append(late)
        clock.t += seconds + late

    limiter = Limiter(per_second=30, time_source=clock, sleep=sleep)
    for _ in range(PRIVATE_BURST):
        async with limiter.turn(7):
            pass
    async with limiter.turn(7):  # past the burst: it waits for its slot and wakes late
        pass
    answered = clock.t
    assert 0.4 in overran
    async with limiter.turn(7):
        assert clock.t >= answered + 1 / RATE_MARGIN


def test_customers_relayed_words_leave_a_quarter_of_the_groups_minute_to_cards() -> None:
    clock = Clock()
    limiter = Limiter(per_second=1000, time_source=clock)
    relays = 0
    while limiter.peek(GROUP, chatter=True) < 1:  # not a minute away
        limiter.reserve(GROUP, chatter=True)
        relays += 1
    assert relays == 15
    # A case card still goes at once, five times; then the minute is full for everyone.
    assert all(limiter.reserve(GROUP) < 1 for _ in range(5))
    assert limiter.peek(GROUP) > GROUP_WINDOW - 1


async def test_near_is_called_as_the_slot_comes_near_and_before_the_block() -> None:
    clock = Clock()

    async def sleep(seconds: float) -> None:
        clock.t += seconds

    limiter = Limiter(per_second=1, chat_interval=0.0, time_source=clock, sleep=sleep)
    called: list[float] = []
    async with limiter.turn(1, near=lambda: called.append(clock.t)):
        assert called == [1000.0]  # the slot was free: at once
    slot = clock.t + limiter.peek(2)
    assert slot - clock.t > NEAR
    async with limiter.turn(2, near=lambda: called.append(clock.t)):
        entered = clock.t
    assert called[1] == pytest.approx(slot - NEAR)  # while the turn waited, not inside it
    assert entered == pytest.approx(slot)


async def test_a_turn_further_off_than_max_wait_is_paced_and_takes_nothing() -> None:
    clock = Clock()
    limiter = Limiter(per_second=1000, group_per_minute=2, time_source=clock)
    for _ in range(2):
        async with limiter.turn(GROUP):
            pass
    with pytest.raises(Paced) as paced:
        async with limiter.turn(GROUP, max_wait=1.0):
            raise AssertionError("a turn past max_wait was given")
    assert paced.value.seconds > 59
    clock.t += GROUP_WINDOW + 1
    assert limiter.peek(GROUP) == 0  # the refused turn took no slot
