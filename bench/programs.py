"""Programs benchmark: planning a day's program check-ins for a large base, in bounded memory.

    python bench/programs.py --database postgresql+asyncpg://postgres@127.0.0.1/bench
    python bench/programs.py                   # SQLite, 100,000 customers, in a temp file
    python bench/programs.py --customers 20000 # a short run

The database is emptied and seeded first (PostgreSQL: with generate_series, in a few
seconds; SQLite: with executemany): a tenth of the customers are VIPs with a monthly
check-in, six tenths regular customers with a quarterly check-in and a survey, the rest in
no program; four timezones; everyone linked over a year ago, and last contacted at a time
spread evenly over their cadence, so about a cadence's share of each tier is due today.

A fresh process then runs the program scan as `careloop run` does (care.scans through
bot.jobs.Scans: a page of 5,000 customers per transaction), and reports:
- seconds: the scan's wall time (target <= 60 s for 1,000,000 on PostgreSQL);
- peak_rss_mb: the process's peak resident memory, Python and its libraries included
  (target <= 300 MB);
- planned: touches written (a regular customer's check-in is two: message and survey);
- again: touches a second scan at the same moment writes (0: a day's check-ins are planned
  once however often the scan runs);
- load: the machine's load average when the scan ran.

The last line holds every figure as key=value.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing as mp
import os
import resource
import sqlite3
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from multiprocessing.connection import Connection
from pathlib import Path

NOW = datetime(2026, 12, 7, 3, 0, tzinfo=UTC)  # before 10:00 in every seeded timezone
ZONES = ("UTC", "Europe/Berlin", "Asia/Shanghai", "America/New_York")
PLAYBOOK = """\
rules: []
programs:
  - name: vip_monthly
    every: 1 month
    at: "10:00"
    window: 2h
    for: {tier: vip}
    message: check_in
  - name: regular_quarterly
    every: 3 months
    at: "10:00"
    window: 3h
    for: {tier: regular}
    message: check_in
    survey: csat
