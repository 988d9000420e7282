"""Audience benchmark: the memory a campaign's audience takes, all in one run.

    python bench/audience.py            # 20,000 and 200,000 customers, about two minutes
    python bench/audience.py --quick    # 2,000 and 20,000

A campaign run reads every customer a page at a time, filters in Python and keeps only what
planning needs of each recipient (its id and time zone). Each figure comes from a process
of its own on a SQLite file where every customer is a recipient (segment: all):
- peak_small_mb, peak_big_mb: the peak memory Python allocated while finding the audience
  (tracemalloc), for the small and the big base;
- bytes_per_recipient: (big - small) / (big count - small count);
- whole_ratio: the same big base held as whole records (all customers read at once, as a
  list), divided by peak_big_mb (target >= 5: the audience costs a fraction of the base);
- plan_big_mb: the peak while planning a run for the big base, its messages written to the
  outbox included (target <= 2 x peak_big_mb: the messages are built a few thousand at a
  time, not all at once).
- lock_share: in a run planned for the big base without tracemalloc, the time from its
  first write to its commit (on SQLite, the time other writers wait) divided by the whole
  planning time (target <= 0.6: the audience is read before the write lock is taken).

The last line holds every figure as key=value.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing as mp
import sqlite3
import sys
import tempfile
import time
import tracemalloc
from datetime import UTC, datetime
from multiprocessing.connection import Connection
from pathlib import Path

SPEC = 'name: Bench\nsegment: all\nmessage: {text: "Hello {first_name}"}\n'


def say(line: str) -> None:
    print(line, flush=True)


def _seed(path: Path, count: int) -> None:
    asyncio.run(_migrate(path))
    db = sqlite3.connect(path)
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
    db.executemany(
        "INSERT INTO customer (id, name, chat_id, telegram_user_id, language, timezone, tier, "
        "tags, service_consent, marketing_consent, unreachable, community_member, "
        "do_not_contact, muted, created_at) VALUES (?, ?, ?, ?, 'en', 'Europe/Berlin', "
        "'gold', '[\"coffee\"]', 1, 1, 0, 0, 0, 0, ?)",
        ((i, f"Customer number {i}", i, i, stamp) for i in range(1, count + 1)))
    db.commit()
    db.close()


async def _migrate(path: Path) -> None:
    from careloop.storage.engine import make_engine
    from careloop.storage.migrate import upgrade

    engine = make_engine(f"sqlite+aiosqlite:///{path}")
    await upgrade(engine)
    await engine.dispose()


def _measure(conn: Connection, path: str, what: str) -> None:
    conn.send(asyncio.run(_lock(Path(path)) if what == "lock" else _peak(Path(path), what)))


async def _lock(path: Path) -> tuple[float, int, float]:
    """(seconds from the first write to the commit, recipients, seconds in all)."""
    from sqlalchemy import event

    from careloop.campaigns import lifecycle as campaigns
    from careloop.campaigns.loader import campaign
    from careloop.kernel import yamlfile
    from careloop.storage.engine import make_engine, make_session_factory
    from careloop.storage.uow import UnitOfWorkFactory

    root = yamlfile.parse(SPEC, "bench.yaml")
    assert root is not None
    engine = make_engine(f"sqlite+aiosqlite:///{path}")
    first_write: list[float] = []

    @event.listens_for(engine.sync_engine, "before_cursor_execute")
    def _note(_conn: object, _cursor: object, statement: str, *_args: object) -> None:
        if not first_write and statement.lstrip().upper().startswith(("UPDATE", "INSERT")):
            first_write.append(time.perf_counter())

    uow_factory = UnitOfWorkFactory(make_session_factory(engine))
    now = datetime.now(UTC)
    async with uow_factory() as uow:
        planned = await campaigns.create(uow, now, campaign(root))
        await campaigns.start(uow, now, planned, confirm_above=0, confirmed=True,
                              timezone="UTC", bot_username=None)
        await uow.commit()
    first_write.clear()
    async with uow_factory() as uow:
        started = time.perf_counter()
        run = await campaigns.plan_run(uow, now, planned, "UTC")
        assert run is not None
        await uow.commit()
        ended = time.perf_counter()
    await engine.dispose()
    return ended - first_write[0], run.targeted, ended - started


async def _peak(path: Path, what: str) -> tuple[float, int, float]:
    from careloop.campaigns import lifecycle as campaigns
    from careloop.campaigns.loader import campaign
    from careloop.kernel import yamlfile
    from careloop.storage.engine import make_engine, make_session_factory
    from careloop.storage.uow import UnitOfWorkFactory

    root = yamlfile.parse(SPEC, "bench.yaml")
    assert root is not None
    spec = campaign(root)
    engine = make_engine(f"sqlite+aiosqlite:///{path}")
    uow_factory = UnitOfWorkFactory(make_session_factory(engine))
    now = datetime.now(UTC)
    async with uow_factory() as uow:
        campaign = None
        if what == "plan":
            campaign = await campaigns.create(uow, now, spec)
            await campaigns.start(uow, now, campaign, confirm_above=0, confirmed=True,
                                  timezone="UTC", bot_username=None)
            await uow.commit()
        await uow.session.connection()  # connected before the count starts
        tracemalloc.start()
        started = time.perf_counter()
        if what == "whole":
            pages = [page async for page in uow.campaigns.customer_pages()]
            found = sum(len(page) for page in pages)
        elif campaign is not None:
            run = await campaigns.plan_run(uow, now, campaign, "UTC")
            assert run is not None
            found = run.targeted
            await uow.commit()
        else:
            found = len((await campaigns.find_audience(uow, spec, now)).recipients)
        elapsed = time.perf_counter() - started
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    await engine.dispose()
    return peak / 2**20, found, elapsed


def measure(path: Path, what: str = "audience") -> tuple[float, int, float]:
    """In a fresh process: nothing else of this run in its memory."""
    ctx = mp.get_context("spawn")
    conn, child = ctx.Pipe()
    proc = ctx.Process(target=_measure, args=(child, str(path), what))
    proc.start()
    child.close()  # so that a failed child ends the wait (EOFError) instead of hanging it
    result = conn.recv()
    proc.join()
    return result  # type: ignore[no-any-return]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="2,000 and 20,000 customers")
    args = parser.parse_args()
    small, big = (2_000, 20_000) if args.quick else (20_000, 200_000)
    figures: dict[str, str] = {}
    with tempfile.TemporaryDirectory() as tmp:
        peaks = {}
        for count in (small, big):
            path = Path(tmp) / f"{count}.db"
            say(f"seeding {count:,} customers...")
            _seed(path, count)
            peak, found, elapsed = measure(path)
            assert found == count, (found, count)
            say(f"  audience of {found:,}: peak {peak:.1f} MB in {elapsed:.1f} s")
            peaks[count] = peak
        whole, found, _ = measure(Path(tmp) / f"{big}.db", "whole")
        assert found == big
        say(f"  the {big:,} as whole records: peak {whole:.1f} MB")
        plan, found, elapsed = measure(Path(tmp) / f"{big}.db", "plan")
        assert found == big
        say(f"  a run planned for the {big:,}: peak {plan:.1f} MB in {elapsed:.1f} s")
        held, found, elapsed = measure(Path(tmp) / f"{big}.db", "lock")
        assert found == big
        say(f"  a run planned for the {big:,} without tracemalloc: {elapsed:.1f} s, "
            f"{held:.1f} s of it from the first write to the commit")
    figures["peak_small_mb"] = f"{peaks[small]:.1f}"
    figures["peak_big_mb"] = f"{peaks[big]:.1f}"
    figures["bytes_per_recipient"] = f"{(peaks[big] - peaks[small]) * 2**20 / (big - small):.0f}"
    figures["whole_ratio"] = f"{whole / peaks[big]:.1f}"
    figures["plan_big_mb"] = f"{plan:.1f}"
    figures["lock_share"] = f"{held / elapsed:.2f}"
    say(" ".join(f"{k}={v}" for k, v in figures.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
