"""Scheduled rounds: what the scheduler's ticks decide (reminders, campaign runs, the desk's
cards and alerts, community welcomes).

A round decides like a handler: in a unit of work it is given, returning effects instead of
calling Telegram. Whoever runs it (bot.jobs.RoundRunner) stores the messages among the
effects with the decision, commits, and only then carries the effects out.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Generic, Protocol, TypeVar

from careloop.handlers.context import Context
from careloop.kernel.effects import Effect

T = TypeVar("T")


@dataclass(frozen=True)
class Decided(Generic[T]):
    """One unit of work's decision: what the round reports, and what to carry out once it
    has committed."""

    value: T
    effects: Sequence[Effect] = ()
    # Called before the commit, once the messages among `effects` are stored, with their
    # outbox ids by position in `effects`: for a row that refers to its message.
    stored: Callable[[dict[int, int]], Awaitable[None]] | None = None


Decide = Callable[[Context], Awaitable[Decided[T]]]


class Run(Protocol):
    async def __call__(self, decide: Decide[T], *, patient: bool = False) -> T:
        """Decide in a new unit of work, commit, then carry out the effects; returns the
        decision's value. `patient`: wait for Telegram's limits however long (a round that
        returns only once its messages are out), and once more after a 429."""
        ...
