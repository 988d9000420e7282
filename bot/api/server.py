"""Starting and stopping the HTTP API next to the bot; off unless CARELOOP_API_TOKEN is set."""

from __future__ import annotations

import logging

from aiohttp import web

from careloop.bot.api.app import Database, build_api
from careloop.bot.api.auth import MIN_TOKEN_LENGTH
from careloop.bot.http_edge import HttpLimits, Listener, runner_options
from careloop.bot.settings import ConfigError, Settings
from careloop.care.playbook.model import Playbook
from careloop.kernel.clock import Clock
from careloop.kernel.numbers import whole_number

log = logging.getLogger(__name__)


def parse_listen(listen: str) -> tuple[str, int]:
    host, sep, digits = listen.rpartition(":")
    port = whole_number(digits, max_digits=5)
    if not sep or not host or port is None or port > 65535:
        raise ConfigError(f"CARELOOP_API_LISTEN: {listen!r} must look like 127.0.0.1:8081")
    return host.strip("[]"), port


async def start_api(settings: Settings, storage: Database, clock: Clock,
                    playbook: Playbook) -> Listener | None:
    token = settings.api_token.get_secret_value() if settings.api_token else ""
    if not token:
        log.info("HTTP API off: CARELOOP_API_TOKEN is not set")
        return None
    if len(token) < MIN_TOKEN_LENGTH:
        raise ConfigError(f"CARELOOP_API_TOKEN: must be at least {MIN_TOKEN_LENGTH} characters")
    host, port = parse_listen(settings.api_listen)
    limits = HttpLimits.from_settings(settings)
    app = build_api(storage, clock, playbook, token=token, language=settings.language,
                    timezone=settings.timezone, limits=limits,
                    secret=settings.link_secret.get_secret_value()
                    if settings.link_secret else None)
    runner = web.AppRunner(app, **runner_options(limits))
    await runner.setup()
    try:
        await web.TCPSite(runner, host, port).start()
    except OSError as exc:
        await runner.cleanup()
        raise ConfigError(
            f"CARELOOP_API_LISTEN: cannot listen on {settings.api_listen}: {exc.strerror}"
        ) from None
    server = Listener(runner)
    log.info("HTTP API listening on %s", server.url)
    return server
