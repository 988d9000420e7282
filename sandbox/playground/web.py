"""The playground's page and its JSON API, on loopback: the page (static/, no build step and
nothing from elsewhere), the world as JSON on a long poll, and one endpoint per thing a
person, the operator or a marketer does."""

from __future__ import annotations

import asyncio
import hashlib
import json
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from aiohttp import web

from careloop.kernel.i18n import Translator
from careloop.sandbox.formatting import parse_html
from careloop.sandbox.playground import labels, view
from careloop.sandbox.playground.scene import NotAllowed, Scene

STATIC = Path(__file__).resolve().parent / "static"
POLL_SECONDS = 20.0  # a long poll answers "unchanged" after this long, and the page asks again
# The clock's minutes move while nothing else does: a poll looks again this often.
CLOCK_LOOK_SECONDS = 5.0
_TYPES = {".html": "text/html", ".css": "text/css", ".js": "text/javascript",
          ".png": "image/png", ".svg": "image/svg+xml"}

Action = Callable[[Scene, dict[str, Any]], Awaitable[dict[str, Any]]]


def application(scene: Scene, tr: Translator) -> web.Application:
    page = Page(scene, tr)
    app = web.Application(client_max_size=64 * 1024)
    app.router.add_get("/", page.index)
    app.router.add_get("/static/{name}", page.static)
    app.router.add_get("/api/texts", page.texts)
    app.router.add_get("/api/state", page.state)
    app.router.add_get("/api/campaigns", page.campaigns)
    app.router.add_get("/api/event-types", page.event_types)
    app.router.add_post("/api/{action}", page.act)
    return app


class Page:
    def __init__(self, scene: Scene, tr: Translator) -> None:
        self.scene = scene
        self.tr = tr
        self.closing = False

    async def index(self, request: web.Request) -> web.StreamResponse:
        return _file(STATIC / "index.html")

    async def static(self, request: web.Request) -> web.StreamResponse:
        name = request.match_info["name"]
        path = STATIC / name
        if "/" in name or name.startswith(".") or not path.is_file():
            raise web.HTTPNotFound()
        return _file(path)

    async def texts(self, request: web.Request) -> web.Response:
        return web.json_response({"language": self.tr.language, **labels.texts(self.tr)})

    async def state(self, request: web.Request) -> web.Response:
        """The world as the page draws it, once it differs from what the page has (`seen`,
        the digest of its last answer); 204 when nothing changed within POLL_SECONDS."""
        seen = request.query.get("seen")
        world = self.scene.stage.sandbox.world
        loop = asyncio.get_running_loop()
        deadline = loop.time() + POLL_SECONDS
        while True:
            body = json.dumps(view.state(self.scene, self.tr), ensure_ascii=False)
            digest = hashlib.sha256(body.encode()).hexdigest()[:16]
            if digest != seen:
                answer = f'{{"digest": "{digest}", "world": {body}}}'
                return web.Response(body=answer.encode(), content_type="application/json")
            remaining = deadline - loop.time()
            if remaining <= 0 or world.closed or self.closing:
                return web.Response(status=204)
            await world.changed(min(remaining, CLOCK_LOOK_SECONDS))

    async def campaigns(self, request: web.Request) -> web.Response:
        rows = await self.scene.campaigns(self.tr)
        return web.json_response([{"id": i, "summary": text} for i, text in rows])

    async def event_types(self, request: web.Request) -> web.Response:
        return web.json_response(self.scene.event_types())

    async def act(self, request: web.Request) -> web.Response:
        action = ACTIONS.get(request.match_info["action"])
        if action is None:
            raise web.HTTPNotFound()
        # Another site's page can post a form here, but not JSON without asking first (a
        # preflight this server never grants): only the playground's own page acts.
        if request.content_type != "application/json":
            raise web.HTTPUnsupportedMediaType()
        try:
            body = await request.json()
            if not isinstance(body, dict):
                raise TypeError("a JSON object is expected")
            return web.json_response({"ok": True, **await action(self.scene, body)})
        except NotAllowed as exc:
            return self._failed(exc.shown(self.tr))
        except (KeyError, TypeError, ValueError) as exc:
            # Only a page other than ours sends such a request: no words for it but its own.
            return self._failed(f"{type(exc).__name__}: {exc}")

    def _failed(self, reason: str) -> web.Response:
        text = self.tr.gettext(labels.TEXTS["failed"]).format(reason=reason)
        return web.json_response({"ok": False, "error": text}, status=400)


def _file(path: Path) -> web.FileResponse:
    return web.FileResponse(path, headers={
        "Content-Type": _TYPES.get(path.suffix, "application/octet-stream"),
        "Cache-Control": "no-cache"})


def _int(body: dict[str, Any], key: str) -> int:
    value = body[key]
    if not isinstance(value, int) or isinstance(value, bool):
        raise TypeError(f"{key} must be a whole number")
    return value


def _optional_int(body: dict[str, Any], key: str) -> int | None:
    return None if body.get(key) is None else _int(body, key)


def _text(body: dict[str, Any], key: str) -> str:
    value = body[key]
    if not isinstance(value, str) or not value.strip():
        raise TypeError(f"{key} must be some text")
    return value


async def _send(scene: Scene, body: dict[str, Any]) -> dict[str, Any]:
    await scene.send(_int(body, "as"), _int(body, "chat"), _text(body, "text"),
                     reply_to=_optional_int(body, "reply_to"), topic=_optional_int(body, "topic"))
    return {}


async def _press(scene: Scene, body: dict[str, Any]) -> dict[str, Any]:
    toast = await scene.press(_int(body, "as"), _int(body, "chat"), _int(body, "message"),
                              _text(body, "data"))
    return {"toast": toast}


async def _link(scene: Scene, body: dict[str, Any]) -> dict[str, Any]:
    await scene.open_link(_int(body, "as"))
    return {}


async def _join(scene: Scene, body: dict[str, Any]) -> dict[str, Any]:
    await scene.join(_int(body, "as"), _int(body, "chat"))
    return {}


async def _leave(scene: Scene, body: dict[str, Any]) -> dict[str, Any]:
    await scene.leave(_int(body, "as"), _int(body, "chat"))
    return {}


async def _clock(scene: Scene, body: dict[str, Any]) -> dict[str, Any]:
    await scene.advance(float(_int(body, "hours")))
    return {}


async def _event(scene: Scene, body: dict[str, Any]) -> dict[str, Any]:
    count = await scene.report_event(_text(body, "customer"), _text(body, "type"))
    return {"scheduled": count}


async def _preview(scene: Scene, body: dict[str, Any]) -> dict[str, Any]:
    tr = scene.tr
    shown = []
    for person, p in await scene.previews(_int(body, "campaign")):
        # The message's HTML as Telegram would read it, then drawn as the chats are.
        text, entities = parse_html(p.message.text)
        shown.append({
            "person": person.user.id, "name": person.user.full_name,
            "variant": tr.gettext(labels.TEXTS["variant"]).format(
                name=p.variant, language=p.message.language),
            "html": view.rich(text, entities), "photo": p.message.photo,
            "buttons": [[{"text": b.text, **({"url": b.url} if b.url else {})} for b in row]
                        for row in p.message.keyboard.rows],
            "problem": labels.reason(tr, p.problem) if p.problem else None})
    return {"previews": shown}


ACTIONS: dict[str, Action] = {
    "send": _send, "press": _press, "link": _link, "join": _join, "leave": _leave,
    "clock": _clock, "event": _event, "preview": _preview,
}
