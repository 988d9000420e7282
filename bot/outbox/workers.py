"""What the sender's workers share while a tick sends: the claimed messages they take from,
turns per chat, and the settler that records their outcomes in batches."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from typing import Generic, TypeVar

FLUSH_SECONDS = 0.2

T = TypeVar("T")


class Hopper(asyncio.Queue[T | None], Generic[T]):
    """The claimed messages the workers take from; the producer waits for it to run low."""

    def __init__(self) -> None:
        super().__init__()
        self._drained = asyncio.Event()

    async def get(self) -> T | None:
        item = await super().get()
        self._drained.set()
        return item

    async def low(self, mark: int) -> None:
        while self.qsize() > mark:
            self._drained.clear()
            await self._drained.wait()


class ChatTurns:
    """Takes turns per chat among the workers, and remembers chats Telegram said are gone."""

    def __init__(self) -> None:
        self.gone: set[int] = set()
        self._locks: dict[int, tuple[asyncio.Lock, int]] = {}

    @contextlib.asynccontextmanager
    async def turn(self, chat_id: int) -> AsyncIterator[None]:
        lock, users = self._locks.get(chat_id, (asyncio.Lock(), 0))
        self._locks[chat_id] = (lock, users + 1)
        try:
            async with lock:
                yield
        finally:
            lock, users = self._locks[chat_id]
            if users == 1:
                del self._locks[chat_id]  # a broadcast meets each chat once: keep no lock
            else:
                self._locks[chat_id] = (lock, users - 1)


class Settler(Generic[T]):
    """Records the workers' outcomes in the background, a batch at a time: a worker hands
    its outcome over and goes on sending. If recording falls behind, workers wait for it,
    so what is sent and not yet recorded stays a few batches at most."""

    def __init__(self, record: Callable[[Sequence[T]], Awaitable[None]], size: int) -> None:
        self._record = record
        self._size = size
        self._pending: list[T] = []
        self._ready = asyncio.Event()
        self._taken = asyncio.Event()
        self._closing = False
        self._task = asyncio.create_task(self._run())

    async def add(self, outcome: T) -> None:
        self._pending.append(outcome)
        if len(self._pending) >= self._size:
            self._ready.set()
        while len(self._pending) >= self._size * 4 and not self._task.done():
            self._taken.clear()
            await self._taken.wait()

    async def close(self) -> None:
        """Record what is left; raises if recording failed."""
        self._closing = True
        self._ready.set()
        await self._task

    async def _run(self) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._ready.wait(), FLUSH_SECONDS)
            self._ready.clear()
            batch, self._pending = self._pending, []
            self._taken.set()
            if batch:
                await self._record(batch)
            if self._closing and not self._pending:
                return


class Attempts(Generic[T]):
    """Marks claimed messages as attempted just before each is sent, committing the marks
    of the workers that arrive together in one go: a crash after the mark leaves an attempt
    in doubt, one before it a message that is simply sent later. A worker waits for its
    mark's commit; False means its claim was lost (another process recovered it), and the
    message must not be sent. `linger`: how long a mark waits for others to share its
    commit (at the paid rate the sends come a millisecond apart, and a commit each would
    cost more than the sends)."""

    def __init__(self, mark: Callable[[Sequence[T]], Awaitable[set[T]]],
                 linger: float = 0.0) -> None:
        self._mark = mark
        self._linger = linger
        self._waiting: dict[T, asyncio.Future[bool]] = {}
        self._task: asyncio.Task[None] | None = None

    def attempt(self, key: T) -> asyncio.Future[bool]:
        """Ask for the mark; the future is done once it is committed (a future, not a
        coroutine: at 1000 messages a second a task each would cost)."""
        future: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        self._waiting[key] = future
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._run())
        return future

    async def _run(self) -> None:
        while self._waiting:
            # Those who came while the last commit ran, or while this lingered, go together
            # in the next.
            if self._linger:
                await asyncio.sleep(self._linger)
            batch, self._waiting = self._waiting, {}
            try:
                won = await self._mark(list(batch))
            except Exception as exc:  # noqa: BLE001 - each waiting worker gets it, as from its own call
                for future in batch.values():
                    if not future.done():  # a worker cancelled while it waited
                        future.set_exception(exc)
                continue
            for key, future in batch.items():
                if not future.done():
                    future.set_result(key in won)
