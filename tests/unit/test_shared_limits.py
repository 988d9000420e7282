"""The limits several workers share through Redis (bot/outbox/shared_limits.py), against a
real Redis (CARELOOP_TEST_REDIS_URL; skipped without one), each test under keys of its own.

Why the overall log never lets Telegram see more than the limit in a second, whatever the
jitter between a turn and its request's arrival: take any N + 1 requests arriving within one
second (T - 1, T], and among them the one whose turn Redis gave last, at slot s <= its
arrival <= T. Each of the other N had its turn before, so when this one was given it was
either in flight (an entry in the log, leaving it no earlier than a lease on) or answered,
its entry scored no earlier than its answer (the report's time on Redis's clock less how long
before the report left the worker had the answer) >= its arrival > T - 1 >= s - 1 (an entry
still in the log at s). So at s the log
held N entries besides this one's, and the turn is given only when it holds fewer. The
tests below replay what the takers saw against the sandbox's own flood control (Telegram's
limits, counted by arrival), with each arrival anywhere between the turn and its answer.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
import uuid
from collections.abc import AsyncIterator, Callable

import pytest
from redis.asyncio import Redis

from careloop.bot.outbox import shared_limits
from careloop.bot.outbox.limiter import Paced
from careloop.bot.outbox.shared_limits import BUSY_RETRY, SharedLimiter, _Turn, connect
from careloop.sandbox.errors import ApiError
from careloop.sandbox.flood import RateLimiter
from careloop.sandbox.objects import SandboxChat
from tests.conftest import REDIS_URL, redis_or_skip

JITTER = random.Random(23)  # noqa: S311 - a repeatable simulation, not a secret


@pytest.fixture
def prefix() -> str:
    redis_or_skip().close()
    return f"test:{uuid.uuid4().hex[:8]}:"


@pytest.fixture
async def limiters(prefix: str) -> AsyncIterator[Callable[..., SharedLimiter]]:
    """Workers' limiters, each on a connection of its own."""
    made: list[SharedLimiter] = []

    def make(per_second: float, **options: object) -> SharedLimiter:
        limiter = SharedLimiter(connect(REDIS_URL), per_second, prefix=prefix,
                                **options)  # type: ignore[arg-type]
        made.append(limiter)
        return limiter

    yield make
    for limiter in made:
        await limiter.close()
    client = Redis.from_url(REDIS_URL)
    keys = [k async for k in client.scan_iter(f"{prefix}*")]
    if keys:
        await client.delete(*keys)
    await client.aclose()


def _telegram(per_second: int, chat_interval: float = 1.0) -> RateLimiter:
    """The sandbox's flood control with these limits, on a clock the replay sets."""
    class Limits(RateLimiter):
        GLOBAL_LIMIT = per_second
        PRIVATE_RATE = 1 / chat_interval

    return Limits(time.time)


def _replay(per_second: int, arrivals: list[tuple[float, int]],
            chat_interval: float = 1.0) -> int:
    """How many of these arrivals (time, chat) Telegram would have answered with 429."""
    telegram = _telegram(per_second, chat_interval)
    refused = 0
    for at, chat in sorted(arrivals):
        telegram.time = lambda at=at: at  # type: ignore[misc]
        try:
            telegram.reserve(SandboxChat(chat, "private" if chat > 0 else "supergroup")).commit()
        except ApiError:
            refused += 1
    return refused


async def _call(limiter: SharedLimiter, chat: int | None, arrivals: list[tuple[float, int]],
                *, message: bool = True, jitter: float = 0.08) -> None:
    """One call in its turn: it arrives anywhere between the turn and its answer (often
    just before the answer, the latest a request can arrive)."""
    async with limiter.turn(chat, message=message):
        began = time.time()
        await asyncio.sleep(JITTER.uniform(0, jitter))
        ended = time.time()
        at = ended if JITTER.random() < 0.5 else JITTER.uniform(began, ended)
        if message and chat is not None:
            arrivals.append((at, chat))
        else:
            arrivals.append((at, 0))  # not a new message: counts in the overall second only


async def test_many_takers_never_put_more_than_the_limit_in_any_second(
        limiters: Callable[..., SharedLimiter]) -> None:
    per_second, calls = 60, 240
    workers = [limiters(per_second) for _ in range(3)]
    arrivals: list[tuple[float, int]] = []
    chats = iter(range(1, calls + 1))

    async def worker(limiter: SharedLimiter) -> None:
        while (chat := next(chats, None)) is not None:
            await _call(limiter, chat, arrivals, message=chat % 7 != 0)

    await asyncio.gather(*(worker(w) for w in workers for _ in range(8)))
    assert len(arrivals) == calls
    overall = sorted(at for at, _ in arrivals)
    assert max(sum(1 for t in overall if a - 1 < t <= a) for a in overall) <= per_second
    assert _replay(per_second, [(at, chat or -at_chat) for at_chat, (at, chat)
                                in enumerate(arrivals, 1)]) == 0


async def test_a_private_chat_keeps_its_burst_and_pace_across_workers(
        limiters: Callable[..., SharedLimiter]) -> None:
    interval = 0.25
    workers = [limiters(1000, chat_interval=interval) for _ in range(2)]
    arrivals: list[tuple[float, int]] = []
    # Two workers send to the same four chats at once, each send late by up to 0.1 s.
    await asyncio.gather(*(_call(w, chat, arrivals, jitter=0.1) for w in workers
                           for chat in (1, 2, 3, 4) for _ in range(4)))
    assert len(arrivals) == 32
    assert _replay(1000, arrivals, chat_interval=interval) == 0


