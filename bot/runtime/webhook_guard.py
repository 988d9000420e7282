"""What Telegram's webhook listener refuses before an update reaches the runtime, the same
for both runtimes: a body that is not JSON (415) or that comes too slowly (408), and, from a
sender that knows the secret, an update that is not one (400): not an object, an update_id
that is not a 64-bit id, text that is not valid Unicode, or a shape the framework cannot
read. Without this a malformed update was a 500, which Telegram answers by sending it again.
A post without the right secret goes on to the runtime's own constant-time check and 401."""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Awaitable, Callable

from aiohttp import web
from aiohttp.typedefs import Middleware

from careloop.bot.http_edge import BodyTimeout, HttpLimits, read_body
from careloop.kernel.text import first_invalid

log = logging.getLogger(__name__)

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"  # noqa: S105 - a header name
MAX_UPDATE_ID = 2**63 - 1  # a signed 64-bit integer: what the database stores
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
Check = Callable[[dict[str, object]], object]  # raises when the framework cannot read it


def webhook_guard(secret: str | None, limits: HttpLimits, check: Check) -> Middleware:
    # Digests, compared with ==, only decide whether to look at the body: the answer to a
    # wrong secret is still the runtime's, after its constant-time comparison.
    expected = hashlib.sha256(secret.encode()).digest() if secret is not None else None

    @web.middleware
    async def guard(request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.method != "POST":
            return await handler(request)
        if request.content_type != "application/json":
            return web.Response(status=415)  # Telegram reads the status only
        try:
            raw = await read_body(request, limits.body_timeout)
        except BodyTimeout:
            response = web.Response(status=408)
            response.force_close()
            return response
        given = request.headers.get(SECRET_HEADER, "").encode("utf-8", "surrogateescape")
        if expected is not None and hashlib.sha256(given).digest() != expected:
            return await handler(request)  # its 401
        problem = _problem(raw, check)
        if problem is not None:
            log.warning("webhook: refused a malformed update: %s", problem)
            return web.Response(status=400, text=problem)
        return await handler(request)

    return guard


def _problem(raw: bytes, check: Check) -> str | None:
    """What is wrong with a posted update, in one line without its content; None if nothing."""
    try:
        update = json.loads(raw)
    except RecursionError:
        return "the update is nested too deeply"
    except ValueError:
        return "the body is not JSON"
    if not isinstance(update, dict):
        return "the update is not a JSON object"
    update_id = update.get("update_id")
    if type(update_id) is not int or not 0 <= update_id <= MAX_UPDATE_ID:
        return "update_id is not a 64-bit update id"
    if first_invalid(update) is not None:
        return "the update holds text that is not valid Unicode (a lone UTF-16 surrogate)"
    try:
        check(update)
    except Exception as exc:  # noqa: BLE001 - whatever the framework raises, it cannot read it
        return f"the update cannot be read ({type(exc).__name__})"
    return None
