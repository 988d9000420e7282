"""The aiohttp application: routes, bearer auth, JSON errors. Handlers only parse and
render; ingest.py decides."""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Protocol

from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncEngine

from careloop.bot.api import ingest, reads
from careloop.bot.api.auth import bearer_matches
from careloop.bot.api.errors import ApiError, FieldError, body, field_path, invalid
from careloop.bot.api.health import database_problem
from careloop.bot.api.openapi import build_document
from careloop.bot.api.schemas import CustomersOut, EventOut, TouchOut
from careloop.bot.http_edge import BodyTimeout, HttpLimits, RateLimiter, read_body
from careloop.care.playbook.model import Playbook
from careloop.kernel.clock import Clock
from careloop.kernel.text import first_invalid
from careloop.storage.uow import UnitOfWorkFactory

log = logging.getLogger(__name__)

MAX_BODY_BYTES = 1024 * 1024
PUBLIC = frozenset({"/api/v1/openapi.json"})  # under /api/ but readable without a token


class Database(Protocol):
    """What the API needs of the composition root's Storage."""

    @property
    def engine(self) -> AsyncEngine: ...

    @property
    def uow(self) -> UnitOfWorkFactory: ...


@dataclass(frozen=True)
class ApiDeps:
    storage: Database
    clock: Clock
    token: str
    language: str  # defaults for customers created without one
    timezone: str  # also the clock of an event time given without an offset
    playbook: Playbook
    document: dict[str, Any]
    limits: HttpLimits
    rate: RateLimiter
    secret: str | None = None  # keys the suppression list (CARELOOP_LINK_SECRET)


DEPS = web.AppKey("careloop_api", ApiDeps)
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def build_api(storage: Database, clock: Clock, playbook: Playbook, *, token: str,
              language: str, timezone: str, limits: HttpLimits | None = None,
              secret: str | None = None) -> web.Application:
    # Refusals in order of cost: too many requests, then no token, then the body.
    app = web.Application(middlewares=[_json_errors, _rate_limit, _bearer_auth, _json_only],
                          client_max_size=MAX_BODY_BYTES)
    limits = limits or HttpLimits()
    app[DEPS] = ApiDeps(storage, clock, token, language, timezone, playbook,
                        build_document(MAX_BODY_BYTES), limits,
                        RateLimiter(limits.rate_per_second, limits.burst), secret)
    app.router.add_post("/api/v1/events", post_event)
    app.router.add_post("/api/v1/customers", post_customers)
    app.router.add_get("/api/v1/customers/{external_id}", get_customer)
    app.router.add_get("/api/v1/cases", get_cases)
    app.router.add_get("/api/v1/answers", get_answers)
    app.router.add_get("/api/v1/reports/summary", get_summary)
    app.router.add_get("/api/v1/openapi.json", get_openapi)
    app.router.add_get("/healthz", get_health)
    return app


async def post_event(request: web.Request) -> web.Response:
    """Record a business event once per event id; answer with the touches it scheduled."""
    deps = request.app[DEPS]
    event = ingest.event_body(await _json_body(request))
    scheduled = await ingest.record_event(deps.storage.uow, deps.clock.now(), event,
                                          deps.timezone, deps.playbook)
    log.info("API event %s %s: %d touches scheduled", scheduled.event.id,
             "repeated" if scheduled.repeated else "recorded", len(scheduled.touches))
    out = EventOut(event=scheduled.event.id, duplicate=scheduled.repeated, touches=[
        TouchOut(purpose=t.purpose, due_at=t.due_at) for t in scheduled.touches])
    return web.json_response(out.model_dump(mode="json"),
                             status=200 if scheduled.repeated else 201)


async def post_customers(request: web.Request) -> web.Response:
    """Create or update one customer or a list of them, all or none."""
    deps = request.app[DEPS]
    body = await _json_body(request)
    rows = ingest.customer_rows(body)
    result = await ingest.save_customers(deps.storage.uow, deps.clock.now(), rows,
                                         deps.language, deps.timezone, deps.secret,
                                         listed=isinstance(body, list))
    log.info("API customers: %d created, %d updated", result.created, result.updated)
    out = CustomersOut(created=result.created, updated=result.updated)
    return web.json_response(out.model_dump(mode="json"))


async def get_customer(request: web.Request) -> web.Response:
    """One customer and their timeline, by external id."""
    deps = request.app[DEPS]
    out = await reads.customer(deps.storage.uow, deps.clock.now(),
                               request.match_info["external_id"])
    return web.json_response(out.model_dump(mode="json"))


