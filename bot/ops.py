"""What a service manager, a load balancer and Prometheus ask a worker, on its own listen
address (CARELOOP_HEALTH_LISTEN), whether or not the HTTP API is on:

- /healthz: the process answers (liveness: restart it when this fails);
- /readyz: the database and Redis (when set) answer and the schema is current (readiness:
  send it traffic only when this passes);
- /metrics: bot.metrics, in Prometheus's text format.

No token: nothing here names a customer or changes anything; listen on a private address.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST

from careloop.bot.api.health import database_problem
from careloop.bot.http_edge import Listener
from careloop.bot.settings import ConfigError
from careloop.kernel.numbers import whole_number
from careloop.storage.errors import database_unavailable, reason
from careloop.storage.migrate import current_revision, head_revision

if TYPE_CHECKING:
    from careloop.bot.app import App

log = logging.getLogger(__name__)


async def problems(app: App) -> list[str]:
    """Why this worker should not take traffic now; empty when it should."""
    found: list[str] = []
    engine = app.storage.engine
    if (problem := await database_problem(engine)) is not None:
        found.append(problem)
    else:
        try:
            if await current_revision(engine) != head_revision():
                found.append("the database schema is not current: run `careloop db upgrade`")
        except Exception as exc:
            if not database_unavailable(exc):
                raise
            found.append(reason(exc))
    if (problem := await app.limiter.ping()) is not None:
        found.append(problem)
    return found


def build_ops(app: App) -> web.Application:
    async def healthz(_request: web.Request) -> web.Response:
        return web.json_response({"status": "alive"})

    async def readyz(_request: web.Request) -> web.Response:
        found = await problems(app)
        if found:
            return web.json_response({"status": "not ready", "problems": found}, status=503)
        return web.json_response({"status": "ready"})

    async def metrics(_request: web.Request) -> web.Response:
        body = await app.metrics.render()
        return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})

    ops = web.Application()
    ops.router.add_get("/healthz", healthz)
    ops.router.add_get("/readyz", readyz)
    ops.router.add_get("/metrics", metrics)
    return ops


def _listen(listen: str) -> tuple[str, int]:
    host, _sep, digits = listen.rpartition(":")
    port = whole_number(digits, max_digits=5)
    assert port is not None  # the setting's shape was checked when it was read
    return host.strip("[]"), port


async def start_ops(app: App) -> Listener | None:
    listen = app.settings.health_listen
    if not listen:
        return None
    host, port = _listen(listen)
    runner = web.AppRunner(build_ops(app), access_log=None)
    await runner.setup()
    try:
        await web.TCPSite(runner, host, port).start()
    except OSError as exc:
        await runner.cleanup()
        raise ConfigError(
            f"CARELOOP_HEALTH_LISTEN: cannot listen on {listen}: {exc.strerror}") from None
    server = Listener(runner)
    log.info("/healthz, /readyz and /metrics on %s", server.url)
    return server
