"""A receiver for outgoing webhooks on a loopback port (port 0) that fails, hangs or
answers as a test scripts it, and keeps every request it read."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from aiohttp import web


@dataclass
class Received:
    key: str
    event: str
    timestamp: str
    signature: str
    body: bytes

    @property
    def payload(self) -> Any:
        return json.loads(self.body)


@dataclass
class Receiver:
    """Answers each request as `script` says, in turn ("fail": 500, "hang": no answer until
    the test ends), then 200; keeps every request it read."""

    script: list[str] = field(default_factory=list)
    received: list[Received] = field(default_factory=list)
    release: asyncio.Event = field(default_factory=asyncio.Event)
    url: str = ""

    async def handle(self, request: web.Request) -> web.Response:
        got = Received(request.headers["Idempotency-Key"], request.headers["Careloop-Event"],
                       request.headers["Careloop-Timestamp"],
                       request.headers["Careloop-Signature"], await request.read())
        self.received.append(got)
        what = self.script.pop(0) if self.script else "ok"
        if what == "hang":
            await self.release.wait()
        if what == "fail":
            return web.json_response({"error": "down"}, status=500)
        return web.json_response({"ok": True})

    def delivered(self) -> dict[str, list[Received]]:
        by_key: dict[str, list[Received]] = {}
        for r in self.received:
            by_key.setdefault(r.key, []).append(r)
        return by_key


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    rec = Receiver()
    app = web.Application()
    app.router.add_post("/hook", rec.handle)
    runner = web.AppRunner(app, shutdown_timeout=0.1)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    host, port = runner.addresses[0][:2]
    rec.url = f"http://{host}:{port}/hook"
    yield rec
    rec.release.set()
    await runner.cleanup()


