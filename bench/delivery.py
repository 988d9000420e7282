"""Delivery benchmark: careloop's sender against the sandbox, all in one run.

    python bench/delivery.py            # the full run, about fifteen minutes
    python bench/delivery.py --quick    # a short run, under a minute
    python bench/delivery.py --only paid --profile paid.prof   # one phase, profiled
    python bench/delivery.py --only paid --database postgresql+asyncpg://.../db  # PostgreSQL

Phases (the sandbox runs in its own process, so the bot and Telegram do not share a core):
- limit: N messages at Telegram's 30 msg/s with the sandbox enforcing the limits; the rate
  as the sandbox counted arrivals, divided by 30 (target >= 0.95), with zero 429s and zero
  duplicates;
- paid: paid-broadcast mode against the sandbox enforcing Telegram's paid ceiling (1000
  msg/s in any second, by arrival), one process, SQLite (target >= 1000 msg/s, zero 429s,
  zero duplicates); the bot process's CPU per message beside it;
- scan: the sender's due scan with 1,000,000 pending touches divided by the same with
  10,000 (target <= 2), and the peak memory of a process sending from 1,000,000 pending
  (target <= 300 MB); --quick uses 100,000;
- the same N messages sent by python-telegram-bot with its AIORateLimiter, and by a plain
  aiogram loop sleeping 0.05 s between sends, against the same kind of sandbox.

The last line holds every figure as key=value.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import gc
import itertools
import multiprocessing as mp
import resource
import sqlite3
import statistics
import sys
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from common import emptied

BENCH_SECRET = "bench-" + "link-key-of-16+"  # signs nothing that leaves this run
TEXT = "Thank you for your purchase! Tell us anytime how it is going."


def say(line: str) -> None:
    print(line, flush=True)


# --- the sandbox, in a process of its own -------------------------------------------------


def _sandbox_process(conn: Connection, rate_limits: bool, users: int) -> None:
    asyncio.run(_sandbox_main(conn, rate_limits, users))


async def _sandbox_main(conn: Connection, rate_limits: bool, users: int) -> None:
    from careloop.sandbox import Sandbox

    sandbox = Sandbox(rate_limits=rate_limits)
    url = await sandbox.start()
    ids = [sandbox.add_user(f"Guest{n}").id for n in range(users)]
    conn.send((url, sandbox.token, ids))
    cpu = time.process_time()
    await asyncio.get_running_loop().run_in_executor(None, conn.recv)  # "done"
    cpu = time.process_time() - cpu
    sends = [r for r in sandbox.requests if r.method == "sendMessage"]
    ok = [r for r in sends if r.ok]
    per_chat = Counter(int(r.params["chat_id"]) for r in ok)
    arrivals = sorted(r.at for r in ok)
    conn.send({
        "ok": len(ok),
        "throttled": sum(1 for r in sandbox.requests if r.kind == "rate_limited"),
        "duplicates": sum(n - 1 for n in per_chat.values()),
        "rate": (len(ok) - 1) / (arrivals[-1] - arrivals[0]) if len(ok) > 1 else 0.0,
        "paid": sum(1 for r in ok if r.params.get("allow_paid_broadcast") in ("true", True)),
        "cpu": cpu,  # the sandbox's, while the bot sent
        "peak_second": _peak_second(arrivals),
        "stalled": sum(b - a for a, b in itertools.pairwise(arrivals)
                       if b - a > STALL),
    })
    await sandbox.stop()


# A pause between two arrivals this long is the sender stalling, not pacing (1 ms at the paid
# rate, 33 ms at 30/s).
STALL = 0.010


def _peak_second(arrivals: list[float]) -> int:
    """The most arrivals within any one second."""
    peak, first = 0, 0
    for last, at in enumerate(arrivals):
        while at - arrivals[first] >= 1.0:
            first += 1
        peak = max(peak, last - first + 1)
    return peak


class SandboxProcess:
    def __init__(self, *, rate_limits: bool, users: int) -> None:
        ctx = mp.get_context("spawn")
        self._conn, child = ctx.Pipe()
        self._proc = ctx.Process(target=_sandbox_process, args=(child, rate_limits, users),
                                 daemon=True)

    def __enter__(self) -> tuple[str, str, list[int]]:
        self._proc.start()
        return self._conn.recv()  # type: ignore[no-any-return]

    def stats(self) -> dict[str, Any]:
        self._conn.send("done")
        return self._conn.recv()  # type: ignore[no-any-return]

    def __exit__(self, *exc: object) -> None:
        self._proc.join(timeout=10)
        if self._proc.is_alive():
            self._proc.kill()


# --- careloop's sender ----------------------------------------------------------------------


async def _careloop(url: str, token: str, chat_ids: list[int], *, paid: bool,
                    database: str | None = None, profile: str | None = None,
                    keep_gc: bool = False, through_aiogram: bool = False) -> float:
    """Schedule one care message per chat and run the sender until all are settled; returns
    the CPU seconds this process spent sending (the seeding is not counted). Only the sending
    is profiled (pyinstrument's sampling, its text report to `profile`)."""
    from careloop.bot import heap
    from careloop.bot.app import build_app, build_storage
    from careloop.bot.runtime.aiogram_runtime import AiogramMessenger, AiogramRuntime
    from careloop.bot.settings import Settings
    from careloop.storage.migrate import upgrade

    with tempfile.TemporaryDirectory() as tmp:
        if database is not None:
            await emptied(database)
        settings = Settings(
            bot_token=token, telegram_api_url=url,  # type: ignore[arg-type]
            database_url=database or f"sqlite+aiosqlite:///{Path(tmp) / 'bench.db'}",
            link_secret=BENCH_SECRET, quiet_hours="", paid_broadcast=paid,  # type: ignore[arg-type]
        )
        storage = build_storage(settings)
        await upgrade(storage.engine)
        await _seed(storage, chat_ids)
        runtime = AiogramRuntime(token, url)
        messenger = AiogramMessenger(runtime.bot) if through_aiogram else runtime.messenger
        app = build_app(settings, messenger, storage=storage)
        thresholds = gc.get_threshold()
        if not keep_gc:
            heap.settle_after_start()  # as `careloop run` does once started
        profiler: Any = None
        if profile is not None and profile.endswith(".prof"):  # cProfile: CPU time by function
            profiler = cProfile.Profile(time.thread_time)  # the event loop's own
            profiler.enable()
        elif profile is not None:
            from pyinstrument import Profiler

            profiler = Profiler(interval=0.0005, async_mode="disabled")
            profiler.start()
        statements = _count_statements(storage.engine)
        collecting = _GcTime()
        gc.callbacks.append(collecting)
        cpu, loop_cpu = time.process_time(), time.thread_time()
        while await app.sender.tick():
            pass
        cpu, loop_cpu = time.process_time() - cpu, time.thread_time() - loop_cpu
        gc.callbacks.remove(collecting)
        gc.unfreeze()  # the phases after this one start as they would on their own
        gc.set_threshold(*thresholds)
        say(f"  {statements['statements']} SQL statements and {statements['commits']} commits "
            f"while sending; of its CPU {loop_cpu / cpu:.0%} on the event loop's thread, "
            f"{collecting.spent / cpu:.0%} in garbage collection "
            f"({collecting.full} full collections)")
        if isinstance(profiler, cProfile.Profile):
            profiler.disable()
            profiler.dump_stats(profile)
        elif profiler is not None:
            profiler.stop()
            report = profiler.output_text(show_all=True, timeline=False)
            await asyncio.to_thread(Path(profile).write_text, report)
        await runtime.close()
        await storage.close()
    return cpu


class _GcTime:
    """The CPU time the garbage collector takes, as a gc callback."""

    def __init__(self) -> None:
        self.spent = 0.0
        self.full = 0
        self._started = 0.0

    def __call__(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self._started = time.thread_time()
        else:
            self.spent += time.thread_time() - self._started
            self.full += info["generation"] == 2


def _count_statements(engine: Any) -> Counter[str]:
    """Counts the statements and commits the engine runs from now on."""
    from sqlalchemy import event

    counts: Counter[str] = Counter()

    def statement(*_: object) -> None:
        counts["statements"] += 1

    def commit(*_: object) -> None:
        counts["commits"] += 1

    event.listen(engine.sync_engine, "before_cursor_execute", statement)
    event.listen(engine.sync_engine, "commit", commit)
    return counts


async def _seed(storage: Any, chat_ids: list[int]) -> None:
    from careloop.storage.models import Customer, Touch

    now = datetime.now(UTC)
    async with storage.uow() as uow:
        customers = [Customer(name=f"Guest{c}", chat_id=c, telegram_user_id=c,
                              service_consent=True, created_at=now) for c in chat_ids]
        uow.session.add_all(customers)
        await uow.session.flush()
        uow.session.add_all([Touch(customer_id=c.id, purpose="care.thanks",
                                   template="purchase_thanks", due_at=now, created_at=now,
                                   idempotency_key=f"bench:{c.id}") for c in customers])
        await uow.commit()


# --- the due scan and memory, in a fresh process each ---------------------------------------


def _scan_process(conn: Connection, pending: int) -> None:
    conn.send(asyncio.run(_scan_main(pending)))


async def _scan_main(pending: int) -> tuple[float, float]:
    from careloop.bot.app import build_app, build_storage
    from careloop.bot.settings import Settings
    from careloop.kernel.messenger import Sent
    from careloop.storage.migrate import upgrade

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "scan.db"
        settings = Settings(database_url=f"sqlite+aiosqlite:///{path}",  # type: ignore[arg-type]
                            link_secret=BENCH_SECRET, quiet_hours="")  # type: ignore[arg-type]
        storage = build_storage(settings)
        await upgrade(storage.engine)
        _bulk_pending(path, pending)
        now = datetime.now(UTC)
        timings = []
        for _ in range(15):
            async with storage.uow() as uow:
                started = time.perf_counter()
                await uow.touches.due_ids(now, 1000)
                timings.append(time.perf_counter() - started)

        enough = asyncio.Event()

        class Instant:
            """Telegram that answers at once: what is measured is the sender itself."""

            sent = 0

            async def send_text(self, chat_id: int, text: str, **_: object) -> Sent:
                self.sent += 1
                if self.sent >= 5000:
                    enough.set()
                return Sent(chat_id, self.sent)

        app = build_app(settings, Instant(), storage=storage)  # type: ignore[arg-type]
        tick = asyncio.create_task(app.sender.tick())
        await asyncio.wait([tick, asyncio.create_task(enough.wait())],
                           return_when=asyncio.FIRST_COMPLETED)
        await app.sender.stop()
        await tick
        await storage.close()
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return statistics.median(timings), peak_mb


def _bulk_pending(path: Path, pending: int) -> None:
    """Insert customers and their due touches straight into the file, in chunks."""
    db = sqlite3.connect(path)
    now = datetime.now(UTC) - timedelta(minutes=1)
    stamp = now.strftime("%Y-%m-%d %H:%M:%S.%f")
    chunk = 50_000
    for start in range(1, pending + 1, chunk):
        ids = range(start, min(start + chunk, pending + 1))
        db.executemany(
            "INSERT INTO customer (id, name, chat_id, telegram_user_id, language, timezone, "
            "tier, tags, service_consent, marketing_consent, unreachable, community_member, "
            "do_not_contact, muted, created_at) "
            "VALUES (?, 'Guest', ?, ?, 'en', 'UTC', 'standard', '[]', 1, 0, 0, 0, 0, 0, ?)",
            ((i, i, i, stamp) for i in ids))
        db.executemany(
            "INSERT INTO touch (customer_id, purpose, category, template, due_at, state, "
            "attempts, idempotency_key, created_at) "
            "VALUES (?, 'care.thanks', 'service', 'purchase_thanks', ?, 'pending', 0, ?, ?)",
            ((i, stamp, f"bench:{i}", stamp) for i in ids))
        db.commit()
    db.close()


def scan(pending: int) -> tuple[float, float]:
    ctx = mp.get_context("spawn")
    conn, child = ctx.Pipe()
    proc = ctx.Process(target=_scan_process, args=(child, pending))
    proc.start()
    child.close()  # so that a failed child ends the wait (EOFError) instead of hanging it
    result = conn.recv()
    proc.join()
    return result  # type: ignore[no-any-return]


# --- the same messages by python-telegram-bot and by a naive aiogram loop -------------------


async def _ptb(url: str, token: str, chat_ids: list[int]) -> None:
    from telegram.ext import AIORateLimiter, ExtBot
    from telegram.request import HTTPXRequest

    bot = ExtBot(token, base_url=f"{url}/bot",
              request=HTTPXRequest(connection_pool_size=16, pool_timeout=60),
              rate_limiter=AIORateLimiter(max_retries=5))
    async with bot:
        await asyncio.gather(*(bot.send_message(c, TEXT) for c in chat_ids))


async def _naive(url: str, token: str, chat_ids: list[int]) -> None:
    from aiogram import Bot
    from aiogram.client.session.aiohttp import AiohttpSession
    from aiogram.client.telegram import TelegramAPIServer

    bot = Bot(token, session=AiohttpSession(api=TelegramAPIServer.from_base(url)))
    try:
        for chat_id in chat_ids:
            await bot.send_message(chat_id, TEXT)
            await asyncio.sleep(0.05)
    finally:
        await bot.session.close()


PHASES = ("limit", "paid", "scan", "ptb", "naive")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="a short run")
    parser.add_argument("--only", action="append", choices=PHASES, metavar="PHASE",
                        help=f"run only this phase (repeatable; one of {', '.join(PHASES)})")
    parser.add_argument("--database", metavar="URL",
                        help="careloop's database for the limit and paid phases, e.g. "
                             "postgresql+asyncpg://postgres@127.0.0.1:5432/bench (emptied "
                             "first!); default a fresh SQLite file")
    parser.add_argument("--profile", metavar="FILE",
                        help="write a profile of the paid phase's sending to FILE: "
                             "pyinstrument's sampled call tree as text (from the bench extra), or "
                             "for a FILE ending .prof cProfile's CPU time per function (pstats)")
    parser.add_argument("--default-gc", action="store_true",
                        help="keep CPython's garbage collector as it comes instead of "
                             "settling it after start-up as `careloop run` does (bot/heap.py)")
    parser.add_argument("--through-aiogram", action="store_true",
                        help="send text through aiogram's method models instead of careloop's "
                             "direct JSON posts (bot/runtime/aiogram_direct.py)")
    args = parser.parse_args(argv)
    phases = set(args.only or PHASES)
    db = args.database
    n = 300 if args.quick else 3000
    paid_n = 2000 if args.quick else 10_000
    big = 100_000 if args.quick else 1_000_000
    figures: dict[str, str] = {}

    kind = "PostgreSQL" if db and db.startswith("postgresql") else "SQLite"
    if "limit" in phases:
        say(f"limit: {n} messages at 30 msg/s, limits enforced by the sandbox, {kind} ...")
        limit = run_sandboxed(n, lambda u, t, ids: _careloop(
            u, t, ids, paid=False, database=db, keep_gc=args.default_gc,
            through_aiogram=args.through_aiogram))
        figures["ratio_to_limit"] = f"{limit['rate'] / 30:.3f}"
        figures["throttled"] = str(limit["throttled"])
        figures["duplicates"] = str(limit["duplicates"])
        say(f"  {limit['ok']} sent at {limit['rate']:.2f} msg/s; {limit['throttled']} "
            f"answered 429, {limit['duplicates']} duplicates")

    if "paid" in phases:
        say(f"paid: {paid_n} messages, paid broadcast, the sandbox enforcing its 1000 msg/s, "
            f"{kind} ...")
        paid = run_sandboxed(paid_n, lambda u, t, ids: _careloop(
            u, t, ids, paid=True, database=db, profile=args.profile, keep_gc=args.default_gc,
            through_aiogram=args.through_aiogram))
        figures["paid_rate"] = f"{paid['rate']:.0f}"
        figures["paid_flagged"] = str(paid["paid"])
        figures["paid_throttled"] = str(paid["throttled"])
        figures["paid_peak_second"] = str(paid["peak_second"])
        figures["paid_duplicates"] = str(paid["duplicates"])
        # The sender's own cost, which the machine's load does not change much: the CPU
        # its process spent per message sent (limiter, database, HTTP client, all of it).
        figures["paid_cpu_ms"] = f"{paid['bot_cpu'] * 1000 / max(1, paid['ok']):.3f}"
        # And Telegram's stand-in's, on a core of its own: at 1000/s each needs less than a
        # millisecond, or the stand-in sets the pace.
        figures["sandbox_cpu_ms"] = f"{paid['cpu'] * 1000 / max(1, paid['ok']):.3f}"
        say(f"  {paid['ok']} sent at {paid['rate']:.1f} msg/s as the sandbox counted them; "
            f"{paid['throttled']} answered 429, {paid['duplicates']} duplicates; "
            f"CPU per message: {figures['paid_cpu_ms']} ms in the bot's process, "
            f"{figures['sandbox_cpu_ms']} ms in the sandbox's")
        say(f"  at most {paid['peak_second']} arrivals in any one second; "
            f"{paid['stalled']:.2f} s in pauses over {STALL * 1000:.0f} ms between arrivals")

    if "scan" in phases:
        say(f"scan: due scan with 10,000 and {big:,} pending touches ...")
        small_scan, _ = scan(10_000)
        big_scan, peak_mb = scan(big)
        figures["scan_ratio"] = f"{big_scan / small_scan:.2f}"
        figures["peak_mb"] = f"{peak_mb:.0f}"
        say(f"  {small_scan * 1000:.2f} ms vs {big_scan * 1000:.2f} ms; "
            f"peak {peak_mb:.0f} MB")

    if "ptb" in phases:
        say(f"ptb: {n} messages by python-telegram-bot with AIORateLimiter ...")
        ptb = run_sandboxed(n, _ptb)
        figures["ptb_rate"] = f"{ptb['rate']:.2f}"
        figures["ptb_throttled"] = str(ptb["throttled"])
        say(f"  {ptb['ok']} sent at {ptb['rate']:.2f} msg/s; {ptb['throttled']} answered 429")

    if "naive" in phases:
        say(f"naive: {n} messages by an aiogram loop sleeping 0.05 s ...")
        naive = run_sandboxed(n, _naive)
        figures["naive_rate"] = f"{naive['rate']:.2f}"
        say(f"  {naive['ok']} sent at {naive['rate']:.2f} msg/s")

    print(" ".join(f"{k}={v}" for k, v in figures.items()), flush=True)
    return 0


def run_sandboxed(n: int, send: Any, *, rate_limits: bool = True) -> dict[str, Any]:
    """Run `send(url, token, chat_ids)` against a fresh sandbox process; its figures."""
    sandbox = SandboxProcess(rate_limits=rate_limits, users=n)
    with sandbox as (url, token, ids):
        started = time.perf_counter()
        cpu = asyncio.run(send(url, token, ids))
        elapsed = time.perf_counter() - started
        return {"elapsed": elapsed, "bot_cpu": cpu, **sandbox.stats()}


if __name__ == "__main__":
    sys.exit(main())
