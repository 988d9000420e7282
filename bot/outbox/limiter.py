"""Keeping every new message inside Telegram's limits before it is sent.

Three scopes, as Telegram publishes them: overall (~30 msg/s, up to 1000/s with paid
broadcast), each private chat (~1 msg/s, short bursts allowed) and each group (20 msg per
minute). Telegram counts when a request arrives, and arrivals jitter; so the overall pace
keeps a small margin below the limit, and the group window a small margin above a minute.
Within any second the overall count is kept as Telegram sees it: a request has arrived by
the time its answer is back, so the second after a send is counted from its answer, and a
send still waiting for one counts as arriving now. For the same reason a private chat's
next message is paced from the answer to its last one, not from the slot that one was
given: a send that went late must not let the next one land less than a second after it.
A 429 pauses the scope it came from for retry_after.

In a group, a customer's words relayed to the staff group (`chatter=True`) may take only
part of the minute: CHATTER_RESERVE of its messages are kept for case cards and notices, so
one chatty customer cannot hold a new case's card back for a minute.

Every other call that changes what a chat shows (an edit, a pin, a deletion, a forum topic's
state) and every answer to a button press takes its turn too, as `message=False`: it counts
in the overall pace and waits out its chat's 429 pause, but not the per-chat and per-group
limits, which Telegram sets on new messages only.
"""

from __future__ import annotations

import asyncio
import bisect
import math
import time
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass

from careloop.kernel.messenger import RetryAfter

RATE_MARGIN = 0.97
# Above Telegram's free 30 msg/s only paid broadcast goes (bot.settings refuses more
# without it), whose ceiling is 1000/s; there the pace is Telegram's figure itself. The
# margin that keeps Telegram's count within it is the sliding second (`_window_slot`): each
# send counts as arriving when its answer came back, later than it really arrived, so no
# second as Telegram counts it can hold more than the limit, however arrivals jitter; that
# costs about one round trip a second (well under 1% at a few ms). RATE_MARGIN's 3% on top
# would cap a paid broadcast at 970/s by construction and guarantee nothing more. At 30/s
# (Telegram's "30 or so") the 3% stays: one message a second, and a 429 there stops every
# chat's messages for its retry_after.
FREE_RATE = 30.0
GROUP_WINDOW = 60.0
WINDOW_MARGIN = 0.5
PRIVATE_BURST = 3
# Of a group's messages per minute, this share is kept from customers' relayed words.
CHATTER_RESERVE = 0.25
# Two 429s for different chats this close together mean the overall scope is flooded.
GLOBAL_FLOOD_SPAN = 2.0
# A turn's `near` callback runs when its slot is this close: about one slot at 30 msg/s, so
# that what a crash leaves in doubt is hardly more than the calls really on their way.
NEAR = 0.05


class Paced(RetryAfter):
    """A turn further off than its caller would wait (`max_wait`): careloop's own pacing,
    not Telegram's answer, so nothing is paused; the message waits stored and is tried
    again after `seconds`."""


@dataclass(slots=True)
class _Bucket:
    tokens: float
    updated: float


