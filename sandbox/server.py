"""The sandbox Bot API server: a loopback aiohttp app in front of the simulated world.

``Sandbox`` puts the parts together and is what tests, the demo and ``python -m
careloop.sandbox`` use:

- ``http_app``: the routes and the token check; ``request_params`` reads a call's parameters;
- ``dispatch``: a call's way through validation, injected faults, the chat's state and flood
  control to the world, every request recorded (``recording``) with the step that decided it;
- ``webhooks``: delivery to the webhook the bot set;
- the control API: the people's side and reads of the world (``control``), waits
  (``waiting``), and below, the request record and injected faults.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from typing import Any

from aiohttp import web

from careloop.sandbox.control import WorldControl
from careloop.sandbox.dispatch import MethodDispatch
from careloop.sandbox.errors import SandboxError
from careloop.sandbox.faults import Fault, FaultKind
from careloop.sandbox.http_app import BotApiApp, serve
from careloop.sandbox.recording import RecordedRequest
from careloop.sandbox.spec import canonical_method
from careloop.sandbox.waiting import Activity, Waiting
from careloop.sandbox.webhooks import deliver_webhooks
from careloop.sandbox.world import World

__all__ = ["DEFAULT_TOKEN", "RecordedRequest", "Sandbox"]

DEFAULT_TOKEN = "123456:SANDBOX-TOKEN"  # noqa: S105 - the sandbox's own made-up token


class Sandbox(WorldControl, Waiting):
    """A strict, in-process Telegram Bot API for tests, the demo and manual trials."""

    def __init__(
        self,
        *,
        token: str = DEFAULT_TOKEN,
        bot_username: str = "careloop_sandbox_bot",
        rate_limits: bool = True,
        time_source: Callable[[], float] = time.monotonic,
    ) -> None:
        self.token = token
        self.world = World(token=token, bot_username=bot_username)
        self.activity = Activity(self.world)
        self.methods = MethodDispatch(
            self.world, self.activity, rate_limits=rate_limits, time_source=time_source
        )
        self.limiter = self.methods.limiter
        self.requests: list[RecordedRequest] = self.methods.requests
        self.faults: list[Fault] = self.methods.faults
        self._base_url: str | None = None
        self._runner: web.AppRunner | None = None
        self._deliverer: asyncio.Task[None] | None = None

    @property
    def rate_limits(self) -> bool:
        return self.methods.rate_limits

    @rate_limits.setter
    def rate_limits(self, enabled: bool) -> None:
        self.methods.rate_limits = enabled

    @property
    def time_source(self) -> Callable[[], float]:
        return self.methods.time_source

    # ------------------------------------------------------------------ lifecycle

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> str:
        """Serve on ``host:port`` (0 = any free port); returns the base URL."""
        if self._runner is not None:
            raise SandboxError("the sandbox is already running")
        self.world.closed = False
        app = BotApiApp(self.token, self.methods, self.activity).application()
        self._runner, self._base_url = await serve(app, host, port)
        self.activity.last = asyncio.get_running_loop().time()
        self._deliverer = asyncio.create_task(
            deliver_webhooks(self.methods, self.activity), name="sandbox-webhook"
        )
        return self._base_url

    async def stop(self) -> None:
        self.world.close()  # releases long polls at once
        if self._deliverer is not None:
            # Again until it ends: asyncio.wait_for (under World.changed) can swallow a
            # cancellation that meets its own wake-up, which busy delivery makes likely.
            while not self._deliverer.done():
                self._deliverer.cancel()
                await asyncio.wait({self._deliverer}, timeout=0.1)
            with contextlib.suppress(asyncio.CancelledError):
                await self._deliverer
            self._deliverer = None
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> Sandbox:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:PORT``; the bot calls ``{base_url}/bot{token}/{method}``."""
        if self._base_url is None:
            raise SandboxError("the sandbox is not running; await start() first")
        return self._base_url

    @property
    def api_url(self) -> str:
        return f"{self.base_url}/bot{self.token}"

    # ------------------------------------------------------------------ calls and faults

    async def dispatch(
        self, method: str, params: dict[str, Any], *, via_webhook_reply: bool = False
    ) -> dict[str, Any]:
        """Run one Bot API call as if it came over HTTP; returns Telegram's envelope."""
        return await self.methods.dispatch(method, params, via_webhook_reply=via_webhook_reply)

    def spread_webhooks(self, urls: list[str]) -> None:
        """Post the webhook's updates over these URLs, as a load balancer in front of several
        workers would (sandbox/webhooks.py); an empty list posts to the webhook's own URL."""
        self.world.webhook_spread = list(urls)
        self.world.notify()

    def rejected(self) -> list[RecordedRequest]:
        """Requests that failed validation: malformed calls, i.e. bugs in the bot."""
        return [r for r in self.requests if r.kind == "invalid"]

    def calls(self, method: str) -> list[RecordedRequest]:
        wanted = canonical_method(method) or method
        return [r for r in self.requests if r.method == wanted]

    def inject_fault(
        self,
        method: str | None = None,
        *,
        chat_id: int | None = None,
        kind: FaultKind,
        retry_after: int = 1,
        delay: float = 0.0,
        times: int = 1,
    ) -> Fault:
        if method is not None and canonical_method(method) is None:
            raise SandboxError(f"unknown Bot API method {method!r}")
        fault = Fault(kind, method, chat_id, retry_after, delay, times)
        fault.error()  # rejects an unknown kind now rather than at request time
        self.faults.append(fault)
        return fault