async def get_cases(request: web.Request) -> web.Response:
    """Cases, oldest first, a page at a time."""
    deps = request.app[DEPS]
    page = await reads.cases(deps.storage.uow, request.query, deps.timezone)
    return web.json_response(page.model_dump(mode="json"))


async def get_answers(request: web.Request) -> web.Response:
    """Survey answers, oldest first, a page at a time."""
    deps = request.app[DEPS]
    page = await reads.answers(deps.storage.uow, request.query, deps.timezone)
    return web.json_response(page.model_dump(mode="json"))


async def get_summary(request: web.Request) -> web.Response:
    """The report `careloop report --format json` prints, over the asked window."""
    deps = request.app[DEPS]
    report = await reads.summary(deps.storage.uow, deps.clock.now(), request.query,
                                 deps.timezone)
    return web.json_response(report)


async def get_openapi(request: web.Request) -> web.Response:
    """This API's OpenAPI document."""
    return web.json_response(request.app[DEPS].document)


async def get_health(request: web.Request) -> web.Response:
    """200 when the database answers, 503 with the reason in one line when it does not."""
    problem = await database_problem(request.app[DEPS].storage.engine)
    if problem is None:
        return web.json_response({"status": "ok"})
    return web.json_response({"status": "unavailable", "reason": problem}, status=503)


async def _json_body(request: web.Request) -> object:
    raw = await request.read()  # read already, under the body timeout, by _json_only
    try:
        value = json.loads(raw)
    except RecursionError:
        raise invalid(None, "the body is nested too deeply") from None
    except ValueError as exc:  # also text that is not UTF-8
        raise invalid(None, f"the body is not valid JSON: {exc}") from None
    where = first_invalid(value)
    if where is not None:
        # JSON can spell half of a UTF-16 pair ("\ud800"): no database can store that.
        raise invalid(field_path(where), "is not valid Unicode text: it holds a lone UTF-16 "
                      "surrogate (an escape from \\ud800 to \\udfff without its pair)")
    return value


@web.middleware
async def _rate_limit(request: web.Request, handler: Handler) -> web.StreamResponse:
    wait = request.app[DEPS].rate.retry_after(request.remote or "")
    if wait is not None:
        raise ApiError(429, [FieldError(None, f"too many requests: try again in {wait} s")],
                       {"Retry-After": str(wait)})
    return await handler(request)


@web.middleware
async def _json_only(request: web.Request, handler: Handler) -> web.StreamResponse:
    """A body must be JSON, said so, and arrive within the body timeout."""
    if (request.method != "POST" or request.path in PUBLIC
            or request.match_info.http_exception is not None):  # a 404 or 405 says more
        return await handler(request)
    if request.content_type != "application/json":
        raise ApiError(415, [FieldError(None, "the body must be JSON, sent with "
                                        "Content-Type: application/json")])
    try:
        await read_body(request, request.app[DEPS].limits.body_timeout)
    except BodyTimeout:
        response = web.json_response(body([FieldError(
            None, "the body did not arrive in time")]), status=408)
        response.force_close()  # the rest of it may still be on its way
        return response
    return await handler(request)


@web.middleware
async def _bearer_auth(request: web.Request, handler: Handler) -> web.StreamResponse:
    if request.path.startswith("/api/") and request.path not in PUBLIC:
        token = request.app[DEPS].token
        if not bearer_matches(request.headers.get("Authorization"), token):
            raise ApiError(401, [FieldError(None, "a valid bearer token is required")],
                           {"WWW-Authenticate": 'Bearer realm="careloop"'})
    return await handler(request)


@web.middleware
async def _json_errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Every refusal is JSON in one shape, including aiohttp's own 404, 405 and 413."""
    try:
        return await handler(request)
    except ApiError as exc:
        return web.json_response(body(exc.errors), status=exc.status, headers=exc.headers)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        headers = {k: v for k, v in exc.headers.items() if k.lower() == "allow"}
        return web.json_response(body([FieldError(None, _explain(exc, request))]),
                                 status=exc.status, headers=headers)
    except Exception:
        # The log names the route only: request bodies carry personal data.
        log.exception("API %s %s failed", request.method, request.path)
        return web.json_response(body([FieldError(None, "internal error")]), status=500)


def _explain(exc: web.HTTPException, request: web.Request) -> str:
    if isinstance(exc, web.HTTPNotFound):
        return f"no such endpoint: {request.path}"
    if isinstance(exc, web.HTTPMethodNotAllowed):
        return f"{exc.method} is not allowed here; use {', '.join(sorted(exc.allowed_methods))}"
    if isinstance(exc, web.HTTPRequestEntityTooLarge):
        return f"the body is larger than {MAX_BODY_BYTES} bytes"
    return exc.reason
