"""Replies and notices from handlers: stored in the commit that decided them, sent right
after it, and kept until Telegram takes them.

The fast path sends each stored message as soon as the update's changes are committed. A
message Telegram delays (429), that our own pacing holds back, or that Telegram fails to
take (5xx) stays stored and the sender's tick delivers it later, in order per chat; a crash
after the commit loses nothing. Like touches, a message is claimed (`sending`, with this
process's owner id and a lease) and then marked attempted just before the call; one whose
outcome is unknown (a crash during the call, no answer in time) is failed as ambiguous
rather than sent twice (policy.RESEND_IF_UNSURE), and one claimed by a process that stopped
before the call is sent later (bot/outbox/claims.py).
"""

from __future__ import annotations

import base64
import contextlib
import logging
import math
from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from careloop.bot.outbox import posts
from careloop.bot.outbox.claims import Claims
from careloop.bot.outbox.executor import MAX_WAIT, Calls
from careloop.bot.outbox.limiter import Limiter, Paced
from careloop.care.failures import settle_error
from careloop.customers.directory import mark_unreachable
from careloop.customers.timeline import record
from careloop.kernel.clock import Clock
from careloop.kernel.effects import CaseLink, Chatter, Effect, LogAs, Send, TopicState
from careloop.kernel.messenger import (
    TEXT_LIMIT,
    BadRequest,
    Messenger,
    MessengerError,
    RetryAfter,
    Sent,
    TimedOut,
    text_length,
)
from careloop.kernel.updates import Button, Keyboard, Media, Upload
from careloop.storage.models import OutboundMessage, TouchState
from careloop.storage.uow import UnitOfWork, UnitOfWorkFactory

log = logging.getLogger(__name__)

FAST_PATH_GRACE = timedelta(seconds=60)


def encode(send: Send) -> dict[str, Any]:
    """A Send as JSON, for the outbound_message row."""
    return {
        "chat_id": send.chat_id,
        "text": send.text,
        "keyboard": [[[b.text, b.callback_data, b.url] for b in row]
                     for row in send.keyboard.rows] if send.keyboard else None,
        "reply_to": send.reply_to,
        "topic_id": send.topic_id,
        "media": [send.media.kind, send.media.file_id, send.media.file_name]
        if send.media else None,
        "upload": [send.upload.file_name, base64.b64encode(send.upload.data).decode("ascii"),
                   send.upload.kind] if send.upload else None,
        "log": {"customer_id": send.log.customer_id, "kind": send.log.kind,
                "case_id": send.log.case_id, "data": send.log.data} if send.log else None,
        "case_link": [send.case_link.case_id, send.case_link.role] if send.case_link else None,
        "on_failure": encode(send.on_failure) if send.on_failure else None,
        "pin": send.pin,
        "open_topic": send.open_topic,
        "campaign_run": send.campaign_run,
        # Top level, so that the outbox can tell a customer's words from the rest in SQL.
        "chatter": send.chatter.key if send.chatter else None,
        "chatter_line": send.chatter.line if send.chatter else None,
        "about": list(send.about),
        "lists_cases": list(send.lists_cases),
    }


def decode(data: dict[str, Any]) -> Send:
    keyboard = data.get("keyboard")
    media = data.get("media")
    log_as = data.get("log")
    link = data.get("case_link")
    failure = data.get("on_failure")
    upload = data.get("upload")
    chatter = data.get("chatter")
    return Send(
        chat_id=data["chat_id"],
        text=data["text"],
        keyboard=Keyboard.of(*[[Button(t, c, u) for t, c, u in row] for row in keyboard])
        if keyboard else None,
        reply_to=data.get("reply_to"),
        topic_id=data.get("topic_id"),
        media=Media(*media) if media else None,
        upload=Upload(upload[0], base64.b64decode(upload[1]), *upload[2:3]) if upload else None,
        log=LogAs(**log_as) if log_as else None,
        case_link=CaseLink(*link) if link else None,
        on_failure=decode(failure) if failure else None,
        pin=bool(data.get("pin")),
        open_topic=data.get("open_topic"),
        campaign_run=data.get("campaign_run"),
        chatter=Chatter(chatter, data.get("chatter_line")) if chatter else None,
        about=tuple(data.get("about") or ()),
        lists_cases=tuple(data.get("lists_cases") or ()),
    )


