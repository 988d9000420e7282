"""An update the database could not take: never confirmed to Telegram, handled once it is back.

The pipeline raises `Unavailable` when an update failed because the database (or the network
to it) was away, with nothing of it kept. How the update then comes again depends on how it
arrived: polling tries it again in place (`until_handled`), with growing pauses, and fetches
nothing after it meanwhile, so the offset stays before it and each chat keeps its order; a
webhook answers the post with a non-2xx status, and Telegram posts it again. Either way
the processed-update mark, stored in the same commit as the update's changes, makes a
repeat of an update that had in fact been committed a no-op.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterator
from typing import Protocol

from aiohttp import web

from careloop.kernel.updates import Update

log = logging.getLogger(__name__)

FIRST_PAUSE = 0.5
LONGEST_PAUSE = 10.0  # once the database is back, an update waits at most this long
STOP_CHECK_SECONDS = 0.25


class Unavailable(Exception):
    """The update was not handled because the database was away; nothing of it was kept."""

    def __init__(self, update_id: int, reason: str) -> None:
        super().__init__(f"update {update_id}: {reason}")
        self.update_id = update_id
        self.reason = reason


class Processes(Protocol):
    """What hands an update to careloop: the pipeline, or a runtime's way of calling it."""

    async def process(self, update: Update) -> None: ...


def pauses() -> Iterator[float]:
    """Doubling pauses between tries, up to LONGEST_PAUSE: a database that is away is not
    asked many times a second, and one that is back is noticed soon."""
    pause = FIRST_PAUSE
    while True:
        yield pause
        pause = min(pause * 2, LONGEST_PAUSE)


def never() -> bool:
    return False


async def until_handled(process: Callable[[Update], Awaitable[None]], update: Update, *,
                        stopped: Callable[[], bool] = never) -> None:
    """Polling's way: `update` is tried until handled, so nothing after it is fetched or
    confirmed meanwhile. When `stopped()` turns true (the runtime is stopping), raises
    Unavailable: the update stays unconfirmed and comes again at the next start."""
    tries = await _until_done(lambda: process(update), stopped)
    if tries > 1:
        log.info("update %s handled at try %d", update.update_id, tries)


async def until_stored(flush: Callable[[], Awaitable[None]], *,
                       stopped: Callable[[], bool] = never) -> None:
    """Polling's way with updates taken and not yet stored (bot.inbound's `flush`, before
    the getUpdates that would confirm them): tried again with the same pauses, one line
    logged per try, until stored; nothing is fetched or confirmed meanwhile. When
    `stopped()` turns true, raises Unavailable: the updates come again at the next start."""
    await _until_done(flush, stopped)


async def _until_done(call: Callable[[], Awaitable[None]], stopped: Callable[[], bool]) -> int:
    """`call` tried while the database is away, with growing pauses; how many tries it took."""
    tries = 0
    waits = pauses()
    while True:
        tries += 1
        try:
            await call()
        except Unavailable as exc:
            if stopped():
                raise
            pause = next(waits)
            log.warning("update %s not handled: %s; trying again in %.1f s",
                        exc.update_id, exc.reason, pause)
            await _sleep(pause, stopped)
            continue
        return tries


async def _sleep(seconds: float, stopped: Callable[[], bool]) -> None:
    """Sleep, waking soon after the runtime starts stopping."""
    loop = asyncio.get_running_loop()
    until = loop.time() + seconds
    # Asked, not awaited: a host's python-telegram-bot Application says that it is stopping
    # only through its `running` property, while it waits for this very update.
    while not stopped() and (left := until - loop.time()) > 0:  # noqa: ASYNC110
        await asyncio.sleep(min(left, STOP_CHECK_SECONDS))


class Patient:
    """The pipeline as polling (or a host bot) hands it updates: see until_handled."""

    def __init__(self, pipeline: Processes, stopped: Callable[[], bool] = never) -> None:
        self._pipeline = pipeline
        self._stopped = stopped

    async def process(self, update: Update) -> None:
        await until_handled(self._pipeline.process, update, stopped=self._stopped)


def refusal(exc: Unavailable) -> web.Response:
    """A webhook's answer to a post whose update could not be handled for now: not 2xx, so
    Telegram posts it again later."""
    log.warning("update %s not handled: %s; answered 503, Telegram will post it again",
                exc.update_id, exc.reason)
    return web.Response(status=503, text=exc.reason)
