"""Telegram's limits kept by several workers together, through Redis.

Telegram counts a bot's messages wherever they come from: three workers that each keep
30 msg/s send 90. With CARELOOP_REDIS_URL every turn is taken from Redis instead, by one Lua
script run atomically on the server, so no two workers can take the same slot:

- overall: at most the rate's worth of calls within any second as Telegram counts them, by
  when they arrive. No worker knows that, but a call has arrived by the time its answer is
  back: so every turn taken is an entry in a sliding one-second log (a sorted set) that
  counts as in flight until its worker reports the answer, and is then scored at the
  answer's time (on Redis's clock: when the report runs, less how long ago the worker had
  the answer, so a report's own delay is not counted as in flight). A turn is given only
  when the log leaves room for it; when it does not, it is given for the moment the oldest
  answered entry leaves the log (the worker sleeps till then), and it counts as in flight
  from now. However late a request arrives after its turn, the second around it never
  holds more than the limit (the proof is in tests/unit/test_shared_limits.py). On top of
  that the turns keep a pace a gap apart (as one worker keeps it: RATE_MARGIN below 30/s,
  the paid rate itself), so they are spread over the second;
- a private chat: its own slot, at most PRIVATE_BURST at once then one per chat interval,
  and its bucket does not refill while a message to it is in flight (as the one-process
  limiter paces from the answer): a late send holds back the next one;
- a group: a sliding minute of slots (a sorted set) with its entries moved to their
  answer's time, the chatter share as ever;
- a 429: its chat paused for retry_after on every worker, and two 429s for different chats
  close together pause every worker's every send (the flood is overall).

An entry whose answer is never reported (its worker died mid-send) counts as in flight for
LEASE seconds, longer than a request may take, then leaves the log like an answered one.
A turn whose chat is not ready yet takes no overall slot (it waits and asks again), so one
paused chat never holds the others up. The turns a worker asks for at once go to Redis in
one call, as do the answers it reports (one call in flight each, the next one taking all
that queued meanwhile), so a busy worker pays about a round trip per batch, not per send.
Redis's clock is every worker's clock here. If Redis does not answer, this worker falls
back to its own limits (logged once) until it does.

The local Limiter underneath still answers `peek` and `room` from what this worker sent:
estimates for decisions that only need one (the outbound queue's and the executor's).
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import math
import uuid
from collections import deque
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import RedisError

from careloop.bot.outbox.limiter import (
    CHATTER_RESERVE,
    GLOBAL_FLOOD_SPAN,
    GROUP_WINDOW,
    PRIVATE_BURST,
    WINDOW_MARGIN,
    Limiter,
    Paced,
)

log = logging.getLogger(__name__)

PREFIX = "careloop:limits:"


def bot_prefix(bot_id: int | None) -> str:
    """A bot's keys: Telegram's limits are each bot's own, so two bots whose workers share a
    Redis database (a staging bot beside the production one) keep theirs apart."""
    return f"{PREFIX}{bot_id or 0}:"


# Keys no send touched for this long are let go by Redis.
KEEP_MS = 120_000
# A turn whose answer is never reported counts as in flight this long: more than a request
# may take (the 20 s request timeout, and the attempt's commit before it).
LEASE = 30.0
# When the limit's worth of calls is in flight at once, ask again after this long.
BUSY_RETRY = 0.01
# At most this many turns asked for, or answers reported, in one call to Redis.
BATCH = 100

# KEYS: the overall log, the overall pace, the overall pause; then for each turn its chat's
# key (slot or window) and its chat's pause.
# ARGV: limit per second, gap, lease, keep (ms), chat interval, burst, group window,
# retry when busy; then for each turn: kind (0 no chat, 1 private, 2 group), group limit,
# message (1) or another call (0), the turn's name.
# Returns for each turn the seconds to wait for the slot taken, or minus the seconds to wait
# before asking again when it is not ready (nothing taken).
TAKE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1e6
local limit, gap, lease = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local keep, interval, burst = ARGV[4], tonumber(ARGV[5]), tonumber(ARGV[6])
local window, busy = tonumber(ARGV[7]), tonumber(ARGV[8])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - 1)
local count = redis.call('ZCARD', KEYS[1])
local pace = tonumber(redis.call('GET', KEYS[2]) or '0')
local flood = tonumber(redis.call('GET', KEYS[3]) or '0')
local out = {}
for i = 1, (#ARGV - 8) / 4 do
  local a = 8 + (i - 1) * 4
  local kind, glimit, message = tonumber(ARGV[a + 1]), tonumber(ARGV[a + 2]), tonumber(ARGV[a + 3])
  local name, chat, pause = ARGV[a + 4], KEYS[2 + 2 * i], KEYS[3 + 2 * i]
  local ready = math.max(now, flood)
  local paused = tonumber(redis.call('GET', pause) or '0')
  if paused > ready then ready = paused end
  local chat_tat = nil
  if message == 1 and kind == 1 then
    chat_tat = tonumber(redis.call('GET', chat) or '0')
    local allowed = chat_tat - (burst - 1) * interval
    if allowed > ready then ready = allowed end
  elseif message == 1 and kind == 2 then
    redis.call('ZREMRANGEBYSCORE', chat, '-inf', now - window)
    if redis.call('ZCARD', chat) >= glimit then
      local oldest = redis.call('ZREVRANGE', chat, glimit - 1, glimit - 1, 'WITHSCORES')
      local free = tonumber(oldest[2]) + window
      if free > ready then ready = free end
    end
  end
  local slot = nil
  if ready > now + gap then
    out[i] = tostring(-(ready - now))
  else
    slot = math.max(ready, pace)
    if count >= limit then
      -- the entry whose leaving makes room: answered ones are scored in the past,
      -- those in flight a lease ahead
      local e = redis.call('ZRANGE', KEYS[1], count - limit, count - limit, 'WITHSCORES')
      local score = tonumber(e[2])
      if score > now then
        slot = nil
        out[i] = tostring(-busy)
      elseif score + 1 > slot then
        slot = score + 1
      end
    end
  end
  if slot ~= nil then
    redis.call('ZADD', KEYS[1], slot + lease, name)
    count = count + 1
    pace = slot + gap
    if chat_tat ~= nil then
      redis.call('SET', chat, tostring(math.max(chat_tat, slot) + interval), 'PX', keep)
    elseif message == 1 and kind == 2 then
      redis.call('ZADD', chat, slot, name)
      redis.call('PEXPIRE', chat, keep)
    end
    out[i] = tostring(slot - now)
  end
end
redis.call('SET', KEYS[2], tostring(pace), 'PX', 60000)
redis.call('PEXPIRE', KEYS[1], keep)
return out
"""

