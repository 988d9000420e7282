"""Import benchmark: `careloop customers import` of a large CSV file on SQLite, next to a
writer that stands in for the running bot.

    python bench/import.py              # 300,000 rows, a few minutes
    python bench/import.py --quick      # 30,000 rows

The import runs as the operator runs it, `careloop customers import FILE`, in a process of
its own on a fresh SQLite file. Meanwhile a probe in this process takes SQLite's write
lock every 10 ms (BEGIN IMMEDIATE, then ROLLBACK), as the bot's writes would, and records
how long each one waited: the longest wait is the longest time the import held the lock.

Figures:
- seconds: from starting the import to its end; rows_per_second;
- peak_rss_mb: the import process's peak resident memory (its own, from wait4);
- longest_lock_wait_s: the probe's longest wait for the write lock; probe_writes: how many
  times it took the lock during the import; probe_failures: waits that ran out (60 s).

The last line holds every figure as key=value.
"""

from __future__ import annotations

import argparse
import os
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

HEADER = "external_id,name,tier,language,timezone,birthday,tags\n"


def write_csv(path: Path, rows: int) -> None:
    with path.open("w", encoding="utf-8") as f:
        f.write(HEADER)
        for n in range(rows):
            f.write(f"C-{n:07d},Customer number {n},gold,en,Asia/Shanghai,"
                    f"1990-05-{n % 28 + 1:02d},vip;coffee\n")


class LockProbe(threading.Thread):
    """Takes the write lock again and again, recording how long each take waited."""

    def __init__(self, database: Path) -> None:
        super().__init__(daemon=True)
        self.database = database
        self.stop = threading.Event()
        self.longest = 0.0
        self.writes = 0
        self.failures = 0

    def run(self) -> None:
        conn = sqlite3.connect(self.database, timeout=60, isolation_level=None)
        while not self.stop.is_set():
            start = time.monotonic()
            try:
                conn.execute("BEGIN IMMEDIATE")
            except sqlite3.OperationalError:
                self.failures += 1
                continue
            self.longest = max(self.longest, time.monotonic() - start)
            self.writes += 1
            conn.execute("ROLLBACK")
            time.sleep(0.01)
        conn.close()


def careloop(*args: str, env: dict[str, str], output: Path) -> tuple[int, float, str]:
    """Runs a `careloop` command: its exit status, its peak memory in MB (its own, from
    wait4) and what it printed."""
    with output.open("wb") as out:
        process = subprocess.Popen(  # noqa: S603 - careloop itself, with fixed arguments
            [sys.executable, "-m", "careloop.bot", *args], env=env,
                                   stdout=out, stderr=subprocess.STDOUT)
        _, status, usage = os.wait4(process.pid, 0)
        process.returncode = os.waitstatus_to_exitcode(status)
    return process.returncode, usage.ru_maxrss / 1024, output.read_text()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=300_000)
    parser.add_argument("--quick", action="store_true", help="30,000 rows")
    args = parser.parse_args()
    rows = 30_000 if args.quick else args.rows
    with tempfile.TemporaryDirectory() as tmp:
        database, csv = Path(tmp) / "careloop.db", Path(tmp) / "customers.csv"
        write_csv(csv, rows)
        env = {k: v for k, v in os.environ.items() if not k.startswith("CARELOOP_")}
        env["CARELOOP_DATABASE_URL"] = f"sqlite+aiosqlite:///{database}"
        code, _, printed = careloop("db", "upgrade", env=env, output=Path(tmp) / "upgrade.txt")
        if code != 0:
            sys.exit(printed)
        probe = LockProbe(database)
        probe.start()
        start = time.monotonic()
        code, peak_mb, printed = careloop("customers", "import", str(csv), env=env,
                                          output=Path(tmp) / "import.txt")
        seconds = time.monotonic() - start
        probe.stop.set()
        probe.join()
        print(printed, end="")
        if code != 0:
            sys.exit(f"the import failed with {code}")
        figures = {
            "rows": rows, "seconds": f"{seconds:.1f}", "rows_per_second": f"{rows / seconds:.0f}",
            "peak_rss_mb": f"{peak_mb:.0f}",
            "longest_lock_wait_s": f"{probe.longest:.2f}", "probe_writes": probe.writes,
            "probe_failures": probe.failures,
        }
        print(" ".join(f"{k}={v}" for k, v in figures.items()))


if __name__ == "__main__":
    main()
