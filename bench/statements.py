"""Statements benchmark: what one SQL statement costs on SQLite through SQLAlchemy's asyncio
layer, with aiosqlite's own cursor and with careloop's (storage/sqlite_driver.py), in one run.

    python bench/statements.py [--quick]

Each driver runs the same loop on a fresh file: a one-row read by key, then an update of
that row, on one connection in one transaction, as a press's statements go. Printed per
statement: the wall time and the process's CPU time (every thread), the best of three
rounds for each driver, taken in turns. The last line holds every figure as key=value.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import resource
import tempfile
import time
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from careloop.storage import sqlite_driver

DRIVERS: dict[str, dict[str, Any]] = {"aiosqlite": {}, "one_trip": {"module": sqlite_driver.DBAPI}}


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


async def _round(driver: str, pairs: int) -> tuple[float, float]:
    """Microseconds of wall and CPU time per statement."""
    with tempfile.TemporaryDirectory() as tmp:
        engine = create_async_engine(f"sqlite+aiosqlite:///{tmp}/bench.db", **DRIVERS[driver])
        async with engine.begin() as conn:
            await conn.execute(text("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)"))
            await conn.execute(text("INSERT INTO t (v) VALUES ('a')"))
        read = text("SELECT id, v FROM t WHERE id = :id")
        write = text("UPDATE t SET v = :v WHERE id = :id")
        async with engine.begin() as conn:
            for _ in range(200):  # warm: the statements compiled and cached
                await conn.execute(read, {"id": 1})
            wall, cpu = time.perf_counter(), _cpu()
            for n in range(pairs):
                await conn.execute(read, {"id": 1})
                await conn.execute(write, {"v": str(n), "id": 1})
            wall, cpu = time.perf_counter() - wall, _cpu() - cpu
        await engine.dispose()
    return wall / (2 * pairs) * 1e6, cpu / (2 * pairs) * 1e6


async def main(quick: bool) -> None:
    pairs = 1000 if quick else 5000
    best: dict[str, tuple[float, float]] = {}
    for _ in range(3):
        for driver in DRIVERS:
            wall, cpu = await _round(driver, pairs)
            old = best.get(driver)
            best[driver] = (wall, cpu) if old is None or cpu < old[1] else old
    figures: dict[str, str] = {}
    for driver, (wall, cpu) in best.items():
        print(f"{driver}: {wall:.0f} us wall, {cpu:.0f} us CPU per statement")
        figures[f"{driver}_wall_us"] = f"{wall:.0f}"
        figures[f"{driver}_cpu_us"] = f"{cpu:.0f}"
    figures["cpu_ratio"] = f"{best['one_trip'][1] / best['aiosqlite'][1]:.2f}"
    figures["load"] = f"{os.getloadavg()[0]:.2f}"
    print(" ".join(f"{k}={v}" for k, v in figures.items()))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer statements")
    asyncio.run(main(parser.parse_args().quick))