# KEYS: the overall log; then for each turn its chat's key. ARGV: lease, keep (ms); then for
# each turn: its name, kind (as TAKE's), and how long ago its answer came back (measured
# by the worker just before this call). Each turn's entry is scored at its answer's time:
# now less that age, which is no earlier than the answer really came (the call left the
# worker after the age was measured, and reaches Redis later still), so the second after
# it is still counted from no earlier than the request could have arrived; but the time
# the answer waited for this call (the batch before it, a busy worker) is not counted as
# in flight. A private chat's slot moves on by the time its message was in flight (no
# refill meanwhile); a group's entry is scored at the answer too.
ANSWERED = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1e6
local lease, keep = tonumber(ARGV[1]), ARGV[2]
for i = 1, (#ARGV - 2) / 3 do
  local a = 2 + (i - 1) * 3
  local name, kind, chat = ARGV[a + 1], tonumber(ARGV[a + 2]), KEYS[1 + i]
  local at = now - tonumber(ARGV[a + 3])
  local held = redis.call('ZSCORE', KEYS[1], name)
  redis.call('ZADD', KEYS[1], at, name)
  if kind == 1 and held and tonumber(held) > now then
    local late = at - (tonumber(held) - lease)
    local tat = redis.call('GET', chat)
    if tat and late > 0 then
      redis.call('SET', chat, tostring(tonumber(tat) + late), 'PX', keep)
    end
  elseif kind == 2 then
    redis.call('ZADD', chat, 'XX', at, name)
  end
end
redis.call('PEXPIRE', KEYS[1], keep)
return 1
"""

# KEYS: the chat's pause, the overall pause, the last 429. ARGV: seconds, chat id, flood
# span, keep (ms).
PAUSE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1e6
local till = now + tonumber(ARGV[1])
local chat = ARGV[2]
local before = tonumber(redis.call('GET', KEYS[1]) or '0')
if till > before then
  redis.call('SET', KEYS[1], tostring(till), 'PX', math.ceil(tonumber(ARGV[1]) * 1000) + 1000)
end
if tonumber(chat) > 0 then
  local last = redis.call('HMGET', KEYS[3], 'chat', 'at')
  if last[1] and last[1] ~= chat and now - tonumber(last[2]) < tonumber(ARGV[3]) then
    local flood = tonumber(redis.call('GET', KEYS[2]) or '0')
    if till > flood then
      redis.call('SET', KEYS[2], tostring(till), 'PX', math.ceil(tonumber(ARGV[1]) * 1000) + 1000)
    end
  end
  redis.call('HSET', KEYS[3], 'chat', chat, 'at', tostring(now))
  redis.call('PEXPIRE', KEYS[3], ARGV[4])
end
return 1
"""


@dataclass(slots=True)
class _Turn:
    """A turn asked of Redis: its chat's keys and its arguments to TAKE."""

    name: str
    kind: int
    chat_key: str
    keys: tuple[str, str]
    args: tuple[int, int, int, str]
    answer: asyncio.Future[float | None] = field(
        default_factory=lambda: asyncio.get_running_loop().create_future())
    answered: float = 0.0  # when its call's answer came back (the limiter's clock)


class SharedLimiter(Limiter):
    """The Limiter's turns taken from Redis (see the module)."""

    shared = True

    def __init__(self, redis: Redis, per_second: float, chat_interval: float = 1.0,
                 group_per_minute: int = 20, *, lease: float = LEASE, prefix: str = PREFIX,
                 **local: Any) -> None:
        super().__init__(per_second, chat_interval, group_per_minute, **local)
        self._redis = redis
        self._prefix = prefix  # the keys' (one bot's limits: bot_prefix)
        self._take_script = redis.register_script(TAKE)
        self._answered_script = redis.register_script(ANSWERED)
        self._pause_script = redis.register_script(PAUSE)
        self._lease = lease
        # The pace and the chat interval as one worker keeps them (bot.outbox.limiter).
        self._common = [max(1, int(per_second)), self._gap, lease,
                        KEEP_MS, self._chat_interval, PRIVATE_BURST,
                        GROUP_WINDOW + WINDOW_MARGIN, BUSY_RETRY]
        self._group_per_minute = group_per_minute
        self._chatter = max(1, group_per_minute - max(1, round(
            group_per_minute * CHATTER_RESERVE)))
        # Each turn's entry in the log is named for this worker and a count.
        self._names = (f"{uuid.uuid4().hex[:12]}:{n}" for n in itertools.count())
        self._asked: list[_Turn] = []  # waiting for the next call to TAKE
        self._back: list[_Turn] = []  # answered, waiting for the next call to ANSWERED
        self._taking: asyncio.Task[None] | None = None
        self._reporting: asyncio.Task[None] | None = None
        self._away = False
        self._pausing: set[asyncio.Task[None]] = set()  # pauses on their way to Redis

    async def close(self) -> None:
        if self._reporting is not None:  # the answers reported: nothing left in flight
            await asyncio.wait([self._reporting], timeout=5)
        await self._redis.aclose()

    async def ping(self) -> str | None:
        """None when Redis answers; otherwise why not (for /readyz)."""
        try:
            async with asyncio.timeout(5):
                await self._redis.ping()  # type: ignore[misc]  # typed sync|async
        except (RedisError, OSError, TimeoutError) as exc:
            return f"Redis does not answer ({type(exc).__name__})"
        return None

    @asynccontextmanager
    async def _turn(self, chat_id: int | None, *, message: bool = True, chatter: bool = False,
                    near: Callable[[], object] | None = None,
                    max_wait: float = math.inf) -> AsyncIterator[None]:
        turn = await self._shared_turn(chat_id, message, chatter, near, max_wait)
        if turn is None:
            async with super()._turn(chat_id, message=message, chatter=chatter, near=near,
                                     max_wait=max_wait):
                yield
            return
        if message and chat_id is not None and chat_id < 0:
            self._take_local(chat_id)  # this worker's estimate of the group's minute
        try:
            yield
        finally:
            self._back_from(turn)

    async def _shared_turn(self, chat_id: int | None, message: bool, chatter: bool,
                           near: Callable[[], object] | None,
                           max_wait: float) -> _Turn | None:
        """Wait for a slot from Redis; None when Redis is away (the local limits apply)."""
        kind = 0 if chat_id is None else (1 if chat_id > 0 else 2)
        group_limit = self._chatter if chatter else self._group_per_minute
        chat_key = f"{self._prefix}chat:{chat_id}"
        while True:
            name = next(self._names)
            turn = _Turn(name, kind if message else 0, chat_key,
                         (chat_key, f"{self._prefix}pause:{chat_id}"),
                         (kind, group_limit, int(message), name))
            wait = await self._ask(turn)
            if wait is None:
                return None
            if wait < 0:  # not ready: nothing was taken
                if -wait > max_wait:
                    # Another worker may have filled the chat's minute: this worker's own
                    # `peek` cannot know, so the caller learns it here.
                    raise Paced(-wait)
                await asyncio.sleep(-wait)
                continue
            try:
                await self._wait(wait, near)
            except asyncio.CancelledError:
                self._back_from(turn)  # nothing sent: let the slot go
                raise
            return turn

    async def _ask(self, turn: _Turn) -> float | None:
        """TAKE's answer for this turn, asked together with the others waiting; None when
        Redis does not answer."""
        self._asked.append(turn)
        if self._taking is None or self._taking.done():
            self._taking = asyncio.get_running_loop().create_task(self._take_asked())
        try:
            return await asyncio.shield(turn.answer)
        except asyncio.CancelledError:
            # Taken by the call on its way, perhaps: its entry is let go once it is back.
            turn.answer.add_done_callback(lambda f: self._let_go(turn, f))
            raise

    def _let_go(self, turn: _Turn, answer: asyncio.Future[float | None]) -> None:
        wait = None if answer.cancelled() else answer.result()
        if wait is not None and wait >= 0:
            self._back_from(turn)

    async def _take_asked(self) -> None:
        while self._asked:
            batch, self._asked = self._asked[:BATCH], self._asked[BATCH:]
            keys = [f"{self._prefix}window", f"{self._prefix}overall", f"{self._prefix}flood"]
            args: list[Any] = list(self._common)
            for turn in batch:
                keys += turn.keys
                args += turn.args
            waits: list[float | None]
            try:
                waits = [float(w) for w in await self._take_script(keys=keys, args=args)]
            except (RedisError, OSError) as exc:
                self._went_away(exc)
                waits = [None] * len(batch)
            else:
                self._came_back()
            for turn, wait in zip(batch, waits, strict=True):
                turn.answer.set_result(wait)

    def _back_from(self, turn: _Turn) -> None:
        """The call in this turn has its answer (or was never made): report it to Redis
        with the others back meanwhile."""
        turn.answered = self._time()
        self._back.append(turn)
        if self._reporting is None or self._reporting.done():
            self._reporting = asyncio.get_running_loop().create_task(self._report())

    async def _report(self) -> None:
        while self._back:
            batch, self._back = self._back[:BATCH], self._back[BATCH:]
            keys = [f"{self._prefix}window"] + [turn.chat_key for turn in batch]
            args: list[Any] = [self._lease, KEEP_MS]
            now = self._time()
            for turn in batch:
                # Never more than a lease: the entry would have left the log by then anyway.
                args += [turn.name, turn.kind, min(self._lease, max(0.0, now - turn.answered))]
            try:
                await self._answered_script(keys=keys, args=args)
            except (RedisError, OSError) as exc:
                # Their entries count as in flight until their lease runs out.
                self._went_away(exc)

    def _went_away(self, exc: Exception) -> None:
        if not self._away:
            self._away = True
            log.warning("Redis does not answer (%s): this worker keeps Telegram's "
                        "limits alone until it does", type(exc).__name__)

    def _came_back(self) -> None:
        if self._away:
            self._away = False
            log.info("Redis answers again: the limits are shared again")

    def _take_local(self, chat_id: int) -> None:
        self._groups.setdefault(chat_id, deque()).append(self._time())

    def pause(self, chat_id: int, seconds: float) -> None:
        super().pause(chat_id, seconds)
        task = asyncio.get_running_loop().create_task(self._share_pause(chat_id, seconds))
        self._pausing.add(task)
        task.add_done_callback(self._pausing.discard)

    async def _share_pause(self, chat_id: int, seconds: float) -> None:
        try:
            prefix = self._prefix
            await self._pause_script(
                keys=[f"{prefix}pause:{chat_id}", f"{prefix}flood", f"{prefix}last429"],
                args=[seconds, chat_id, GLOBAL_FLOOD_SPAN, KEEP_MS])
        except (RedisError, OSError) as exc:
            log.warning("a 429's pause not shared: Redis does not answer (%s)",
                        type(exc).__name__)


def connect(url: str) -> Redis:
    return Redis.from_url(url, socket_timeout=5, socket_connect_timeout=5)