class Limiter:
    # Whether other workers take their turns from the same limits (shared_limits).
    shared = False

    def __init__(
        self,
        per_second: float,
        chat_interval: float = 1.0,
        group_per_minute: int = 20,
        time_source: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self._gap = 1.0 / (per_second * (RATE_MARGIN if per_second <= FREE_RATE else 1.0))
        self._chat_interval = chat_interval / RATE_MARGIN
        self._group_limit = group_per_minute
        self._chatter_limit = max(1, group_per_minute - max(1, round(
            group_per_minute * CHATTER_RESERVE)))
        self._time = time_source
        self._sleep = sleep
        # Overall slots handed out, in time order and at least a gap apart. A message that
        # waits for its chat takes an overall slot at the time it will really go, so it
        # neither holds up other chats nor lands on top of their messages.
        self._slots: list[float] = []
        self._per_second = max(1, int(per_second))
        # When the answers to the latest sends came back, oldest first, and how many sends
        # are still waiting for theirs.
        self._answered: deque[float] = deque(maxlen=self._per_second)
        self._sending = 0
        self._flood_until = 0.0
        self._private: dict[int, _Bucket] = {}
        self._groups: dict[int, deque[float]] = {}
        self._paused: dict[int, float] = {}
        self._last_429: tuple[int, float] | None = None
        self.calls = 0  # calls Telegram took in their turn
        self.retry_afters = 0  # and those it answered with 429

    async def close(self) -> None:
        """Let go of what the limits are kept in (nothing here; Redis for shared ones)."""

    async def ping(self) -> str | None:
        """None when the limits can be kept (always, here); otherwise why not."""
        return None

    def peek(self, chat_id: int | None, *, message: bool = True, chatter: bool = False
             ) -> float:
        """How long a message to this chat (or another call, `message=False`; for a call in
        no chat, `chat_id` None; a customer's relayed words, `chatter`) would wait now;
        takes nothing."""
        now = self._time()
        return self._slot(chat_id, now, message, chatter) - now

    def room(self, chat_id: int) -> int:
        """How many more messages a group takes within its current minute."""
        now = self._time()
        self._forget(now)
        return self._group_limit - len(self._groups.get(chat_id, ()))

    def reserve(self, chat_id: int | None, *, message: bool = True, chatter: bool = False
                ) -> float:
        """Take the next slot for a message to this chat (see `peek`); returns how long to
        wait for it."""
        now = self._time()
        self._forget(now)
        at = self._slot(chat_id, now, message, chatter)
        bisect.insort(self._slots, at)
        if message and chat_id is not None:
            self._take(chat_id, at)
        return at - now

    @asynccontextmanager
    async def turn(self, chat_id: int | None, *, message: bool = True, chatter: bool = False,
                   near: Callable[[], object] | None = None,
                   max_wait: float = math.inf) -> AsyncIterator[None]:
        """Wait for this chat's next slot (see `peek`), then call Telegram inside the block;
        what Telegram took and its 429s are counted (bot.metrics). `near` is called once
        the slot is at most NEAR away (at once when it is nearer): the sender commits the
        attempt's mark then, while the turn waits, rather than inside the turn. A slot
        further off than `max_wait` raises Paced, and nothing is taken."""
        async with self._turn(chat_id, message=message, chatter=chatter, near=near,
                              max_wait=max_wait):
            try:
                yield
            except RetryAfter:
                self.retry_afters += 1
                raise
            self.calls += 1

    @asynccontextmanager
    async def _turn(self, chat_id: int | None, *, message: bool = True, chatter: bool = False,
                    near: Callable[[], object] | None = None,
                    max_wait: float = math.inf) -> AsyncIterator[None]:
        if (wait := self.peek(chat_id, message=message, chatter=chatter)) > max_wait:
            raise Paced(wait)
        await self._wait(self.reserve(chat_id, message=message, chatter=chatter), near)
        # The window may have moved while this waited: answers came back later than the
        # reservation could know (a slow request, a busy process).
        while (late := self._window_slot() - self._time()) > 0:
            await self._sleep(late)
        self._sending += 1
        try:
            yield
        finally:
            self._sending -= 1
            answered = self._time()
            self._answered.append(answered)
            if message and chat_id is not None:
                self._arrived(chat_id, answered)

    async def _wait(self, delay: float, near: Callable[[], object] | None) -> None:
        """Sleep `delay`, calling `near` when at most NEAR of it is left."""
        if near is not None:
            if delay > NEAR:
                await self._sleep(delay - NEAR)
                delay = NEAR
            near()
        if delay > 0:
            await self._sleep(delay)

    def pause(self, chat_id: int, seconds: float) -> None:
        """Telegram answered 429 for this chat: nothing more to it for `seconds`. A second
        429 from another chat soon after means the flood is overall: pause everything."""
        now = self._time()
        until = now + seconds
        self._paused[chat_id] = max(self._paused.get(chat_id, 0.0), until)
        last = self._last_429
        if chat_id > 0 and last is not None and last[0] != chat_id \
                and now - last[1] < GLOBAL_FLOOD_SPAN:
            self._flood_until = max(self._flood_until, until)
        if chat_id > 0:
            self._last_429 = (chat_id, now)

    def _slot(self, chat_id: int | None, now: float, message: bool = True,
              chatter: bool = False) -> float:
        earliest = max(now, self._flood_until, self._window_slot())
        if chat_id is not None:
            earliest = max(earliest, self._paused.get(chat_id, 0.0))
            if message:
                earliest = max(earliest, self._chat_slot(chat_id, now, chatter))
        return self._overall_slot(earliest)

    def _window_slot(self) -> float:
        """No more than the limit within any second as Telegram counts arrivals. A send
        arrives by the time its answer is back, so the next one waits until a second after
        the answer that keeps it within the limit; sends still waiting for theirs take room
        in the window as they may be arriving now."""
        room = self._per_second - self._sending - 1  # answered sends the window can hold
        if len(self._answered) <= room:
            return 0.0
        if room < 0:  # the limit's worth in flight at once: after the next answer
            return self._time() + self._gap
        return self._answered[-room - 1] + 1.0

    def _overall_slot(self, earliest: float) -> float:
        """The first time from `earliest` that is a gap away from every slot handed out."""
        at = earliest
        i = bisect.bisect_right(self._slots, at - self._gap)
        while i < len(self._slots) and self._slots[i] < at + self._gap:
            at = max(at, self._slots[i] + self._gap)
            i += 1
        return at

    def _chat_slot(self, chat_id: int, now: float, chatter: bool = False) -> float:
        """The earliest time this chat's own limit allows another message."""
        if chat_id < 0:  # groups and channels: a sliding one-minute window
            limit = self._chatter_limit if chatter else self._group_limit
            window = self._groups.get(chat_id)
            if window is None or len(window) < limit:
                return now
            return window[-limit] + GROUP_WINDOW + WINDOW_MARGIN
        if self._chat_interval <= 0:
            return now
        bucket = self._refilled(chat_id, now)
        base = max(now, bucket.updated)  # slots may already be taken ahead of now
        return base if bucket.tokens >= 1 else base + (1 - bucket.tokens) * self._chat_interval

    def _take(self, chat_id: int, at: float) -> None:
        if chat_id < 0:
            self._groups.setdefault(chat_id, deque()).append(at)
        elif self._chat_interval > 0:
            self._refilled(chat_id, at).tokens -= 1

    def _arrived(self, chat_id: int, at: float) -> None:
        """A private chat's message may have reached Telegram as late as `at`: its bucket
        refills from then, so a late send holds back the one after it."""
        bucket = self._private.get(chat_id)
        if bucket is not None and bucket.updated < at:
            bucket.updated = at

    def _refilled(self, chat_id: int, now: float) -> _Bucket:
        bucket = self._private.setdefault(chat_id, _Bucket(PRIVATE_BURST, now))
        if now > bucket.updated:
            bucket.tokens = min(PRIVATE_BURST, bucket.tokens +
                                (now - bucket.updated) / self._chat_interval)
            bucket.updated = now
        return bucket

    def _forget(self, now: float) -> None:
        # A broadcast touches each chat once: drop state that no longer limits anything.
        if len(self._private) > 10_000:
            self._private = {c: b for c, b in self._private.items() if b.updated > now - 10}
        stale = bisect.bisect_left(self._slots, now - self._gap)
        if stale:
            del self._slots[:stale]
        if len(self._paused) > 1_000:
            self._paused = {c: t for c, t in self._paused.items() if t > now}
        for window in self._groups.values():
            while window and window[0] < now - GROUP_WINDOW - WINDOW_MARGIN:
                window.popleft()
