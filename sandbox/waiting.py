"""Waiting on the sandbox: until a condition holds, or until the bot has nothing left to do."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Iterator
from typing import TypeVar

from careloop.sandbox.recording import RecordedRequest
from careloop.sandbox.world import World

T = TypeVar("T")


class Activity:
    """The bot's requests being answered and when it last did something: what wait_idle
    watches."""

    def __init__(self, world: World) -> None:
        self.world = world
        self.in_flight = 0
        self.last = 0.0  # the event loop's time

    def touch(self) -> None:
        self.last = asyncio.get_running_loop().time()
        self.world.notify()

    @contextlib.contextmanager
    def request(self) -> Iterator[None]:
        """One bot request being answered."""
        self.in_flight += 1
        try:
            yield
        finally:
            self.in_flight -= 1
            self.touch()


class Waiting:
    """``wait_for`` and ``wait_idle``, for the sandbox: they wake on every change of the world."""

    world: World
    activity: Activity
    requests: list[RecordedRequest]

    async def wait_for(
        self,
        predicate: Callable[[], T | None],
        timeout: float = 5.0,  # noqa: ASYNC109 - a deadline in seconds is this helper's point
        *,
        what: str | None = None,
    ) -> T:
        """Wait until ``predicate()`` is truthy (re-checked on every change); return its value."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            value = predicate()
            if value:
                return value
            remaining = deadline - loop.time()
            if remaining <= 0:
                label = what or getattr(predicate, "__name__", "condition")
                raise TimeoutError(
                    f"sandbox: {label} still false after {timeout}s; {self._summary()}"
                )
            await self.world.changed(remaining)

    async def wait_idle(self, timeout: float = 5.0, *, quiet: float = 0.05) -> None:  # noqa: ASYNC109
        """Wait until every update reached the bot and then no request arrived for ``quiet``
        seconds of the event loop running. Quiet is counted in short ticks, each credited
        with at most its own length: a stall (the process descheduled on a busy machine, a
        blocking call, a first import) counts as one tick, not as the bot having nothing to
        do, so a handler that was ready to run gets the loop before the bot is called idle."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        tick = quiet / 5
        activity = self.activity
        calm, seen = 0.0, activity.last
        while True:
            undelivered = self._undelivered()
            if undelivered or activity.in_flight or activity.last != seen:
                calm, seen = 0.0, activity.last
            if not undelivered and not activity.in_flight and calm >= quiet:
                return
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise TimeoutError(
                    f"sandbox: not idle after {timeout}s ({undelivered} updates undelivered, "
                    f"{activity.in_flight} requests in flight); {self._summary()}"
                )
            if not undelivered and not activity.in_flight:
                started = loop.time()
                await asyncio.sleep(min(tick, remaining))
                calm += min(loop.time() - started, tick)
            else:
                await self.world.changed(remaining)

    def _undelivered(self) -> int:
        if self.world.webhook is not None:
            return len(self.world.updates.items)
        return self.world.updates.undelivered()

    def _summary(self) -> str:
        recent = ", ".join(f"{r.method}:{r.error_code or 'ok'}" for r in self.requests[-5:])
        return f"{len(self.requests)} requests (last: {recent or 'none'})"
