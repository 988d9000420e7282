"""The sandbox's HTTP side: the aiohttp app and its routes.

``/bot{token}/{method}`` takes Bot API calls: the token is checked first (401 Unauthorized),
then the parameters are read, then ``MethodDispatch`` runs the call. ``/file/bot{token}/{path}``
serves the files the bot may download; anything else is Telegram's 404.
"""

from __future__ import annotations

import contextlib
from typing import Any

from aiohttp import web

from careloop.sandbox.dispatch import MethodDispatch
from careloop.sandbox.errors import ApiError
from careloop.sandbox.request_params import read_params
from careloop.sandbox.waiting import Activity

MAX_UPLOAD = 50 * 1024 * 1024  # Telegram's upload limit for bots


class BotApiApp:
    """The routes, in front of the method dispatch."""

    def __init__(self, token: str, methods: MethodDispatch, activity: Activity) -> None:
        self.token = token
        self.methods = methods
        self.activity = activity

    def application(self) -> web.Application:
        app = web.Application(client_max_size=MAX_UPLOAD)
        app.router.add_route("*", "/bot{token}/{method}", self._handle_api)
        app.router.add_get("/file/bot{token}/{path:.+}", self._handle_file)
        app.router.add_route("*", "/{tail:.*}", self._handle_unknown)
        return app

    async def _handle_api(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        # A long poll waits by design: it is neither in flight nor activity for wait_idle.
        polling = method.lower() == "getupdates"
        with contextlib.nullcontext() if polling else self.activity.request():
            params, malformed = await read_params(request)
            if request.match_info["token"] != self.token:
                unauthorized = ApiError(401, "Unauthorized")
                return reply(self.methods.record(method, params, unauthorized, "invalid"))
            if malformed is not None:
                return reply(self.methods.record(method, params, malformed, "invalid"))
            return reply(await self.methods.dispatch(method, params))

    async def _handle_file(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != self.token:
            return reply(ApiError(401, "Unauthorized").envelope())
        stored = self.methods.world.file_by_path(request.match_info["path"])
        if stored is None or stored.data is None:
            return reply(ApiError(404, "Not Found").envelope())
        content_type = stored.mime_type or "application/octet-stream"
        return web.Response(body=stored.data, content_type=content_type)

    async def _handle_unknown(self, request: web.Request) -> web.Response:
        return reply(ApiError(404, "Not Found").envelope())


def reply(envelope: dict[str, Any]) -> web.Response:
    status = 200 if envelope["ok"] else envelope["error_code"]
    return web.json_response(envelope, status=status)


async def serve(app: web.Application, host: str, port: int) -> tuple[web.AppRunner, str]:
    """Serve ``app`` on ``host:port`` (0 = any free port); returns the runner and base URL."""
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
    await runner.setup()
    try:
        await web.TCPSite(runner, host, port).start()
    except BaseException:
        await runner.cleanup()  # a port in use leaves nothing behind for stop() to find
        raise
    bound = runner.addresses[0]
    return runner, f"http://{_url_host(bound[0])}:{bound[1]}"


def _url_host(host: str) -> str:
    return f"[{host}]" if ":" in host else host
