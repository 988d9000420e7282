"""Fair handling of inbound updates: one chat's backlog does not hold up the others.

The runtime hands every update to `Inbound.process`, which stores it (inbound_update) and
returns: Telegram is told it arrived only once it is stored, so a crash loses nothing, and
the runtime can take the next update at once instead of waiting for this one to be
handled. Workers then handle the stored updates: each chat's strictly in order, one at a
time, and the chats in turn (round robin), a few at once. A customer who sends 300
messages has one of them handled at a time, while everyone else's go between them.

A per-user throttle (Throttle) keeps a flood cheap: beyond `per_minute` messages a minute
a customer's messages are still handled and stored, but get no reply one by one; the first
of them is answered with one polite notice, and what they write about an open case joins
their waiting relay in the staff group (kernel.effects.Chatter).

Several workers on PostgreSQL (bot.cluster): each stores what reaches it and queues the chat
here, but handles a chat's next update only while it holds the chat's lock in the database,
and then the chat's oldest stored update, whichever worker stored it; so one chat's updates
are handled once each and in order across workers. A chat another worker holds is tried
again shortly; updates a stopped worker stored are taken by the others' sweep.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import Enum
from typing import Any

from sqlalchemy import Row
from sqlalchemy.exc import SQLAlchemyError

from careloop.bot.cluster import Cluster
from careloop.bot.outage import Unavailable
from careloop.bot.pipeline import Pipeline
from careloop.kernel.clock import Clock
from careloop.kernel.updates import ChatKind, Update, update_from_data, update_to_data
from careloop.storage.errors import database_unavailable, reason
from careloop.storage.uow import UnitOfWorkFactory

log = logging.getLogger(__name__)

# Chats handled at once. Each update is mostly database round trips and a call or two to
# Telegram, so a few overlap well even on SQLite's one writer.
WORKERS = 4
# A stored update whose handling failed for want of the database is tried again after
# this long, doubling up to RETRY_MAX; its chat waits, the other chats go on.
RETRY_FIRST = 1.0
RETRY_MAX = 30.0
# On SQLite (one writer, held by an update's handling from its first write to its commit)
# storing arriving updates goes first: a worker starts its next update only once no update
# has been stored for this long, or once it has waited ARRIVALS_MAX. Otherwise each store
# would wait for a handling, and reading ahead would be no faster than handling.
ARRIVALS_GAP = 0.005
ARRIVALS_MAX = 0.5
# A chat over its rate waits for a moment when no other chat's update is being handled,
# but no longer than this.
BACKGROUND_EVERY = 1.0
# Updates taken while polling are stored at the latest when this many are waiting (a
# getUpdates batch holds at most 100).
HOLD_MAX = 100
# Several workers: a chat another worker is handling is tried again after this long.
BUSY_RETRY = 0.02
# Several workers: an update stored this long ago and still not handled was stored by a
# worker that stopped (or is stuck); the sweep, every SWEEP_EVERY, offers it to this one.
SWEEP_AGE = 3.0
SWEEP_EVERY = 2.0
# Users whose buckets are kept at most; full ones are forgotten first.
KEEP_USERS = 10_000


class Verdict(Enum):
    """What the throttle says about one message."""

    ANSWER = "answer"  # within the user's rate: handled as ever
    NOTICE = "notice"  # the first beyond it: handled, and the one polite notice instead
    QUIET = "quiet"  # further beyond it: handled and stored, no reply


@dataclass(slots=True)
class _Bucket:
    tokens: float
    at: float
    noticed: bool = False


class Throttle:
    """A token bucket per user: `per_minute` messages a minute, up to a minute's worth at
    once. The notice is given once per flood: again only after the user's bucket has been
    full again (a quiet minute)."""

    def __init__(self, per_minute: int) -> None:
        self._burst = float(per_minute)
        self._rate = per_minute / 60.0
        self._users: dict[int, _Bucket] = {}

    def take(self, user_id: int, now: float) -> Verdict:
        bucket = self._users.get(user_id)
        if bucket is None:
            if len(self._users) >= KEEP_USERS:
                self._forget_full(now)
            bucket = self._users[user_id] = _Bucket(self._burst, now)
        else:
            bucket.tokens = min(self._burst, bucket.tokens + (now - bucket.at) * self._rate)
            bucket.at = max(bucket.at, now)
        if bucket.tokens >= self._burst:
            bucket.noticed = False  # calm again: a new flood gets a new notice
        if bucket.tokens >= 1:
            bucket.tokens -= 1
            return Verdict.ANSWER
        if bucket.noticed:
            return Verdict.QUIET
        bucket.noticed = True
        return Verdict.NOTICE

    def over(self, user_id: int, now: float) -> bool:
        """Whether the user's next message would be beyond their rate (takes nothing)."""
        bucket = self._users.get(user_id)
        if bucket is None:
            return False
        return bucket.tokens + max(0.0, now - bucket.at) * self._rate < 1

    def _forget_full(self, now: float) -> None:
        self._users = {u: b for u, b in self._users.items()
                       if b.tokens + (now - b.at) * self._rate < self._burst}


