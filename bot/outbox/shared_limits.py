"""Telegram's limits kept by several workers together, through Redis.

Telegram counts a bot's messages wherever they come from: three workers that each keep
30 msg/s send 90. With CARELOOP_REDIS_URL every turn is taken from Redis instead, by one Lua
script run atomically on the server, so no two workers can take the same slot:

- overall: a slot every 1/(rate × RATE_MARGIN) seconds (a GCRA: the next free slot is one
  key, moved on by a gap per message), the same for every worker;
- a private chat: its own slot, at most PRIVATE_BURST at once then one per chat interval;
- a group: a sliding minute of slots (a sorted set), the chatter share as ever;
- a 429: its chat paused for retry_after on every worker, and two 429s for different chats
  close together pause every worker's every send (the flood is overall).

A turn whose chat is not ready yet takes no overall slot (it waits and asks again), so one
paused chat never holds the others up. Redis's clock is every worker's clock here. If Redis
does not answer, this worker falls back to its own limits (logged once) until it does.

The local Limiter underneath still answers `peek` and `room` from what this worker sent:
estimates for decisions that only need one (see the sender's ATTEMPT_AHEAD).
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import RedisError

from careloop.bot.outbox.limiter import (
    CHATTER_RESERVE,
    GLOBAL_FLOOD_SPAN,
    GROUP_WINDOW,
    PRIVATE_BURST,
    RATE_MARGIN,
    WINDOW_MARGIN,
    Limiter,
)

log = logging.getLogger(__name__)

PREFIX = "careloop:limits:"
# Keys no send touched for this long are let go by Redis.
KEEP_MS = 120_000

# KEYS: overall, the chat's (slot or window), the chat's pause, the overall pause, the last
# 429. ARGV: gap, kind (0 no chat, 1 private, 2 group), chat interval, burst, group limit,
# group window, message (1) or another call (0).
# Returns the seconds to wait for the slot taken, or minus the seconds to wait before asking
# again when the chat is not ready (nothing taken).
TAKE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1e6
local gap, kind = tonumber(ARGV[1]), tonumber(ARGV[2])
local interval, burst = tonumber(ARGV[3]), tonumber(ARGV[4])
local limit, window, message = tonumber(ARGV[5]), tonumber(ARGV[6]), tonumber(ARGV[7])
local ready = now
local flood = tonumber(redis.call('GET', KEYS[4]) or '0')
if flood > ready then ready = flood end
local paused = tonumber(redis.call('GET', KEYS[3]) or '0')
if paused > ready then ready = paused end
local chat_tat = nil
if message == 1 and kind == 1 then
  chat_tat = tonumber(redis.call('GET', KEYS[2]) or '0')
  local allowed = chat_tat - (burst - 1) * interval
  if allowed > ready then ready = allowed end
elseif message == 1 and kind == 2 then
  redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now - window)
  if redis.call('ZCARD', KEYS[2]) >= limit then
    local oldest = redis.call('ZREVRANGE', KEYS[2], limit - 1, limit - 1, 'WITHSCORES')
    local free = tonumber(oldest[2]) + window
    if free > ready then ready = free end
  end
end
if ready > now + gap then
  return tostring(-(ready - now))
end
local tat = tonumber(redis.call('GET', KEYS[1]) or '0')
local slot = math.max(ready, tat)
redis.call('SET', KEYS[1], tostring(slot + gap), 'PX', 60000)
if chat_tat ~= nil then
  redis.call('SET', KEYS[2], tostring(math.max(chat_tat, slot) + interval), 'PX', ARGV[8])
elseif message == 1 and kind == 2 then
  redis.call('ZADD', KEYS[2], slot, tostring(slot) .. ':' .. tostring(math.random()))
  redis.call('PEXPIRE', KEYS[2], ARGV[8])
end
return tostring(slot - now)
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


class SharedLimiter(Limiter):
    """The Limiter's turns taken from Redis (see the module)."""

    shared = True

    def __init__(self, redis: Redis, per_second: float, chat_interval: float = 1.0,
                 group_per_minute: int = 20, **local: Any) -> None:
        super().__init__(per_second, chat_interval, group_per_minute, **local)
        self._redis = redis
        self._take_script = redis.register_script(TAKE)
        self._pause_script = redis.register_script(PAUSE)
        self._shared_gap = 1.0 / (per_second * RATE_MARGIN)
        self._interval = chat_interval / RATE_MARGIN
        self._group_per_minute = group_per_minute
        self._chatter = max(1, group_per_minute - max(1, round(
            group_per_minute * CHATTER_RESERVE)))
        self._away = False
        self._pausing: set[asyncio.Task[None]] = set()  # pauses on their way to Redis

    async def close(self) -> None:
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
    async def _turn(self, chat_id: int | None, *, message: bool = True, chatter: bool = False
                    ) -> AsyncIterator[None]:
        if not await self._shared_turn(chat_id, message, chatter):
            async with super()._turn(chat_id, message=message, chatter=chatter):
                yield
            return
        if message and chat_id is not None and chat_id < 0:
            self._take_local(chat_id)  # this worker's estimate of the group's minute
        yield

    async def _shared_turn(self, chat_id: int | None, message: bool, chatter: bool) -> bool:
        """Wait for a slot from Redis; False when Redis is away (the local limits apply)."""
        kind = 0 if chat_id is None else (1 if chat_id > 0 else 2)
        chat_key = f"{PREFIX}chat:{chat_id}"
        keys = [f"{PREFIX}overall", chat_key, f"{PREFIX}pause:{chat_id}",
                f"{PREFIX}flood", f"{PREFIX}last429"]
        args = [self._shared_gap, kind, self._interval, PRIVATE_BURST,
                self._chatter if chatter else self._group_per_minute,
                GROUP_WINDOW + WINDOW_MARGIN, int(message), KEEP_MS]
        while True:
            try:
                wait = float(await self._take_script(keys=keys, args=args))
            except (RedisError, OSError) as exc:
                if not self._away:
                    self._away = True
                    log.warning("Redis does not answer (%s): this worker keeps Telegram's "
                                "limits alone until it does", type(exc).__name__)
                return False
            if self._away:
                self._away = False
                log.info("Redis answers again: the limits are shared again")
            if wait >= 0:
                if wait:
                    await asyncio.sleep(wait)
                return True
            await asyncio.sleep(-wait)  # the chat is not ready: nothing was taken

    def _take_local(self, chat_id: int) -> None:
        self._groups.setdefault(chat_id, deque()).append(self._time())

    def pause(self, chat_id: int, seconds: float) -> None:
        super().pause(chat_id, seconds)
        task = asyncio.get_running_loop().create_task(self._share_pause(chat_id, seconds))
        self._pausing.add(task)
        task.add_done_callback(self._pausing.discard)

    async def _share_pause(self, chat_id: int, seconds: float) -> None:
        try:
            await self._pause_script(
                keys=[f"{PREFIX}pause:{chat_id}", f"{PREFIX}flood", f"{PREFIX}last429"],
                args=[seconds, chat_id, GLOBAL_FLOOD_SPAN, KEEP_MS])
        except (RedisError, OSError) as exc:
            log.warning("a 429's pause not shared: Redis does not answer (%s)",
                        type(exc).__name__)


def connect(url: str) -> Redis:
    return Redis.from_url(url, socket_timeout=5, socket_connect_timeout=5)
