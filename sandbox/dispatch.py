"""Bot API method dispatch: what becomes of a call once its parameters are read.

The steps Telegram's would take, in order:

1. validation against the official spec (404 unknown method, 400 bad parameters);
2. injected faults, if a test asked for one;
3. the target chat's state (400 chat not found, 403 blocked);
4. flood control (429 Too Many Requests: retry after N);
5. the world carries the call out and the answer goes back in Telegram's envelope.

Every call is recorded with the step that decided it (``RecordedRequest.kind``), so tests can
tell a bot bug (invalid requests) from simulated trouble.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Callable
from typing import Any

from careloop.sandbox.errors import ApiError
from careloop.sandbox.faults import Fault
from careloop.sandbox.flood import RateLimiter
from careloop.sandbox.recording import RecordedRequest, RequestKind, envelope
from careloop.sandbox.spec import ValidatedCall, canonical_method, validate
from careloop.sandbox.waiting import Activity
from careloop.sandbox.world import World

log = logging.getLogger(__name__)

# New messages count against flood limits; edits, answers and chat actions do not.
COUNTED_METHODS = frozenset(
    {"sendMessage", "sendPhoto", "sendDocument", "copyMessage", "forwardMessage"}
)


class MethodDispatch:
    """Runs Bot API calls against the world and keeps the record of every one."""

    def __init__(
        self,
        world: World,
        activity: Activity,
        *,
        rate_limits: bool,
        time_source: Callable[[], float],
    ) -> None:
        self.world = world
        self.activity = activity
        self.rate_limits = rate_limits
        self.time_source = time_source
        self.limiter = RateLimiter(time_source)
        self.requests: list[RecordedRequest] = []
        self.faults: list[Fault] = []

    async def dispatch(
        self, method: str, params: dict[str, Any], *, via_webhook_reply: bool = False
    ) -> dict[str, Any]:
        """Run one Bot API call; returns Telegram's response envelope."""
        record = functools.partial(
            self.record, method, params, via_webhook_reply=via_webhook_reply
        )
        try:
            call = validate(method, params)
        except ApiError as error:
            return record(error, "invalid")
        fault = self._take_fault(call)
        if fault is not None:
            if (injected := fault.error()) is not None:
                return record(injected, "fault")
            await asyncio.sleep(fault.delay)
        kind, outcome = await self._execute(call)
        return record(outcome, kind)

    def record(
        self,
        method: str,
        params: dict[str, Any],
        outcome: Any,
        kind: RequestKind,
        *,
        via_webhook_reply: bool = False,
    ) -> dict[str, Any]:
        """Remember the request and build its envelope from a result or an ``ApiError``."""
        name = canonical_method(method) or method
        error = outcome if isinstance(outcome, ApiError) else None
        self.requests.append(
            RecordedRequest(
                method=name,
                params=params,
                ok=error is None,
                error_code=error.code if error else None,
                description=error.description if error else None,
                kind=kind,
                at=self.time_source(),
                via_webhook_reply=via_webhook_reply,
            )
        )
        self.world.notify()
        if error is not None and kind == "invalid":
            log.info("sandbox rejected %s: %s", name, error.description)
        return envelope(outcome)

    def _take_fault(self, call: ValidatedCall) -> Fault | None:
        for fault in self.faults:
            if fault.matches(call):
                fault.times -= 1
                return fault
        return None

    async def _execute(self, call: ValidatedCall) -> tuple[RequestKind, Any]:
        if call.method == "getUpdates":
            return await self._poll(call)
        reservation = None
        if call.method in COUNTED_METHODS:
            try:
                chat = self.world.resolve_chat(call.params["chat_id"])
                self.world.check_can_send(chat)
            except ApiError as error:
                return "state", error  # Telegram reports these before flood control
            if self.rate_limits:
                paid = bool(call.get("allow_paid_broadcast"))
                try:
                    reservation = self.limiter.reserve(chat, paid=paid)
                except ApiError as error:
                    return "rate_limited", error
        try:
            result = self.world.perform(call)
        except ApiError as error:
            return "state", error
        if reservation is not None:
            reservation.commit()
        return "ok", result

    async def _poll(self, call: ValidatedCall) -> tuple[RequestKind, Any]:
        try:
            batch = await self.world.get_updates(call)
        except ApiError as error:
            return "state", error
        if batch:
            self.activity.touch()  # the bot has work now; wait_idle must give it time
        return "ok", batch
