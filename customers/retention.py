"""Retention: message texts, free-text answers and sent webhook deliveries older than the
retention period are purged; what each run purged is recorded in the audit log."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta

from careloop.customers import audit
from careloop.kernel.clock import Clock
from careloop.storage.uow import UnitOfWorkFactory

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Purged:
    texts: int
    comments: int
    messages: int
    webhooks: int = 0  # outgoing webhook deliveries, delivered or dead

    @property
    def total(self) -> int:
        return self.texts + self.comments + self.messages + self.webhooks


@dataclass(frozen=True, slots=True)
class Retention:
    uow: UnitOfWorkFactory
    clock: Clock
    keep: timedelta

    async def run(self) -> Purged:
        now = self.clock.now()
        cutoff = now - self.keep
        # Its updates take SQLite's write lock from the first one to the commit: in turn
        # with the process's other writers (see UnitOfWorkFactory.writing). A year's purge
        # may run long: not on the event loop.
        async with self.uow.writing(brief=False) as uow:
            purged = Purged(texts=await uow.privacy.purge_texts(cutoff),
                            comments=await uow.privacy.purge_comments(cutoff),
                            messages=await uow.privacy.purge_outbound(cutoff),
                            webhooks=await uow.webhooks.purge_settled(cutoff))
            if purged.total:
                await audit.log(uow, now, audit.Actor.RETENTION, audit.Action.PURGED, None,
                                before=cutoff.isoformat(), texts=purged.texts,
                                comments=purged.comments, messages=purged.messages,
                                webhooks=purged.webhooks)
            await uow.commit()
        if purged.total:
            log.info("retention: purged %d text(s), %d comment(s), %d stored message(s), "
                     "%d webhook deliveries", purged.texts, purged.comments, purged.messages,
                     purged.webhooks)
        return purged
