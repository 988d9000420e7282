"""What every HTTP listener of careloop shares (the API and the webhook listeners of both
runtimes): read timeouts, a per-client rate limit, and an access log without query strings.

aiohttp closes a connection that has not finished a request's headers within its
keep-alive timeout, counted from the connection's start, so that timeout is the header
timeout here (and an idle kept-alive connection goes after as long). A body is read under
a timeout of its own. Without these, slow connections were held open for as long as their
clients cared to trickle bytes."""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from aiohttp import web
from aiohttp.abc import AbstractAccessLogger

if TYPE_CHECKING:
    from careloop.bot.settings import Settings


@dataclass(frozen=True, slots=True)
class HttpLimits:
    header_timeout: float = 10.0  # seconds from connecting to the end of a request's headers
    body_timeout: float = 30.0  # seconds to receive a request's body
    rate_per_second: float = 20.0  # requests per second per client, on average
    burst: int = 40  # requests a client may make at once before the rate applies

    @classmethod
    def from_settings(cls, settings: Settings) -> HttpLimits:
        return cls(header_timeout=settings.http_header_timeout_seconds,
                   body_timeout=settings.http_body_timeout_seconds,
                   rate_per_second=settings.api_rate_per_second, burst=settings.api_rate_burst)


class PathAccessLogger(AbstractAccessLogger):
    """One line per request with the path only: a query string or a Referer can carry a
    token or personal data, and the access log is kept longer than anything else."""

    def log(self, request: web.BaseRequest, response: web.StreamResponse,
            time: float) -> None:
        self.logger.info('%s "%s %s" %s %s %.3fs', request.remote, request.method,
                         request.rel_url.path, response.status, response.body_length, time)


def runner_options(limits: HttpLimits) -> dict[str, Any]:
    """What web.AppRunner needs for the header timeout and the access log."""
    return {"keepalive_timeout": limits.header_timeout, "access_log_class": PathAccessLogger}


class BodyTimeout(Exception):
    """The client did not send its whole body in time."""


async def read_body(request: web.Request, seconds: float) -> bytes:
    """The body, read within `seconds`; aiohttp keeps it, so later reads (request.json())
    return it at once. Over the size limit: aiohttp's 413."""
    try:
        async with asyncio.timeout(seconds):
            return await request.read()
    except TimeoutError:
        raise BodyTimeout from None


class RateLimiter:
    """A token bucket per client: `burst` requests at once, then `rate` per second.

    Clients are remembered only while their bucket is not full again, so the memory it
    takes is bounded by the clients active in the last burst/rate seconds."""

    def __init__(self, rate: float, burst: int,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._rate, self._burst, self._clock = rate, max(1, burst), clock
        self._buckets: dict[str, tuple[float, float]] = {}  # client: (tokens, at)
        self._swept = clock()

    def retry_after(self, client: str) -> int | None:
        """None when `client` may go ahead now (a token is taken), else the whole seconds
        to wait for the next token."""
        now = self._clock()
        self._sweep(now)
        tokens, at = self._buckets.get(client, (float(self._burst), now))
        tokens = min(float(self._burst), tokens + (now - at) * self._rate)
        if tokens >= 1:
            self._buckets[client] = (tokens - 1, now)
            return None
        self._buckets[client] = (tokens, now)
        return max(1, math.ceil((1 - tokens) / self._rate))

    def _sweep(self, now: float) -> None:
        refill = self._burst / self._rate
        if now - self._swept < refill:
            return
        self._swept = now
        self._buckets = {client: (tokens, at) for client, (tokens, at) in self._buckets.items()
                         if now - at < refill}


@dataclass
class Listener:
    """A running aiohttp listener: the HTTP API, the webhook, the operations endpoints."""

    runner: web.AppRunner

    @property
    def url(self) -> str:
        """Where it listens, with the port the system chose when asked for port 0."""
        host, port = self.runner.addresses[0][:2]
        return f"http://{host}:{port}"

    async def stop(self) -> None:
        await self.runner.cleanup()  # lets requests in progress finish
