"""careloop's own long polling, for both runtimes: getUpdates' answer read as Telegram sent it.

Neither framework's polling is used for careloop's own bot. python-telegram-bot's Updater
confirms a batch (the next getUpdates' offset) as soon as the batch is queued, so a crash
would lose updates fetched but not handled. aiogram's confirms only what was handled, but it
reads every update into pydantic models and passes it through its dispatcher's middlewares
and routers (a third of the event loop's busy samples in py-spy while bench/updates.py ran)
to hand careloop the few fields it keeps. Here each update is read straight from the JSON
into careloop's one Update (bot.runtime.convert) and confirmed only once handed over; one
cut off by a crash is fetched again, and the pipeline skips it if it had been committed. A
host's bot (embedded) and the webhook keep their framework's path.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from careloop.bot.outage import Unavailable, until_handled, until_stored
from careloop.bot.runtime import ALLOWED_UPDATES, Batches, Handles, convert
from careloop.kernel.messenger import MessengerError

log = logging.getLogger(__name__)

POLL_SECONDS = 10  # getUpdates' long-poll timeout, as aiogram's polling uses
BACKOFF_MAX = 30.0

# getUpdates(offset, timeout, allowed_updates) → the updates as JSON objects.
Fetch = Callable[[int | None, int, list[str]], Awaitable[list[dict[str, Any]]]]


@dataclass(frozen=True, slots=True)
class Again:
    """How to go on after a getUpdates failed: ask again after `seconds`, or after the
    loop's growing pause (None)."""

    seconds: float | None = None


# What a runtime says of a getUpdates failure: Again, or None to end polling with it (a
# refused request would be refused again).
Failure = Callable[[Exception], Again | None]


class Polling:
    """Long-polls until `stop`; each update is handed to `pipeline` in turn, and confirmed
    only after it was (the next getUpdates' offset)."""

    def __init__(self, fetch: Fetch, pipeline: Handles, *, failure: Failure,
                 stale_press: Callable[[str], Awaitable[None]]) -> None:
        self._fetch = fetch
        self._pipeline = pipeline
        self._batches = pipeline if isinstance(pipeline, Batches) else None
        self._failure = failure
        self._stale_press = stale_press
        self._stop = asyncio.Event()
        self.running = False

    def stop(self) -> bool:
        """Ask polling to end after the update in hand; False when it was not running."""
        if not self.running:
            return False
        self._stop.set()
        return True

    async def run(self) -> None:
        self._stop.clear()
        self.running = True
        if self._batches is not None:
            self._batches.hold()
        try:
            await self._loop()
        finally:
            self.running = False

    async def _loop(self) -> None:
        offset: int | None = None
        backoff = 1.0
        while not self._stop.is_set():
            if not await self._stored():
                return  # stopped while the database was away
            try:
                updates = await self._until_stopped(
                    self._fetch(offset, POLL_SECONDS, ALLOWED_UPDATES))
            except Exception as exc:
                again = self._failure(exc)
                if again is None:
                    raise
                if again.seconds is not None:
                    await self._pause(again.seconds)
                    continue
                log.warning("getUpdates failed (%s); trying again in %.0f s",
                            type(exc).__name__, backoff)
                await self._pause(backoff)
                backoff = min(backoff * 2, BACKOFF_MAX)
                continue
            if updates is None:
                return  # stopped while waiting
            backoff = 1.0
            for data in updates:
                try:
                    await self._hand_over(data)
                except Unavailable as exc:  # polling stopped while the database was away
                    log.warning("update %s not handled: %s; it comes again at the next start",
                                exc.update_id, exc.reason)
                    return
                except Exception as exc:
                    # As the frameworks do with a handler's error: logged (the update's id,
                    # never its text), and polling goes on.
                    log.error("update %s: %s", data.get("update_id"), type(exc).__name__,
                              exc_info=exc)
                offset = int(data["update_id"]) + 1
                if self._stop.is_set():
                    return  # the rest of the batch is not confirmed: it comes again

    async def _hand_over(self, data: dict[str, Any]) -> None:
        read = convert.from_json(data)
        if isinstance(read, convert.StalePress):
            # Only the spinner to stop; a press that old may be too old to answer as well.
            with contextlib.suppress(MessengerError):
                await self._stale_press(read.callback_id)
        elif read is not None:
            await until_handled(self._pipeline.process, read, stopped=self._stop.is_set)

    async def _stored(self) -> bool:
        """getUpdates confirms the batch before it: what careloop took of it is stored first
        (bot.inbound), tried again while the database is away (bot.outage.until_stored).
        False when polling stopped first: nothing is confirmed."""
        if self._batches is None:
            return True
        try:
            await until_stored(self._batches.flush, stopped=self._stop.is_set)
        except Unavailable:
            return False
        return True

    async def _until_stopped(
            self, call: Awaitable[list[dict[str, Any]]]) -> list[dict[str, Any]] | None:
        """`call`'s result, or None when polling is stopped first (the call is dropped)."""
        fetch = asyncio.ensure_future(call)
        stopping = asyncio.ensure_future(self._stop.wait())
        try:
            await asyncio.wait({fetch, stopping}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            stopping.cancel()
            if not fetch.done():
                fetch.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await fetch
        return fetch.result() if not fetch.cancelled() else None

    async def _pause(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stop.wait(), timeout=seconds)