async def test_a_dead_workers_turns_are_let_go_after_their_lease(
        limiters: Callable[..., SharedLimiter]) -> None:
    dead, alive = limiters(3, lease=1.5), limiters(3)
    held = [dead.turn(chat) for chat in (1, 2, 3)]
    for turn_held in held:  # three calls in their turn, then the worker dies mid-send
        await turn_held.__aenter__()
    turn = _Turn("probe", 1, "probe", ("probe", "probe"), (1, 20, 1, "probe"))
    assert await alive._ask(turn) == -BUSY_RETRY  # the limit's worth is in flight
    async with asyncio.timeout(5), alive.turn(4):  # free once the leases ran out
        pass


async def test_turns_asked_at_once_go_to_redis_together(
        limiters: Callable[..., SharedLimiter], monkeypatch: pytest.MonkeyPatch) -> None:
    limiter = limiters(1000)
    script = limiter._take_script
    batches: list[int] = []

    async def counted(keys: list[str], args: list[object]) -> object:
        batches.append((len(keys) - 3) // 2)
        return await script(keys=keys, args=args)

    monkeypatch.setattr(limiter, "_take_script", counted)
    arrivals: list[tuple[float, int]] = []
    await asyncio.gather(*(_call(limiter, chat, arrivals, jitter=0) for chat in range(1, 51)))
    assert sum(batches) == 50
    assert len(batches) <= 3  # the first alone, the rest while it was on its way


async def test_without_redis_a_worker_keeps_the_limits_alone_and_says_so_once(
        caplog: pytest.LogCaptureFixture) -> None:
    limiter = SharedLimiter(connect("redis://127.0.0.1:1/0"), 30,
                            prefix=f"test:{uuid.uuid4().hex[:8]}:")
    with caplog.at_level(logging.WARNING, logger=shared_limits.__name__):
        for chat in (1, 2, 3):
            async with limiter.turn(chat):
                pass
    assert limiter.calls == 3
    assert limiter.peek(4) > 0  # the local limits counted them
    assert [r.getMessage() for r in caplog.records].count(
        "Redis does not answer (ConnectionError): this worker keeps Telegram's limits alone "
        "until it does") == 1
    await limiter.close()


async def test_a_group_takes_its_minute_and_its_entries_move_to_their_answers(
        limiters: Callable[..., SharedLimiter], prefix: str) -> None:
    group = -100123
    limiter = limiters(1000, group_per_minute=3)
    answered = []
    for _ in range(3):
        async with limiter.turn(group):
            await asyncio.sleep(0.1)
            answered.append(time.time())
    turn = _Turn("probe", 2, "probe", (f"{prefix}chat:{group}", f"{prefix}pause:{group}"),
                 (2, 3, 1, "probe"))
    wait = await limiter._ask(turn)
    assert wait is not None and -61 < wait < -59  # nothing taken: the minute is full
    client = Redis.from_url(REDIS_URL)
    scores = [s for _, s in await client.zrange(f"{prefix}chat:{group}", 0, -1,
                                                withscores=True)]
    await client.aclose()
    # Each counted from its answer, the latest it can have reached Telegram.
    assert len(scores) == 3
    assert all(score >= at for score, at in zip(scores, answered, strict=True))


async def test_a_group_another_worker_filled_is_paced_not_waited_for(
        limiters: Callable[..., SharedLimiter]) -> None:
    group = -100124
    first, second = limiters(1000, group_per_minute=3), limiters(1000, group_per_minute=3)
    for _ in range(3):
        async with first.turn(group):
            pass
    # The second worker's own estimate says the group is free: only Redis knows better.
    assert second.peek(group) == 0
    started = time.monotonic()
    with pytest.raises(Paced) as paced:
        async with second.turn(group, max_wait=1.0):
            raise AssertionError("a turn past max_wait was given")
    assert 58 < paced.value.seconds < 61
    assert time.monotonic() - started < 1.0  # told at once, not after the minute


async def test_an_answer_is_scored_when_it_came_not_when_its_report_reached_redis(
        limiters: Callable[..., SharedLimiter], prefix: str,
        monkeypatch: pytest.MonkeyPatch) -> None:
    limiter = limiters(1000)
    script = limiter._answered_script
    slow = [True]

    async def report(keys: list[str], args: list[object]) -> object:
        if slow.pop() if slow else False:
            await asyncio.sleep(0.3)  # a slow report: the next one waits behind it
        return await script(keys=keys, args=args)

    monkeypatch.setattr(limiter, "_answered_script", report)
    async with limiter.turn(1):
        pass
    async with limiter.turn(2):
        sent = time.time()  # the call's answer comes just after this
    answered = time.time()
    assert limiter._reporting is not None
    await limiter._reporting
    reported = time.time()
    client = Redis.from_url(REDIS_URL)
    scores = dict(await client.zrange(f"{prefix}window", 0, -1, withscores=True))
    await client.aclose()
    [second] = [score for name, score in scores.items() if name.endswith(b":1")]
    # No earlier than its answer (the latest its request can have arrived), and the 0.3 s
    # its report waited for the one before not counted as in flight.
    assert sent <= second <= answered + 0.05 < reported - 0.2
