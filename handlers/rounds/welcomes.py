"""The community group's welcome tick: joins waiting for a welcome get one combined
message, and the previous welcome is deleted (handlers.community decides; see there)."""

from __future__ import annotations

import asyncio

from careloop.handlers import community
from careloop.handlers.context import Context
from careloop.handlers.rounds import Decided, Run
from careloop.kernel.effects import Delete, Effect


class Welcomes:
    def __init__(self, run: Run, community_chat_id: int | None) -> None:
        self._run = run
        self._chat = community_chat_id
        self._lock = asyncio.Lock()

    async def tick(self) -> int:
        """Post the welcome that is due, if any; returns how many joiners it counts."""
        if self._chat is None:
            return 0
        async with self._lock:
            return await self._run(_welcome)


async def _welcome(ctx: Context) -> Decided[int]:
    """The welcome, stored with the row that lets the next one replace it; the previous
    one is taken down once this one is up."""
    decided = await community.welcome(ctx)
    if decided is None:
        return Decided(0)
    effects: list[Effect] = [decided.send]
    if decided.delete is not None:
        effects.append(Delete(decided.send.chat_id, decided.delete))

    async def keep(stored: dict[int, int]) -> None:
        await ctx.uow.community.add_welcome(community.welcome_row(stored[0], decided, ctx.now))

    return Decided(decided.greets, effects, keep)
