"""What the API refuses before it does any work: text that is not Unicode, bodies that are
not JSON or come too slowly, clients that ask too often; and what its access log keeps."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from careloop.bot.api.server import start_api
from careloop.bot.app import Storage
from careloop.bot.http_edge import Listener
from careloop.care.playbook.loader import load_playbook
from careloop.kernel.clock import ManualClock
from tests.api.conftest import AUTH, Api, api_settings

CUSTOMERS = "/api/v1/customers"
EVENTS = "/api/v1/events"
JSON = {**AUTH, "Content-Type": "application/json"}
SURROGATE = "is not valid Unicode text: it holds a lone UTF-16 surrogate (an escape from " \
            "\\ud800 to \\udfff without its pair)"


@contextlib.asynccontextmanager
async def serving(storage: Storage, clock: ManualClock, **settings: Any
                  ) -> AsyncIterator[tuple[Listener, aiohttp.ClientSession]]:
    server = await start_api(api_settings(**settings), storage, clock, load_playbook(None))
    assert server is not None
    try:
        async with aiohttp.ClientSession() as http:
            yield server, http
    finally:
        await server.stop()


async def test_a_lone_surrogate_is_refused_and_the_load_after_it_all_succeeds(
        storage: Storage, clock: ManualClock, caplog: pytest.LogCaptureFixture) -> None:
    async with serving(storage, clock, api_rate_per_second=10_000,
                       api_rate_burst=10_000) as (server, http):
        async def post(path: str, raw: bytes) -> tuple[int, Any]:
            async with http.post(server.url + path, data=raw, headers=JSON) as r:
                return r.status, await r.json()

        gc.disable()  # collected below, in the middle of the load, as it happened
        try:
            assert await post(CUSTOMERS, b'{"external_id": "C-0", "name": "a \\ud800"}') == (
                422, {"errors": [{"field": "name", "message": SURROGATE}]})
            assert await post(CUSTOMERS, b'[{"external_id": "C-0", "name": "A"}, '
                              b'{"external_id": "C-1", "name": "B", "tags": ["\\udfff"]}]'
                              ) == (422, {"errors": [{"field": "[1].tags[0]",
                                                      "message": SURROGATE}]})
            assert await post(EVENTS, b'{"id": "e-1", "type": "purchase", "customer": "C-0", '
                              b'"attrs": {"note\\ud83d": "x"}}') == (
                422, {"errors": [{"field": "attrs", "message": SURROGATE}]})

            async def customer(n: int) -> int:
                async with http.post(server.url + CUSTOMERS, headers=AUTH,
                                     json={"external_id": f"C-{n}", "name": f"N{n}"}) as r:
                    return r.status

            async def collect_midway() -> int:
                await asyncio.sleep(0.3)
                gc.collect()
                return 200

            statuses = await asyncio.gather(collect_midway(),
                                            *(customer(n) for n in range(1, 301)))
        finally:
            gc.enable()
        async with http.get(server.url + "/healthz") as r:
            assert r.status == 200
    assert [s for s in statuses if s != 200] == []
    assert "\\ud800" not in caplog.text and "\ud800" not in caplog.text
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


@pytest.mark.parametrize("content_type", [None, "text/plain", "application/x-www-form-urlencoded",
                                          "multipart/form-data; boundary=x"])
async def test_a_body_not_sent_as_json_is_415(api: Api, content_type: str | None) -> None:
    headers = {"Content-Type": content_type} if content_type else {}
    async with api.http.post(api.server.url + CUSTOMERS, headers={**AUTH, **headers},
                             data=b'{"external_id": "C-1", "name": "Ann"}',
                             skip_auto_headers=["Content-Type"]) as r:
        assert (r.status, await r.json()) == (415, {"errors": [{"field": None, "message": (
            "the body must be JSON, sent with Content-Type: application/json")}]})
    status, _ = await api.post(CUSTOMERS, data=b'{"external_id": "C-1", "name": "Ann"}',
                               headers={"Content-Type": "application/json; charset=utf-8"})
    assert status == 200
    assert await api.rows() == (1, 0, 0)


async def test_a_client_over_its_rate_gets_429_with_retry_after(
        storage: Storage, clock: ManualClock) -> None:
    async with serving(storage, clock, api_rate_per_second=0.1, api_rate_burst=3) as (
            server, http):
        answers = []
        for n in range(5):
            async with http.post(server.url + CUSTOMERS, headers=AUTH,
                                 json={"external_id": f"C-{n}", "name": "N"}) as r:
                answers.append((r.status, r.headers.get("Retry-After"), await r.json()))
    assert [a[0] for a in answers] == [200, 200, 200, 429, 429]
    _, retry_after, body = answers[3]
    assert retry_after is not None and 1 <= int(retry_after) <= 10
    assert body == {"errors": [{"field": None,
                                "message": f"too many requests: try again in {retry_after} s"}]}
    async with storage.uow() as uow:
        assert await uow.customers.by_external_id("C-3") is None  # refused before any work


async def _held(url: str, request: bytes, count: int) -> list[bytes]:
    """`count` connections that send `request` and then nothing more: what each finally
    receives before the server closes it."""
    host, port = url.removeprefix("http://").rsplit(":", 1)

    async def one() -> bytes:
        reader, writer = await asyncio.open_connection(host, int(port))
        writer.write(request)
        await writer.drain()
        try:
            # The guard only stops a test that would otherwise hang: the server closes the
            # connection long before.
            return await asyncio.wait_for(reader.read(), timeout=60)
        finally:
            writer.close()

    return await asyncio.gather(*(one() for _ in range(count)))


async def test_slow_clients_are_cut_off_by_the_read_timeouts(
        storage: Storage, clock: ManualClock) -> None:
    if storage.engine.dialect.name != "sqlite":
        pytest.skip("the HTTP layer's timeouts: the database plays no part")
    async with serving(storage, clock, http_header_timeout_seconds=0.5,
                       http_body_timeout_seconds=0.5, api_rate_burst=1000) as (server, http):
        # Headers that never end, and connections that never send a byte.
        partial = f"POST {CUSTOMERS} HTTP/1.1\r\nHost: x\r\nX-Slow: ".encode()
        assert await _held(server.url, partial, 50) == [b""] * 50
        assert await _held(server.url, b"", 20) == [b""] * 20
        # A body that stops halfway: 408, and the connection closed.
        head = (f"POST {CUSTOMERS} HTTP/1.1\r\nHost: x\r\nAuthorization: {AUTH['Authorization']}"
                "\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"ext")
        answers = await _held(server.url, head.encode(), 20)
        assert {a.split(b"\r\n", 1)[0] for a in answers} == {b"HTTP/1.1 408 Request Timeout"}
        assert b'"the body did not arrive in time"' in answers[0]
        # and the server still answers everyone else
        async with http.get(server.url + "/healthz") as r:
            assert r.status == 200


async def test_the_access_log_has_no_query_strings(
        api: Api, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    await api.call("POST", CUSTOMERS + "?token=secret-in-query&email=ann@example.com",
                   {"external_id": "C-1", "name": "Ann"},
                   headers={"Referer": "https://shop.example/?session=abc"})
    await api.call("GET", "/healthz?probe=k8s", auth=False)
    access = [r.getMessage() for r in caplog.records if r.name == "aiohttp.access"]
    assert len(access) == 2
    assert f'"POST {CUSTOMERS}" 200' in access[0]
    assert '"GET /healthz" 200' in access[1]
    for secret in ("secret-in-query", "ann@example.com", "session=abc", "probe", "?"):
        assert secret not in caplog.text