"""
# The SQL that seeds PostgreSQL server-side; `:n` customers, `:now` the bench's moment.
PG_SEED = (
    """INSERT INTO customer (id, name, chat_id, telegram_user_id, language, timezone, tier,
         tags, service_consent, marketing_consent, unreachable, community_member,
         do_not_contact, muted, created_at, linked_at)
       SELECT i, 'Customer ' || i, i, i, 'en',
         (ARRAY['UTC','Europe/Berlin','Asia/Shanghai','America/New_York'])[i / 3 % 4 + 1],
         CASE WHEN i % 10 = 0 THEN 'vip' WHEN i % 10 <= 6 THEN 'regular' ELSE 'standard' END,
         '[]', true, false, false, false, false, false,
         CAST(:now AS timestamptz) - make_interval(days => 400 + i % 365),
         CAST(:now AS timestamptz) - make_interval(days => 400 + i % 365)
       FROM generate_series(1, :n) AS i""",
    """INSERT INTO touch (customer_id, purpose, category, template, due_at, state, attempts,
         sent_at, idempotency_key, created_at)
       SELECT i, 'seed', 'service', 'check_in', t, 'sent', 1, t, 'seed:' || i, t
       FROM (SELECT i, CAST(:now AS timestamptz) - make_interval(
               days => CASE WHEN i % 10 = 0 THEN (i / 10 * 7) % 30 ELSE (i * 11) % 91 END,
               hours => i % 24) AS t
             FROM generate_series(1, :n) AS i WHERE i % 10 <= 6) AS s""",
    "SELECT setval(pg_get_serial_sequence('customer', 'id'), :n)",
    "ANALYZE customer",
    "ANALYZE touch",
)


def say(line: str) -> None:
    print(line, flush=True)


def _tier(i: int) -> str:
    return "vip" if i % 10 == 0 else "regular" if i % 10 <= 6 else "standard"


def _days_ago(i: int) -> int:
    """When a customer was last contacted, spread evenly over their tier's cadence."""
    return (i // 10 * 7) % 30 if i % 10 == 0 else (i * 11) % 91


def _stamp(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")


async def _reset(url: str) -> None:
    """An empty database at the latest schema."""
    from sqlalchemy import text

    from careloop.storage.engine import make_engine
    from careloop.storage.migrate import upgrade

    engine = make_engine(url)
    if engine.dialect.name == "postgresql":
        async with engine.begin() as conn:
            await conn.execute(text("DROP SCHEMA public CASCADE"))
            await conn.execute(text("CREATE SCHEMA public"))
    await upgrade(engine)
    await engine.dispose()


async def _seed_postgres(url: str, count: int) -> None:
    from sqlalchemy import text

    from careloop.storage.engine import make_engine

    engine = make_engine(url)
    async with engine.begin() as conn:
        for statement in PG_SEED:
            params = {"n": count, "now": NOW} if ":" in statement else {}
            await conn.execute(text(statement), params)
    await engine.dispose()


def _seed_sqlite(path: Path, count: int) -> None:
    db = sqlite3.connect(path)
    db.executemany(
        "INSERT INTO customer (id, name, chat_id, telegram_user_id, language, timezone, tier, "
        "tags, service_consent, marketing_consent, unreachable, community_member, "
        "do_not_contact, muted, created_at, linked_at) VALUES (?, ?, ?, ?, 'en', ?, ?, '[]', "
        "1, 0, 0, 0, 0, 0, ?, ?)",
        ((i, f"Customer {i}", i, i, ZONES[i // 3 % 4], _tier(i),
          _stamp(NOW - timedelta(days=400 + i % 365)),
          _stamp(NOW - timedelta(days=400 + i % 365))) for i in range(1, count + 1)))
    db.executemany(
        "INSERT INTO touch (customer_id, purpose, category, template, due_at, state, attempts, "
        "sent_at, idempotency_key, created_at) VALUES (?, 'seed', 'service', 'check_in', ?, "
        "'sent', 1, ?, ?, ?)",
        ((i, s, s, f"seed:{i}", s) for i, s in (
            (i, _stamp(NOW - timedelta(days=_days_ago(i), hours=i % 24)))
            for i in range(1, count + 1) if i % 10 <= 6)))
    db.execute("ANALYZE")
    db.commit()
    db.close()


def _measure(conn: Connection, url: str, playbook: str) -> None:
    conn.send(asyncio.run(_scan(url, Path(playbook))))


async def _scan(url: str, playbook: Path) -> tuple[float, int, int, float, float]:
    """(seconds, touches planned, touches a second scan plans, peak RSS in MB, load)."""
    from careloop.bot.jobs import Scans
    from careloop.care.playbook.loader import load_playbook
    from careloop.kernel.clock import ManualClock
    from careloop.storage.engine import make_engine, make_session_factory
    from careloop.storage.uow import UnitOfWorkFactory

    book = load_playbook(playbook)
    engine = make_engine(url)
    scans = Scans(UnitOfWorkFactory(make_session_factory(engine)), ManualClock(NOW), book)
    started = time.perf_counter()
    planned = await scans.programs()
    elapsed = time.perf_counter() - started
    load = os.getloadavg()[0]
    again = await scans.programs()
    await engine.dispose()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    return elapsed, planned, again, peak, load


def measure(url: str, playbook: Path) -> tuple[float, int, int, float, float]:
    """In a fresh process: its peak memory is the scan's, not the seeding's."""
    ctx = mp.get_context("spawn")
    conn, child = ctx.Pipe()
    proc = ctx.Process(target=_measure, args=(child, url, str(playbook)))
    proc.start()
    child.close()  # a failed child ends the wait (EOFError) instead of hanging it
    result = conn.recv()
    proc.join()
    return result  # type: ignore[no-any-return]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", metavar="URL",
                        help="a PostgreSQL database to empty and use (postgresql+asyncpg://"
                        "...); default: a temporary SQLite file")
    parser.add_argument("--customers", type=int, metavar="N",
                        help="how many customers (default: 1,000,000 on PostgreSQL, 100,000 "
                        "on SQLite)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = args.database or f"sqlite+aiosqlite:///{Path(tmp) / 'bench.db'}"
        postgres = url.startswith("postgresql")
        count = args.customers or (1_000_000 if postgres else 100_000)
        playbook = Path(tmp) / "playbook.yaml"
        playbook.write_text(PLAYBOOK)
        say(f"seeding {count:,} customers on {'PostgreSQL' if postgres else 'SQLite'}...")
        seeding = time.perf_counter()
        asyncio.run(_reset(url))
        if postgres:
            asyncio.run(_seed_postgres(url, count))
        else:
            _seed_sqlite(Path(tmp) / "bench.db", count)
        say(f"  seeded in {time.perf_counter() - seeding:.0f} s; scanning...")
        elapsed, planned, again, peak, load = measure(url, playbook)
    say(f"  {planned:,} touches planned in {elapsed:.1f} s, peak RSS {peak:.0f} MB, "
        f"load average {load:.2f}; a second scan planned {again}")
    figures = {"customers": count, "seconds": f"{elapsed:.1f}", "peak_rss_mb": f"{peak:.0f}",
               "planned": planned, "again": again, "load": f"{load:.2f}"}
    say(" ".join(f"{k}={v}" for k, v in figures.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
