"""The sandbox Bot API server: a loopback aiohttp app in front of the simulated world.

A request goes through the same steps Telegram's would:

1. token check (401 Unauthorized);
2. parameter decoding (query string, JSON, url-encoded or multipart bodies alike);
3. validation against the official spec (404 unknown method, 400 bad parameters);
4. injected faults, if a test asked for one;
5. the target chat's state (400 chat not found, 403 blocked);
6. flood control (429 Too Many Requests: retry after N);
7. the world carries the call out and the answer goes back in Telegram's envelope.

Every request is recorded with the step that decided it (``RecordedRequest.kind``), so tests can
tell a bot bug (``rejected()``: invalid requests) from simulated trouble.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal, TypeVar

import aiohttp
from aiohttp import web

from careloop.sandbox.errors import ApiError, SandboxError
from careloop.sandbox.faults import Fault, FaultKind
from careloop.sandbox.flood import RateLimiter
from careloop.sandbox.objects import (
    Answer,
    CallbackAnswer,
    ForumTopic,
    SandboxMessage,
    SandboxUser,
)
from careloop.sandbox.spec import UploadedFile, ValidatedCall, canonical_method, validate
from careloop.sandbox.state import now
from careloop.sandbox.world import World

log = logging.getLogger(__name__)

DEFAULT_TOKEN = "123456:SANDBOX-TOKEN"  # noqa: S105 - the sandbox's own made-up token
MAX_UPLOAD = 50 * 1024 * 1024  # Telegram's upload limit for bots
# New messages count against flood limits; edits, answers and chat actions do not.
COUNTED_METHODS = frozenset(
    {"sendMessage", "sendPhoto", "sendDocument", "copyMessage", "forwardMessage"}
)

RequestKind = Literal["ok", "invalid", "fault", "state", "rate_limited"]
T = TypeVar("T")


@dataclass(slots=True)
class RecordedRequest:
    method: str
    params: dict[str, Any]
    ok: bool
    error_code: int | None
    description: str | None
    kind: RequestKind
    at: float  # time_source() when it arrived
    via_webhook_reply: bool = False


# --------------------------------------------------------------------------- the server


class Sandbox:
    """A strict, in-process Telegram Bot API for tests, the demo and manual trials."""

    def __init__(
        self,
        *,
        token: str = DEFAULT_TOKEN,
        bot_username: str = "careloop_sandbox_bot",
        rate_limits: bool = True,
        time_source: Callable[[], float] = time.monotonic,
    ) -> None:
        self.token = token
        self.world = World(token=token, bot_username=bot_username)
        self.rate_limits = rate_limits
        self.time_source = time_source
        self.limiter = RateLimiter(time_source)
        self.requests: list[RecordedRequest] = []
        self.faults: list[Fault] = []
        self._base_url: str | None = None
        self._runner: web.AppRunner | None = None
        self._deliverer: asyncio.Task[None] | None = None
        self._in_flight = 0
        self._last_activity = 0.0

    # ------------------------------------------------------------------ lifecycle

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> str:
        """Serve on ``host:port`` (0 = any free port); returns the base URL."""
        if self._runner is not None:
            raise SandboxError("the sandbox is already running")
        self.world.closed = False
        app = web.Application(client_max_size=MAX_UPLOAD)
        app.router.add_route("*", "/bot{token}/{method}", self._handle_api)
        app.router.add_get("/file/bot{token}/{path:.+}", self._handle_file)
        app.router.add_route("*", "/{tail:.*}", self._handle_unknown)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
        await self._runner.setup()
        site = web.TCPSite(self._runner, host, port)
        await site.start()
        bound = self._runner.addresses[0]
        self._base_url = f"http://{_url_host(bound[0])}:{bound[1]}"
        self._last_activity = asyncio.get_running_loop().time()
        self._deliverer = asyncio.create_task(self._deliver_webhooks(), name="sandbox-webhook")
        return self._base_url

    async def stop(self) -> None:
        self.world.close()  # releases long polls at once
        if self._deliverer is not None:
            self._deliverer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._deliverer
            self._deliverer = None
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> Sandbox:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:PORT``; the bot calls ``{base_url}/bot{token}/{method}``."""
        if self._base_url is None:
            raise SandboxError("the sandbox is not running; await start() first")
        return self._base_url

    @property
    def api_url(self) -> str:
        return f"{self.base_url}/bot{self.token}"

    # ------------------------------------------------------------------ control API

    @property
    def bot(self) -> SandboxUser:
        return self.world.bot

    @property
    def callback_answers(self) -> list[CallbackAnswer]:
        return self.world.callback_answers

    def add_user(
        self,
        first_name: str,
        *,
        last_name: str | None = None,
        username: str | None = None,
        language_code: str | None = "en",
        started: bool = True,
    ) -> SandboxUser:
        """A new user. ``started=False``: they never opened the bot, so it cannot write first."""
        return self.world.add_user(
            first_name,
            last_name=last_name,
            username=username,
            language_code=language_code,
            started=started,
        )

    def add_group(self, title: str, members: list[SandboxUser], *, forum: bool = False) -> int:
        """A supergroup with the bot as administrator; returns its chat id (-100...)."""
        return self.world.add_group(title, members, forum=forum)

    async def user_joins(self, user: SandboxUser, chat_id: int, *,
                         added_by: SandboxUser | None = None, only: str | None = None
                         ) -> SandboxMessage:
        """``user`` joins a group: a chat_member update and the service message are queued
        (``only`` one of them: "chat_member" or "service")."""
        message = self.world.user_joins(user, chat_id, added_by=added_by, only=only)
        await asyncio.sleep(0)
        return message

    async def user_leaves(self, user: SandboxUser, chat_id: int, *,
                          removed_by: SandboxUser | None = None, only: str | None = None
                          ) -> SandboxMessage:
        """``user`` leaves a group, or ``removed_by`` (an administrator) removes them."""
        message = self.world.user_leaves(user, chat_id, removed_by=removed_by, only=only)
        await asyncio.sleep(0)
        return message

    def pinned(self, chat_id: int) -> list[SandboxMessage]:
        """The chat's pinned messages, oldest first."""
        return [m for m in self.world.messages(chat_id) if m.pinned and not m.deleted]

    def add_topic(self, chat_id: int, name: str) -> int:
        """A forum topic opened by a member; returns its message_thread_id."""
        return self.world.add_topic(chat_id, name)

    async def user_sends(
        self,
        user: SandboxUser,
        text: str,
        *,
        chat_id: int | None = None,
        reply_to_message_id: int | None = None,
        message_thread_id: int | None = None,
    ) -> SandboxMessage:
        """``user`` writes ``text`` (in their private chat unless ``chat_id``); queues an update."""
        message = self.world.user_sends(
            user,
            text,
            chat_id=chat_id,
            reply_to_message_id=reply_to_message_id,
            message_thread_id=message_thread_id,
        )
        await asyncio.sleep(0)
        return message

    async def user_sends_photo(
        self,
        user: SandboxUser,
        *,
        caption: str | None = None,
        chat_id: int | None = None,
        reply_to_message_id: int | None = None,
        message_thread_id: int | None = None,
    ) -> SandboxMessage:
        message = self.world.user_sends_photo(
            user,
            caption=caption,
            chat_id=chat_id,
            reply_to_message_id=reply_to_message_id,
            message_thread_id=message_thread_id,
        )
        await asyncio.sleep(0)
        return message

    async def user_sends_document(
        self,
        user: SandboxUser,
        *,
        file_name: str,
        caption: str | None = None,
        chat_id: int | None = None,
        reply_to_message_id: int | None = None,
        message_thread_id: int | None = None,
    ) -> SandboxMessage:
        message = self.world.user_sends_document(
            user,
            file_name=file_name,
            caption=caption,
            chat_id=chat_id,
            reply_to_message_id=reply_to_message_id,
            message_thread_id=message_thread_id,
        )
        await asyncio.sleep(0)
        return message

    async def user_presses(
        self, user: SandboxUser, chat_id: int, message_id: int, callback_data: str
    ) -> str:
        """Press an inline button that is on the message now; returns the callback query id."""
        query_id = self.world.user_presses(user, chat_id, message_id, callback_data)
        await asyncio.sleep(0)
        return query_id

    async def forge_press(
        self, user: SandboxUser, chat_id: int, message_id: int, callback_data: str
    ) -> str:
        """A callback query no real client could send: any data, any message, any chat."""
        query_id = self.world.user_presses(user, chat_id, message_id, callback_data, forged=True)
        await asyncio.sleep(0)
        return query_id

    async def forge_message(
        self,
        user: SandboxUser,
        text: str,
        *,
        chat_id: int | None = None,
        reply_to_message_id: int | None = None,
    ) -> SandboxMessage:
        """A message past the clients' 4096-character cut, as a forged update could carry."""
        message = self.world.user_sends(
            user, text, chat_id=chat_id, reply_to_message_id=reply_to_message_id, forged=True
        )
        await asyncio.sleep(0)
        return message

    def block(self, user: SandboxUser) -> None:
        self.world.block(user)

    def unblock(self, user: SandboxUser) -> None:
        self.world.unblock(user)

    def messages(self, chat_id: int) -> list[SandboxMessage]:
        return self.world.messages(chat_id)

    def bot_messages(self, chat_id: int) -> list[SandboxMessage]:
        return self.world.bot_messages(chat_id)

    def topics(self, chat_id: int) -> list[ForumTopic]:
        """A forum's topics, oldest first."""
        return list(self.world.chats[chat_id].topics.values())

    @property
    def polling(self) -> bool:
        """True while a getUpdates long poll is waiting: the bot is connected and idle."""
        return self.world.pollers > 0

    def pending_updates(self) -> int:
        """Updates not yet confirmed by the bot (getWebhookInfo's pending_update_count)."""
        return len(self.world.updates.items)

    def rejected(self) -> list[RecordedRequest]:
        """Requests that failed validation: malformed calls, i.e. bugs in the bot."""
        return [r for r in self.requests if r.kind == "invalid"]

    def calls(self, method: str) -> list[RecordedRequest]:
        wanted = canonical_method(method) or method
        return [r for r in self.requests if r.method == wanted]

    def inject_fault(
        self,
        method: str | None = None,
        *,
        chat_id: int | None = None,
        kind: FaultKind,
        retry_after: int = 1,
        delay: float = 0.0,
        times: int = 1,
    ) -> Fault:
        if method is not None and canonical_method(method) is None:
            raise SandboxError(f"unknown Bot API method {method!r}")
        fault = Fault(kind, method, chat_id, retry_after, delay, times)
        fault.error()  # rejects an unknown kind now rather than at request time
        self.faults.append(fault)
        return fault

    async def wait_for(
        self,
        predicate: Callable[[], T],
        timeout: float = 5.0,  # noqa: ASYNC109 - a deadline in seconds is this helper's point
        *,
        what: str | None = None,
    ) -> T:
        """Wait until ``predicate()`` is truthy (re-checked on every change); return its value."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            value = predicate()
            if value:
                return value
            remaining = deadline - loop.time()
            if remaining <= 0:
                label = what or getattr(predicate, "__name__", "condition")
                raise TimeoutError(
                    f"sandbox: {label} still false after {timeout}s; {self._summary()}"
                )
            await self.world.changed(remaining)

    async def wait_idle(self, timeout: float = 5.0, *, quiet: float = 0.05) -> None:  # noqa: ASYNC109
        """Wait until every update reached the bot and then no request arrived for ``quiet``
        seconds of the event loop running. Quiet is counted in short ticks, each credited
        with at most its own length: a stall (the process descheduled on a busy machine, a
        blocking call, a first import) counts as one tick, not as the bot having nothing to
        do, so a handler that was ready to run gets the loop before the bot is called idle."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        tick = quiet / 5
        calm, seen = 0.0, self._last_activity
        while True:
            undelivered = self._undelivered()
            if undelivered or self._in_flight or self._last_activity != seen:
                calm, seen = 0.0, self._last_activity
            if not undelivered and not self._in_flight and calm >= quiet:
                return
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise TimeoutError(
                    f"sandbox: not idle after {timeout}s ({undelivered} updates undelivered, "
                    f"{self._in_flight} requests in flight); {self._summary()}"
                )
            if not undelivered and not self._in_flight:
                started = loop.time()
                await asyncio.sleep(min(tick, remaining))
                calm += min(loop.time() - started, tick)
            else:
                await self.world.changed(remaining)

    def _touch(self) -> None:
        self._last_activity = asyncio.get_running_loop().time()
        self.world.notify()

    def _undelivered(self) -> int:
        if self.world.webhook is not None:
            return len(self.world.updates.items)
        return self.world.updates.undelivered()

    def _summary(self) -> str:
        recent = ", ".join(f"{r.method}:{r.error_code or 'ok'}" for r in self.requests[-5:])
        return f"{len(self.requests)} requests (last: {recent or 'none'})"

    # ------------------------------------------------------------------ HTTP handlers

    async def _handle_api(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        polling = method.lower() == "getupdates"
        if not polling:
            self._in_flight += 1
        try:
            params, malformed = await _read_params(request)
            if request.match_info["token"] != self.token:
                unauthorized = ApiError(401, "Unauthorized")
                return self._reply(self._record(method, params, unauthorized, "invalid"))
            if malformed is not None:
                return self._reply(self._record(method, params, malformed, "invalid"))
            return self._reply(await self.dispatch(method, params))
        finally:
            if not polling:
                self._in_flight -= 1
                self._touch()

    async def dispatch(
        self, method: str, params: dict[str, Any], *, via_webhook_reply: bool = False
    ) -> dict[str, Any]:
        """Run one Bot API call; returns Telegram's response envelope."""
        record = functools.partial(
            self._record, method, params, via_webhook_reply=via_webhook_reply
        )
        try:
            call = validate(method, params)
        except ApiError as error:
            return record(error, "invalid")
        fault = self._take_fault(call)
        if fault is not None:
            if (injected := fault.error()) is not None:
                return record(injected, "fault")
            await asyncio.sleep(fault.delay)
        kind, outcome = await self._execute(call)
        return record(outcome, kind)

    def _take_fault(self, call: ValidatedCall) -> Fault | None:
        for fault in self.faults:
            if fault.matches(call):
                fault.times -= 1
                return fault
        return None

    async def _execute(self, call: ValidatedCall) -> tuple[RequestKind, Any]:
        if call.method == "getUpdates":
            return await self._poll(call)
        reservation = None
        if call.method in COUNTED_METHODS:
            try:
                chat = self.world.resolve_chat(call.params["chat_id"])
                self.world.check_can_send(chat)
            except ApiError as error:
                return "state", error  # Telegram reports these before flood control
            if self.rate_limits:
                paid = bool(call.get("allow_paid_broadcast"))
                try:
                    reservation = self.limiter.reserve(chat, paid=paid)
                except ApiError as error:
                    return "rate_limited", error
        try:
            result = self.world.perform(call)
        except ApiError as error:
            return "state", error
        if reservation is not None:
            reservation.commit()
        return "ok", result

    async def _poll(self, call: ValidatedCall) -> tuple[RequestKind, Any]:
        try:
            batch = await self.world.get_updates(call)
        except ApiError as error:
            return "state", error
        if batch:
            self._touch()  # the bot has work now; wait_idle must give it time
        return "ok", batch

    def _record(
        self,
        method: str,
        params: dict[str, Any],
        outcome: Any,
        kind: RequestKind,
        *,
        via_webhook_reply: bool = False,
    ) -> dict[str, Any]:
        """Remember the request and build its envelope from a result or an ``ApiError``."""
        name = canonical_method(method) or method
        error = outcome if isinstance(outcome, ApiError) else None
        self.requests.append(
            RecordedRequest(
                method=name,
                params=params,
                ok=error is None,
                error_code=error.code if error else None,
                description=error.description if error else None,
                kind=kind,
                at=self.time_source(),
                via_webhook_reply=via_webhook_reply,
            )
        )
        self.world.notify()
        if error is not None:
            if kind == "invalid":
                log.info("sandbox rejected %s: %s", name, error.description)
            return error.envelope()
        answer = outcome if isinstance(outcome, Answer) else Answer(outcome)
        envelope = {"ok": True, "result": answer.result}
        if answer.description:
            envelope["description"] = answer.description
        return envelope

    @staticmethod
    def _reply(envelope: dict[str, Any]) -> web.Response:
        status = 200 if envelope["ok"] else envelope["error_code"]
        return web.json_response(envelope, status=status)

    async def _handle_file(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != self.token:
            return self._reply(ApiError(401, "Unauthorized").envelope())
        stored = self.world.file_by_path(request.match_info["path"])
        if stored is None or stored.data is None:
            return self._reply(ApiError(404, "Not Found").envelope())
        content_type = stored.mime_type or "application/octet-stream"
        return web.Response(body=stored.data, content_type=content_type)

    async def _handle_unknown(self, request: web.Request) -> web.Response:
        return self._reply(ApiError(404, "Not Found").envelope())

    # ------------------------------------------------------------------ webhook delivery

    async def _deliver_webhooks(self) -> None:
        """POST pending updates, one at a time and in order, to the webhook while one is set."""
        backoff = 0.05
        async with aiohttp.ClientSession() as session:
            while True:
                hook = self.world.webhook
                if hook is None or not self.world.updates.items:
                    await self.world.changed(None)
                    continue
                update = self.world.updates.items[0]
                self.world.updates.delivered_upto = max(
                    self.world.updates.delivered_upto, update["update_id"]
                )
                error = await self._post_update(session, hook.url, hook.secret_token, update)
                if error is None:
                    self._touch()
                    self.world.updates.confirm(update["update_id"] + 1)
                    backoff = 0.05
                    self.world.notify()
                    continue
                hook.last_error_date, hook.last_error_message = now(), error
                self.world.notify()
                # Telegram retries later with growing pauses; here they stay short.
                await self.world.changed(backoff)
                backoff = min(backoff * 2, 1.0)

    async def _post_update(
        self,
        session: aiohttp.ClientSession,
        url: str,
        secret: str | None,
        update: dict[str, Any],
    ) -> str | None:
        headers = {"X-Telegram-Bot-Api-Secret-Token": secret} if secret else {}
        try:
            async with session.post(
                url, json=update, headers=headers, timeout=aiohttp.ClientTimeout(total=10)
            ) as response:
                if not 200 <= response.status < 300:
                    return f"Wrong response from the webhook: {response.status} {response.reason}"
                body = await response.read()
        except (aiohttp.ClientError, TimeoutError) as error:
            return f"Connection failed: {type(error).__name__}"
        await self._webhook_reply(body)
        return None

    async def _webhook_reply(self, body: bytes) -> None:
        """A webhook may answer with one method call in its response body; Telegram runs it."""
        try:
            reply = json.loads(body) if body.strip() else None
        except ValueError:
            return
        if isinstance(reply, dict) and isinstance(reply.get("method"), str):
            params = {k: v for k, v in reply.items() if k != "method"}
            await self.dispatch(reply["method"], params, via_webhook_reply=True)


# --------------------------------------------------------------------------- request decoding


async def _read_params(request: web.Request) -> tuple[dict[str, Any], ApiError | None]:
    """Query string and body merged (Telegram accepts any of the usual encodings), or the
    reason the body could not be read."""
    params: dict[str, Any] = dict(request.query)
    if request.method != "POST" or not request.can_read_body:
        return params, None
    try:
        if request.content_type == "application/json":
            params.update(await _json_body(request))
        elif request.content_type in ("application/x-www-form-urlencoded", "multipart/form-data"):
            params.update(await _form_body(request))
    except ApiError as error:
        return params, error
    return params, None


async def _json_body(request: web.Request) -> dict[str, Any]:
    try:
        body = await request.json()
    except ValueError:
        raise ApiError(400, "Bad Request: can't parse JSON object") from None
    if not isinstance(body, dict):
        raise ApiError(400, "Bad Request: can't parse JSON object")
    return body


async def _form_body(request: web.Request) -> dict[str, Any]:
    form = await request.post()
    values: dict[str, Any] = {}
    for key, value in form.items():
        if isinstance(value, web.FileField):
            values[key] = UploadedFile(
                filename=value.filename, content_type=value.content_type, data=value.file.read()
            )
        else:
            values[key] = value
    # aiogram names upload parts randomly and refers to them as "attach://<name>".
    for key, value in list(values.items()):
        if isinstance(value, str) and value.startswith("attach://"):
            part = values.get(value.removeprefix("attach://"))
            if isinstance(part, UploadedFile):
                values[key] = part
    return values


def _url_host(host: str) -> str:
    return f"[{host}]" if ":" in host else host