class Outbound:
    def __init__(self, uow: UnitOfWorkFactory, messenger: Messenger, clock: Clock,
                 limiter: Limiter, claims: Claims | None = None) -> None:
        self.claims = claims or Claims()
        self._uow = uow
        self._messenger = messenger
        self._clock = clock
        self.limiter = limiter
        self._calls = Calls(messenger, limiter)

    @staticmethod
    async def enqueue(uow: UnitOfWork, send: Send, now: datetime) -> int:
        """Store a message in the caller's unit of work; it is sent once that commits.

        The sender's tick leaves it to the fast path for a grace period: if both sent it,
        one would fail the claim, but the tick could still be recording a message's id
        while the next update (a staff reply to that very message) is handled.

        A customer's words for the staff group (Send.chatter) join their previous words
        about the same case when those still wait for a slot: the returned id is then that
        message's."""
        if (merged := await Outbound._merge(uow, send)) is not None:
            return merged
        row = await uow.outbox.add(OutboundMessage(
            chat_id=send.chat_id, payload=encode(send), due_at=now + FAST_PATH_GRACE,
            created_at=now))
        return row.id

    @staticmethod
    async def _merge(uow: UnitOfWork, send: Send) -> int | None:
        """Add `send`'s line to the case's waiting relay, if the case's latest waiting
        message is one and the sum stays within a message; its id, or None."""
        chatter = send.chatter
        if chatter is None or chatter.line is None or send.media or send.upload:
            return None
        case_id = send.case_link.case_id if send.case_link else None
        row = await uow.outbox.latest_waiting_chatter(send.chat_id, chatter.key, case_id)
        if row is None or row.payload.get("media") or row.payload.get("chatter_line") is None:
            return None
        text = f"{row.payload['text']}\n{chatter.line}"
        if text_length(text) > TEXT_LIMIT:
            return None
        # Conditional: a relay claimed for sending meanwhile is left alone.
        if not await uow.outbox.rewrite_waiting(row.id, {**row.payload, "text": text}):
            return None
        return row.id

    @staticmethod
    async def enqueue_all(uow: UnitOfWork, effects: Sequence[Effect], now: datetime
                          ) -> dict[int, int]:
        """Store every message among a decision's effects with it: their outbox ids by
        position, as the executor takes them once the decision has committed."""
        return {position: await Outbound.enqueue(uow, effect, now)
                for position, effect in enumerate(effects) if isinstance(effect, Send)}

    async def send_now(self, message_id: int, *, patient: bool = False) -> None:
        """The fast path, right after the commit; what has to wait stays stored. `patient`:
        a scheduled round's message waits for its turn however long it is."""
        await self._deliver(message_id, math.inf if patient else MAX_WAIT)

    async def deliver_due(self, batch: int = 200) -> int:
        """The slow path, from the sender's tick: whatever waited and is due now."""
        async with self._uow(brief=True) as uow:
            due = [m.id for m in await uow.outbox.due(self._clock.now(), batch)]
        for message_id in due:
            # In order per chat (see _deliver). One whose slot is far off (a group's minute
            # is full) waits stored for a later tick rather than holding this one, and the
            # sends and shutdown behind it, for minutes.
            await self._deliver(message_id, MAX_WAIT)
        return len(due)

    async def _deliver(self, message_id: int, max_wait: float = math.inf) -> None:
        payload = await self._claimed(message_id, max_wait)
        if payload is None:
            return  # someone else has it, it is settled, or it waits its turn
        send = decode(payload)
        try:
            sent = await self._paced(message_id, send, max_wait)
            if sent is None:
                log.warning("outbound message %s: claim lost before sending (lease ran out); "
                            "left to the process that recovered it", message_id)
                return
        except MessengerError as exc:
            await self._failed(message_id, send, exc)
        except Exception:
            log.exception("outbound message %s: unexpected error while sending", message_id)
            await self._settle(message_id, TouchState.FAILED, "internal error while sending")
        else:
            await self._sent(message_id, payload, send, sent)

    async def _claimed(self, message_id: int, max_wait: float) -> dict[str, Any] | None:
        """The message claimed for sending, in its chat's order: its payload as stored now
        (a customer's later words may have joined a relay since it was stored), or None.

        An earlier message to the chat that nobody has tried yet (another task's fast path
        is about to send it, once it has its turn to write) is sent first, then this one.
        Left to the tick, this one would wait for that message's due time: its fast path's
        grace (FAST_PATH_GRACE), a minute, however soon that message goes out."""
        while True:
            async with self._uow.writing() as uow:
                until = self.claims.until(self._clock.now())
                # Most messages are the only one waiting for their chat: one statement.
                payload = await uow.outbox.claim_alone(message_id, self.claims.owner, until)
                if payload is not None:
                    await uow.commit()
                    return payload
                row = await uow.outbox.get(message_id)
                if row is None or row.state != TouchState.PENDING:
                    return None
                ahead = await uow.outbox.earliest_waiting(
                    row.chat_id, before_chatter=row.payload.get("chatter") is None)
                if ahead is None or ahead.id == row.id:
                    if not await uow.outbox.claim(message_id, self.claims.owner, until):
                        return None
                    await uow.session.refresh(row)  # what is sent is what is stored now
                    await uow.commit()
                    return row.payload
                if ahead.last_error is not None:
                    # An earlier message to this chat is waiting: this one goes right after
                    # it, so none overtakes one that Telegram or our pacing asked to delay.
                    row.due_at = ahead.due_at
                    uow.session.add(row)
                    await uow.commit()
                    return None
                untried = ahead.id
            await self._deliver(untried, max_wait)

    async def _paced(self, message_id: int, send: Send, max_wait: float) -> Sent | None:
        """Telegram's answer, or None if the claim was lost before the call."""
        chatter = send.chatter is not None
        try:
            send = await self._placed(send)
            # A slot further off than max_wait (our own pacing, Paced) leaves the message
            # waiting as after a 429, without pausing the chat.
            async with self.limiter.turn(send.chat_id, chatter=chatter, max_wait=max_wait):
                # Committed before the call: a crash from here on leaves the message in
                # doubt, one before it leaves a message that was simply not sent yet.
                if not await self._attempt(message_id):
                    return None
                return await self._send(send)
        except RetryAfter as exc:
            if not isinstance(exc, Paced):  # Telegram's own answer
                self.limiter.pause(send.chat_id, exc.seconds)
            raise

    async def _attempt(self, message_id: int) -> bool:
        async with self._uow.writing() as uow:
            won = await uow.outbox.attempt([message_id], self.claims.owner, self._clock.now())
            await uow.commit()
        return bool(won)

    async def _placed(self, send: Send) -> Send:
        """A staff-group message about a case is threaded with the case as it goes out, not
        when it was decided: the case's card or forum topic may have been posted since."""
        link = send.case_link
        if link is None or send.reply_to is not None or send.topic_id is not None:
            return send
        async with self._uow(brief=True) as uow:
            case = await uow.cases.get(link.case_id)
            if case is None:
                return send
            topic = case.topic_id
            if topic is None and send.open_topic:
                topic = await self._open_topic(uow, send, link.case_id)
            card = None
            if topic is None and link.role != "card":
                card = await uow.cases.card_of(link.case_id)
        if card is not None and card.chat_id != send.chat_id:
            card = None  # the case moved to another team's group, its new card not yet there
        return replace(send, topic_id=topic, reply_to=card.message_id if card else None)

    async def _open_topic(self, uow: UnitOfWork, send: Send, case_id: int) -> int | None:
        assert send.open_topic is not None
        try:
            topic = await self._calls.create_topic(send.chat_id, send.open_topic)
        except BadRequest as exc:  # no longer a forum, or no right to manage topics
            log.warning("case %s: no forum topic (%s); card posted in the group", case_id, exc)
            return None
        if not await uow.cases.set_topic(case_id, topic):
            # Another worker gave the case a topic a moment ago: that one is the case's.
            case = await uow.cases.get(case_id)
            assert case is not None
            await uow.session.refresh(case)
            await self._quietly_close(send.chat_id, topic)
            return case.topic_id
        await uow.commit()
        return topic

    async def _quietly_close(self, chat_id: int, topic: int) -> None:
        with contextlib.suppress(MessengerError):  # an empty spare topic holds nothing
            await self._calls.apply(TopicState(chat_id, topic, True))

    async def _send(self, send: Send) -> Sent:
        if send.upload is not None:
            return await self._messenger.send_upload(
                send.chat_id, send.upload, caption=send.text, reply_to=send.reply_to,
                topic_id=send.topic_id)
        if send.media is not None:
            return await self._messenger.send_media(
                send.chat_id, send.media, caption=send.text, keyboard=send.keyboard,
                reply_to=send.reply_to, topic_id=send.topic_id)
        return await self._messenger.send_text(
            send.chat_id, send.text, keyboard=send.keyboard, reply_to=send.reply_to,
            topic_id=send.topic_id)

    async def _sent(self, message_id: int, payload: dict[str, Any], send: Send, sent: Sent
                    ) -> None:
        now = self._clock.now()
        # A data export is personal data: once delivered, the stored copy goes.
        kept = ({**payload, "upload": [send.upload.file_name, ""]} if send.upload is not None
                else None)
        async with self._uow.writing() as uow:
            if not await uow.outbox.settle_sent(message_id, self.claims.owner, now,
                                                sent.message_id, kept):
                _erased(message_id)  # nothing of it goes into the timeline either
                return
            if send.log is not None:
                await record(uow, now, send.log.customer_id, send.log.kind, "out", send.text,
                             message_id=sent.message_id, case_id=send.log.case_id,
                             **send.log.data)
            if send.case_link is not None:
                await uow.cases.link_message(send.case_link.case_id, sent.chat_id,
                                             sent.message_id, send.case_link.role)
            if send.lists_cases:  # a digest: found again to be drawn anew
                await uow.cases.listed_in_digest(send.lists_cases, sent.chat_id,
                                                 sent.message_id)
            if send.campaign_run is not None:
                await posts.posted(uow, send.campaign_run, sent.message_id)
            await uow.commit()
        if send.pin:
            await self._pin(message_id, send, sent)

    async def _pin(self, message_id: int, send: Send, sent: Sent) -> None:
        try:
            await self._calls.pin(sent.chat_id, sent.message_id)
        except MessengerError as exc:  # an unpinned card or post is still there
            log.info("outbound message %s not pinned: %s", message_id, type(exc).__name__)
            return
        if send.campaign_run is None:
            return
        async with self._uow() as uow:
            replaced = await posts.pinned(uow, send.campaign_run)
            await uow.commit()
        for before in replaced:
            # Unpinned by hand, or deleted: nothing to replace.
            with contextlib.suppress(MessengerError):
                await self._calls.unpin(sent.chat_id, before)

    async def _failed(self, message_id: int, send: Send, exc: MessengerError) -> None:
        now = self._clock.now()
        async with self._uow.writing() as uow:
            row = await uow.outbox.in_flight(message_id, self.claims.owner)
            if row is None:
                _erased(message_id)
                return
            outcome = settle_error(row, exc, now, resend_if_unsure=False)
            if not isinstance(exc, TimedOut):  # Telegram answered: it was not delivered
                row.attempted_at = None
            uow.session.add(row)
            if outcome.unreachable and send.log is not None:
                await mark_unreachable(uow, now, send.log.customer_id)
            failure_id = None
            if outcome.state is TouchState.FAILED and send.on_failure is not None:
                failure_id = await self.enqueue(uow, send.on_failure, now)
            if outcome.state is TouchState.FAILED and send.campaign_run is not None:
                await posts.not_posted(uow, send.campaign_run, type(exc).__name__)
            await uow.commit()
        level = logging.DEBUG if isinstance(exc, RetryAfter) else logging.INFO
        log.log(level, "outbound message %s not sent: %s", message_id, outcome.reason)
        if failure_id is not None:
            await self._deliver(failure_id)

    async def _settle(self, message_id: int, state: TouchState, reason: str) -> None:
        async with self._uow.writing() as uow:
            row = await uow.outbox.in_flight(message_id, self.claims.owner)
            if row is None:
                _erased(message_id)
                return
            row.state = state
            row.last_error = reason
            uow.session.add(row)
            await uow.commit()


def _erased(message_id: int) -> None:
    log.info("outbound message %s was erased while it was being sent", message_id)
