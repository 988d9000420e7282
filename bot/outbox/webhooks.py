"""Carries stored webhook deliveries to their endpoints: claimed for a lease (as messages
are, see claims.py) so that two processes do not both send one, signed, retried with a
doubling wait for a day, then dead.

At least once: a delivery whose answer was lost (a timeout, a crash after the POST) goes
again with the same Idempotency-Key, which the receiver uses to ignore the repeat.
"""

from __future__ import annotations

import asyncio
import json
import logging
from datetime import datetime, timedelta

import aiohttp

from careloop.bot.outbox import signing
from careloop.bot.outbox.claims import Claims
from careloop.kernel.clock import Clock
from careloop.storage.models import WebhookDelivery, WebhookEndpoint
from careloop.storage.uow import UnitOfWorkFactory

log = logging.getLogger(__name__)

RETRY_WINDOW = timedelta(hours=24)  # after this long failing, a delivery is dead
FIRST_RETRY = timedelta(seconds=30)
LONGEST_WAIT = timedelta(hours=1)
BATCH = 20  # deliveries claimed and sent at once
USER_AGENT = "careloop-webhooks"


def retry_at(created_at: datetime, attempts: int, now: datetime) -> datetime | None:
    """When to try again after `attempts` failed attempts, or None: dead. The waits double
    from 30 s up to an hour; the last try falls at the end of the 24-hour window."""
    end = created_at + RETRY_WINDOW
    if now >= end:
        return None
    wait = min(FIRST_RETRY * (2 ** max(attempts - 1, 0)), LONGEST_WAIT)
    return min(now + wait, end)


def body_of(delivery: WebhookDelivery) -> bytes:
    return json.dumps(delivery.payload, ensure_ascii=False, separators=(",", ":")).encode()


class WebhookSender:
    """The `webhooks` job: every tick, due deliveries are claimed, posted and settled."""

    def __init__(self, uow: UnitOfWorkFactory, clock: Clock, claims: Claims,
                 timeout_seconds: float) -> None:
        self._uow = uow
        self._clock = clock
        self.claims = claims
        self._timeout = aiohttp.ClientTimeout(total=timeout_seconds)

    async def tick(self) -> int:
        """Sends what is due, a batch at a time; returns how many were delivered."""
        delivered = 0
        while True:
            async with self._uow() as uow:
                now = self._clock.now()
                batch = await uow.webhooks.claim(now, self.claims.owner,
                                                 self.claims.until(now), BATCH)
                await uow.commit()
            if not batch:
                return delivered
            async with aiohttp.ClientSession(timeout=self._timeout, headers={
                    "User-Agent": USER_AGENT}) as http:
                results = await asyncio.gather(*(self._post(http, d, e) for d, e in batch))
            async with self._uow() as uow:
                now = self._clock.now()
                for (delivery, endpoint), error in zip(batch, results, strict=True):
                    again = (retry_at(delivery.created_at, delivery.attempts + 1, now)
                             if error is not None else None)
                    if await uow.webhooks.settle(delivery.id, self.claims.owner, now,
                                                 error=error, retry_at=again):
                        self._log(delivery, endpoint, error, again)
                        delivered += error is None
                await uow.commit()
            if len(batch) < BATCH:
                return delivered

    async def keep_claims(self) -> None:
        """Renew this process's leases while its posts are under way."""
        async with self._uow() as uow:
            now = self._clock.now()
            await uow.webhooks.renew(self.claims.owner, self.claims.until(now))
            await uow.commit()

    async def _post(self, http: aiohttp.ClientSession, delivery: WebhookDelivery,
                    endpoint: WebhookEndpoint) -> str | None:
        """None when the endpoint took it (a 2xx); otherwise why not, in one line."""
        body = body_of(delivery)
        stamp = int(self._clock.now().timestamp())
        headers = {
            "Content-Type": "application/json",
            signing.TIMESTAMP: str(stamp),
            signing.SIGNATURE: signing.signature(endpoint.secret, stamp, body),
            signing.IDEMPOTENCY_KEY: delivery.event_id,
            signing.EVENT: delivery.event,
        }
        try:
            # No redirects: a signed body goes only where the operator said.
            async with http.post(endpoint.url, data=body, headers=headers,
                                 allow_redirects=False) as response:
                if 200 <= response.status < 300:
                    return None
                return f"HTTP {response.status} {response.reason or ''}".strip()
        except TimeoutError:
            return f"no answer within {self._timeout.total:g} s"
        except aiohttp.ClientError as exc:
            return f"{type(exc).__name__}: {exc}"[:500]

    @staticmethod
    def _log(delivery: WebhookDelivery, endpoint: WebhookEndpoint, error: str | None,
             again: datetime | None) -> None:
        # Endpoint and event ids only: the payload may carry personal data.
        if error is None:
            log.info("webhook %s to endpoint %d delivered", delivery.event, endpoint.id)
        elif again is None:
            log.warning("webhook %s to endpoint %d dead after 24 h: %s", delivery.event,
                        endpoint.id, error)
        else:
            log.info("webhook %s to endpoint %d failed (%s); again at %s", delivery.event,
                     endpoint.id, error, again.isoformat(timespec="seconds"))