def throttled(update: Update) -> bool:
    """Whether an update counts against its sender's rate: a message in a private chat.
    Button presses are bounded by the buttons careloop sent; groups have their own
    moderation."""
    return update.chat.kind is ChatKind.PRIVATE and not update.is_button \
        and update.member_change is None


class Inbound:
    """Stores each update on arrival and handles the stored ones fairly (see the module)."""

    def __init__(self, pipeline: Pipeline, uow: UnitOfWorkFactory, clock: Clock, *,
                 workers: int = WORKERS, per_minute: int = 20,
                 arrivals_first: bool = False, cluster: Cluster | None = None,
                 latency: Callable[[float], None] = lambda _seconds: None) -> None:
        """`arrivals_first`: the database has one writer (SQLite); see ARRIVALS_GAP.
        `cluster`: on PostgreSQL, the chats' locks shared with other workers."""
        self._cluster = cluster if cluster is not None and cluster.postgres else None
        self._latency = latency  # seconds from arrival to handled, for bot.metrics
        self._arrived: dict[int, float] = {}  # update id: when it was queued (loop time)
        self._pipeline = pipeline
        self._uow = uow
        self._clock = clock
        self._workers_wanted = max(1, workers)
        self._throttle = Throttle(per_minute)
        self._chats: dict[int, deque[Update]] = {}  # each chat's updates, in order
        self._ready: deque[int] = deque()  # chats with updates and no worker, in turn
        # Chats whose next update is from a user over their rate: handled in the background
        # (see _eligible), so that a flood does not compete with everyone else's updates.
        self._background: deque[int] = deque()
        self._answering = 0  # updates of the other chats being handled now
        self._background_at = 0.0  # when a background chat last had its turn
        self._known: set[int] = set()  # update ids queued here
        self._retries: dict[int, float] = {}  # chats waiting to try again: the next delay
        self._holding = False
        self._held: list[Update] = []  # taken while polling, not yet stored (see hold)
        self._held_ids: set[int] = set()
        self._wake = asyncio.Condition()
        self._workers: list[asyncio.Task[None]] = []
        self._pending: set[asyncio.Task[None]] = set()  # chats lined up again later
        self._started = False
        self._stopping = False
        self._idle = asyncio.Event()
        self._idle.set()
        self._arrivals_first = arrivals_first
        self._storing = 0  # arriving updates being stored now
        self._stored_at = 0.0  # when the last one was stored (the loop's time)

    async def process(self, update: Update) -> None:
        """The runtime's hook: keep the update and return once it is stored (a database
        error is raised, and the runtime does not confirm the update). When polling
        (`hold`), it is only taken here, and stored by `flush`."""
        if not self._started:
            await self.start()
        if update.update_id in self._known or update.update_id in self._held_ids:
            return  # Telegram sent it again before it was handled: it is queued already
        if self._holding:
            self._held.append(update)
            self._held_ids.add(update.update_id)
            if len(self._held) >= HOLD_MAX:
                await self.flush()
            return
        await self._store([update])

    def hold(self) -> None:
        """Polling: updates are confirmed to Telegram by the next getUpdates, so a whole
        batch can be stored in one commit; `process` takes them, and the runtime calls
        `flush` before it asks for more (webhook posts are stored one by one)."""
        self._holding = True

    async def flush(self) -> None:
        """Store what `process` took, in one commit; a database error is raised and the
        updates stay taken (the runtime must not confirm them)."""
        held = self._held
        if not held:
            return
        await self._store(held)
        self._held = []
        self._held_ids.clear()

    async def _store(self, updates: list[Update]) -> None:
        """Raises Unavailable when the database is away: the runtime then confirms nothing
        (polling tries again in place, a webhook answers 503; see bot.outage)."""
        self._storing += 1
        try:
            async with self._uow.writing() as uow:
                # Those stored before a restart (start() queued them) are not stored again.
                stored = await uow.inbox.keep_new(
                    [(u.update_id, u.chat.id, update_to_data(u)) for u in updates],
                    self._clock.now())
                await uow.commit()
            fresh = [u for u in updates if u.update_id in stored]
        except Exception as exc:
            if database_unavailable(exc):
                raise Unavailable(updates[0].update_id, reason(exc)) from exc
            raise
        finally:
            self._storing -= 1
            self._stored_at = asyncio.get_running_loop().time()
        for update in fresh:
            await self._queue(update)

    async def start(self) -> None:
        """Queue what a previous process stored and did not handle, then start the
        workers."""
        if self._started:
            return
        self._started, self._stopping = True, False
        async with self._uow() as uow:
            waiting = [update_from_data(row.payload) for row in await uow.inbox.waiting()]
        for update in waiting:
            if update.update_id not in self._known:
                await self._queue(update)
        if waiting:
            log.info("%d update(s) stored before a restart are handled now", len(waiting))
        self._workers = [asyncio.create_task(self._work())
                         for _ in range(self._workers_wanted)]

    @property
    def shared(self) -> bool:
        """Whether other workers may handle this database's updates too."""
        return self._cluster is not None

    async def sweep(self) -> int:
        """Offer this worker the updates stored a while ago and not handled since (their
        worker stopped); the chats' locks decide who handles them. Returns how many."""
        if not self._started or self._stopping:
            return 0
        before = self._clock.now() - timedelta(seconds=SWEEP_AGE)
        async with self._uow() as uow:
            rows = await uow.inbox.waiting_before(before)
        taken = 0
        for row in rows:
            if row.update_id not in self._known:
                await self._queue(update_from_data(row.payload))
                taken += 1
        if taken:  # usually a slow or stopped worker's; the chats' locks keep it once
            log.debug("%d update(s) stored a while ago offered to this worker", taken)
        return taken

    async def stop(self) -> None:
        """Finish the updates in hand; the rest stay stored for the next start."""
        if not self._started:
            return
        self._stopping = True
        async with self._wake:
            self._wake.notify_all()
        await asyncio.gather(*self._workers, return_exceptions=True)
        self._workers = []
        for task in list(self._pending):
            task.cancel()
        await asyncio.gather(*self._pending, return_exceptions=True)
        self._chats.clear()
        self._ready.clear()
        self._background.clear()
        self._known.clear()
        self._arrived.clear()
        # Taken and not stored: not confirmed either, so Telegram sends them again.
        self._held, self._holding = [], False
        self._held_ids.clear()
        self._started = False
        self._idle.set()

    async def idle(self) -> None:
        """Wait until every update taken so far has been handled (tests and benchmarks)."""
        await self._idle.wait()

    async def _queue(self, update: Update) -> None:
        chat = update.chat.id
        self._known.add(update.update_id)
        self._arrived.setdefault(update.update_id, asyncio.get_running_loop().time())
        self._idle.clear()
        queue = self._chats.setdefault(chat, deque())
        queue.append(update)
        # The update in hand stays first in its queue until it is handled: a chat with
        # nothing else queued has no worker either.
        if len(queue) == 1:
            await self._line_up(chat)

    async def _line_up(self, chat: int) -> None:
        """Put a chat with updates at the back of its line: every other chat goes first."""
        update = self._chats[chat][0]
        over = throttled(update) and self._throttle.over(
            update.user.id, self._clock.now().timestamp())
        (self._background if over else self._ready).append(chat)
        async with self._wake:
            self._wake.notify_all()

    def _eligible(self) -> bool:
        """A background chat's turn: when no other chat's update is being handled, and at
        least once every BACKGROUND_EVERY seconds however busy the others are."""
        if not self._background:
            return False
        waited = asyncio.get_running_loop().time() - self._background_at
        return self._answering == 0 or waited > BACKGROUND_EVERY

    async def _next_chat(self) -> tuple[int, bool] | None:
        async with self._wake:
            await self._wake.wait_for(
                lambda: bool(self._ready) or self._eligible() or self._stopping)
            if self._stopping:
                return None
            if self._ready:
                self._answering += 1
                return self._ready.popleft(), False
            self._background_at = asyncio.get_running_loop().time()
            return self._background.popleft(), True

    async def _work(self) -> None:
        while (taken := await self._next_chat()) is not None:
            chat, background = taken
            try:
                await self._turn(chat)
            finally:
                if not background:
                    self._answering -= 1
                async with self._wake:
                    self._wake.notify_all()

    async def _turn(self, chat: int) -> None:
        if self._cluster is not None:
            await self._shared_turn(chat, self._cluster)
            return
        queue = self._chats[chat]
        update = queue[0]
        await self._after_arrivals()
        if not await self._handle(update):
            # Its chat waits (nothing overtakes it); the other chats go on.
            await self._back_off(chat)
            return
        queue.popleft()
        self._known.discard(update.update_id)
        self._handled(update.update_id)
        self._retries.pop(chat, None)
        await self._next_of(chat, queue)

    async def _shared_turn(self, chat: int, cluster: Cluster) -> None:
        """One update of the chat, under its lock: the oldest stored, whoever stored it. The
        updates queued here are tickets: the one handled is let go, and all of them once
        none of the chat's is stored. A ticket whose update another worker handled is let go
        on a later turn that finds none stored (or handles another worker's update in its
        place), rather than looked up after every update: one statement fewer each."""
        queue = self._chats[chat]
        handled = True
        row: Row[Any] | None = None
        try:
            async with cluster.chat(chat) as (held, row):
                if not held:
                    self._later(chat, BUSY_RETRY)  # another worker has it in hand
                    return
                if row is not None:
                    handled = await self._handle(update_from_data(row.payload))
                    if handled:
                        self._handled(row.update_id, row.received_at)
        except Exception as exc:
            if not database_unavailable(exc):
                raise
            log.warning("chat's updates not handled: %s; trying again", reason(exc))
            handled = False
        if not handled:
            await self._back_off(chat)
            return
        self._retries.pop(chat, None)
        for update in [u for u in queue if row is None or u.update_id == row.update_id]:
            queue.remove(update)
            self._known.discard(update.update_id)
            self._arrived.pop(update.update_id, None)
        await self._next_of(chat, queue)

    async def _next_of(self, chat: int, queue: deque[Update]) -> None:
        """The chat's next turn, or the chat let go once its queue is empty."""
        if queue:
            await self._line_up(chat)
        else:
            del self._chats[chat]
            if not self._chats:
                self._idle.set()

    def _handled(self, update_id: int, received_at: datetime | None = None) -> None:
        arrived = self._arrived.pop(update_id, None)
        if arrived is not None:
            self._latency(asyncio.get_running_loop().time() - arrived)
        elif received_at is not None:  # stored by another worker
            self._latency(max(0.0, (self._clock.now() - received_at).total_seconds()))

    def _later(self, chat: int, delay: float) -> None:
        """Line the chat up again after `delay`, without holding a worker meanwhile."""
        async def again() -> None:
            await asyncio.sleep(delay)
            if not self._stopping and chat in self._chats:
                await self._line_up(chat)

        task = asyncio.create_task(again())
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)

    async def _after_arrivals(self) -> None:
        if not self._arrivals_first:
            return
        loop = asyncio.get_running_loop()
        # Polled: an arrival is a few milliseconds of work, and a quiet gap is what counts.
        for _ in range(int(ARRIVALS_MAX / ARRIVALS_GAP)):
            arriving = self._storing or loop.time() - self._stored_at < ARRIVALS_GAP
            if not arriving or self._stopping:
                return
            await asyncio.sleep(ARRIVALS_GAP)

    async def _handle(self, update: Update) -> bool:
        verdict = (self._throttle.take(update.user.id, self._clock.now().timestamp())
                   if throttled(update) else Verdict.ANSWER)
        try:
            await self._pipeline.process(update, quiet=verdict is not Verdict.ANSWER,
                                         notice=verdict is Verdict.NOTICE)
        except Unavailable as exc:  # the database away: the update stays stored, comes again
            log.warning("update %s not handled: %s; trying again in %.1f s", update.update_id,
                        exc.reason, self._retries.get(update.chat.id, RETRY_FIRST))
            return False
        except Exception:
            # Not the database's: trying again would fail the same way, and hold up its chat.
            log.exception("update %s failed; it is not tried again", update.update_id)
            await self._forget(update)
        return True

    async def _forget(self, update: Update) -> None:
        """A stored update that cannot be handled is dropped (the pipeline drops those whose
        handler failed; this is for a failure around it)."""
        try:
            async with self._uow.writing() as uow:
                await uow.inbox.done(update.update_id)
                await uow.commit()
        except (SQLAlchemyError, OSError) as exc:  # the database may be why: the next start
            log.warning("update %s stays stored: %s", update.update_id, type(exc).__name__)

    async def _back_off(self, chat: int) -> None:
        delay = self._retries.get(chat, RETRY_FIRST)
        self._retries[chat] = min(delay * 2, RETRY_MAX)
        with contextlib.suppress(asyncio.TimeoutError):
            async with self._wake:
                await asyncio.wait_for(self._wake.wait_for(lambda: self._stopping), delay)
        if not self._stopping:
            await self._line_up(chat)
