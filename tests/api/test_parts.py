"""The API's small decisions, one by one."""

from __future__ import annotations

import socket

import pytest
from pydantic import SecretStr

from careloop.bot.api.auth import bearer_matches
from careloop.bot.api.errors import field_path
from careloop.bot.api.server import parse_listen, start_api
from careloop.bot.app import Storage
from careloop.bot.settings import ConfigError
from careloop.care.playbook.loader import load_playbook
from careloop.kernel.clock import ManualClock
from tests.api.conftest import TOKEN, api_settings


@pytest.mark.parametrize(("header", "ok"), [
    (f"Bearer {TOKEN}", True),
    (f"BEARER {TOKEN} ", True),
    (None, False),
    ("", False),
    ("Bearer", False),
    (f"Token {TOKEN}", False),
    (f"Bearer {TOKEN}\udcff", False),  # an undecodable byte, as aiohttp keeps it
])
def test_bearer_matches(header: str | None, ok: bool) -> None:
    assert bearer_matches(header, TOKEN) is ok


def test_an_empty_token_matches_nothing() -> None:
    assert not bearer_matches("Bearer ", "")


@pytest.mark.parametrize(("parts", "path"), [
    ((), None),
    (("at",), "at"),
    (("attrs", "order"), "attrs.order"),
    ((2, "tags", 0), "[2].tags[0]"),
    ((3,), "[3]"),
])
def test_field_path(parts: tuple[int | str, ...], path: str | None) -> None:
    assert field_path(parts) == path


@pytest.mark.parametrize(("listen", "address"), [
    ("127.0.0.1:8081", ("127.0.0.1", 8081)),
    ("0.0.0.0:80", ("0.0.0.0", 80)),  # noqa: S104 - a listen address, parsed not bound
    ("[::1]:8081", ("::1", 8081)),
])
def test_parse_listen(listen: str, address: tuple[str, int]) -> None:
    assert parse_listen(listen) == address


@pytest.mark.parametrize("listen", ["8081", ":8081", "localhost:", "host:http", "h:70000"])
def test_parse_listen_refuses(listen: str) -> None:
    with pytest.raises(ConfigError, match=r"CARELOOP_API_LISTEN: .* must look like"):
        parse_listen(listen)


async def test_a_taken_port_is_one_line_naming_the_setting(
        storage: Storage, clock: ManualClock) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(ConfigError, match=f"CARELOOP_API_LISTEN: cannot listen on "
                           f"127.0.0.1:{port}"):
            await start_api(api_settings(api_listen=f"127.0.0.1:{port}"), storage, clock,
                            load_playbook(None))


async def test_a_short_token_is_refused(storage: Storage, clock: ManualClock) -> None:
    with pytest.raises(ConfigError, match="CARELOOP_API_TOKEN: must be at least 16"):
        await start_api(api_settings(api_token=SecretStr("short")), storage, clock,
                        load_playbook(None))
