"""What `/metrics` tells Prometheus about this worker and its database.

Counted as they happen: the messages sent and the 429s (by the limiter, which every call
to Telegram passes), and how long an update waited from its arrival to its handling. Read
from the database at each scrape: the outbox's depth by state, the open and overdue cases.
And this worker's leaderships (bot.cluster). Ids and counts only, never a name or a text.

Each app has its own registry, so two apps in one process (the tests) never share series.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from prometheus_client import CollectorRegistry, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

if TYPE_CHECKING:
    from careloop.bot.app import App

# Seconds from an update's arrival to the end of its handling: most take milliseconds; a
# flood's backlog and a chat held by another worker take longer.
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60)

SERIES = (
    "careloop_outbox_messages",
    "careloop_telegram_messages_sent_total",
    "careloop_telegram_retry_after_total",
    "careloop_update_latency_seconds",
    "careloop_cases_open",
    "careloop_cases_overdue",
    "careloop_leader",
)


class Metrics:
    """The registry of one app; `update_latency` is observed by bot.inbound."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=False)
        self.update_latency = Histogram(
            "careloop_update_latency_seconds",
            "Seconds from an update's arrival at this worker to the end of its handling",
            buckets=LATENCY_BUCKETS, registry=self.registry)

        self._scraped: _Scraped | None = None

    def watch(self, app: App) -> None:
        """Add what is read at each scrape (the app is built after its metrics)."""
        self._scraped = _Scraped(app)
        self.registry.register(self._scraped)

    async def render(self) -> bytes:
        """The exposition text, with the database's numbers read now."""
        if self._scraped is not None:
            await self._scraped.refresh()
        return generate_latest(self.registry)


class _Snapshot:
    outbox: dict[tuple[str, str], int]
    open_cases: int
    overdue_cases: int

    def __init__(self) -> None:
        self.outbox, self.open_cases, self.overdue_cases = {}, 0, 0


class _Scraped(Collector):
    def __init__(self, app: App) -> None:
        self._app = app
        self._snap = _Snapshot()

    async def refresh(self) -> None:
        """The database's numbers, read before the (synchronous) collectors run."""
        app, snap = self._app, _Snapshot()
        async with app.storage.uow() as uow:
            for kind, counts in (("touch", await uow.touches.count_by_state()),
                                 ("reply", await uow.outbox.count_by_state())):
                for state, n in counts.items():
                    snap.outbox[(kind, state)] = n
            snap.open_cases = await uow.cases.count_active()
            snap.overdue_cases = await uow.cases.count_active(overdue_at=app.clock.now())
        self._snap = snap

    def collect(self) -> Iterable[Metric]:
        app, snap = self._app, self._snap
        depth = GaugeMetricFamily(
            "careloop_outbox_messages", "Messages in the outbox by kind (touch: scheduled; "
            "reply: a handler's) and state", labels=["kind", "state"])
        for (kind, state), n in sorted(snap.outbox.items()):
            depth.add_metric([kind, state], n)
        yield depth
        sent = CounterMetricFamily(
            "careloop_telegram_messages_sent", "Calls to Telegram this worker made in its "
            "turn (messages, edits, answers)", labels=[])
        sent.add_metric([], app.limiter.calls)
        yield sent
        limited = CounterMetricFamily(
            "careloop_telegram_retry_after", "429 Too Many Requests answers this worker had "
            "from Telegram", labels=[])
        limited.add_metric([], app.limiter.retry_afters)
        yield limited
        yield GaugeMetricFamily("careloop_cases_open", "Cases open, claimed or reopened",
                                value=snap.open_cases)
        yield GaugeMetricFamily("careloop_cases_overdue",
                                "Active cases past their SLA with no staff answer yet",
                                value=snap.overdue_cases)
        leader = GaugeMetricFamily("careloop_leader", "1 where this worker leads the job "
                                   "(bot.cluster), 0 where another worker does",
                                   labels=["job"])
        for job, led in sorted(app.cluster.leading.items()):
            leader.add_metric([job], 1 if led else 0)
        yield leader
