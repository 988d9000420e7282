"""The HTTP API on a loopback port, as `careloop run` starts it, over a migrated database."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import aiohttp
import pytest
from sqlalchemy import func, select

from careloop.bot.api.server import start_api
from careloop.bot.app import Storage
from careloop.bot.http_edge import Listener
from careloop.bot.settings import Settings
from careloop.care.playbook.loader import load_playbook
from careloop.kernel.clock import ManualClock
from careloop.storage.models import BusinessEvent, Customer, Touch

TOKEN = "test-token-0123456789abcdef"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


@dataclass
class Api:
    """A client for the running API; `call` returns the status, the JSON body and headers."""

    server: Listener
    http: aiohttp.ClientSession
    storage: Storage
    clock: ManualClock

    async def call(self, method: str, path: str, json: Any = None, *, data: bytes | None = None,
                   headers: dict[str, str] | None = None, auth: bool = True,
                   ) -> tuple[int, Any, Any]:
        # Raw bytes go as JSON too unless a test says otherwise, as a client's would.
        typed = {"Content-Type": "application/json"} if data is not None else {}
        sent = {**(AUTH if auth else {}), **typed, **(headers or {})}
        async with self.http.request(method, self.server.url + path, json=json, data=data,
                                     headers=sent) as response:
            assert response.content_type == "application/json"
            return response.status, await response.json(), response.headers

    async def post(self, path: str, json: Any = None, **kwargs: Any) -> tuple[int, Any]:
        status, body, _ = await self.call("POST", path, json, **kwargs)
        return status, body

    async def count(self, model: type) -> int:
        async with self.storage.uow() as uow:
            return int(await uow.session.scalar(select(func.count()).select_from(model)) or 0)

    async def customer(self, external_id: str) -> Customer | None:
        async with self.storage.uow() as uow:
            return await uow.customers.by_external_id(external_id)

    async def rows(self) -> tuple[int, int, int]:
        """How many customers, events and touches are stored."""
        return (await self.count(Customer), await self.count(BusinessEvent),
                await self.count(Touch))


def api_settings(**overrides: Any) -> Settings:
    values: dict[str, Any] = {"api_token": TOKEN, "api_listen": "127.0.0.1:0",
                              "timezone": "Asia/Shanghai", **overrides}
    return Settings(**values)


@pytest.fixture
async def api(storage: Storage, clock: ManualClock) -> AsyncIterator[Api]:
    server = await start_api(api_settings(), storage, clock, load_playbook(None))
    assert server is not None
    async with aiohttp.ClientSession() as http:
        yield Api(server, http, storage, clock)
    await server.stop()
