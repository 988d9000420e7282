"""Workers benchmark: several `careloop run --webhook` processes on one PostgreSQL and Redis,
against the sandbox enforcing Telegram's limits, in one run.

    CARELOOP_BENCH_DATABASE_URL=postgresql+asyncpg://postgres@127.0.0.1:5432/bench \\
    CARELOOP_BENCH_REDIS_URL=redis://127.0.0.1:6379/3 python bench/workers.py [--quick]
        [--only global|paid|answers ...]

Phases, each on an emptied database and Redis:
- global: care messages at 30/s with 1 and with 3 workers: messages per second as Telegram
  saw them (first to last arrival), the ratio to 30/s (target >= 0.95) and the 429s (target 0);
- paid: a campaign with paid broadcast (1000/s) with 2 and 3 workers: messages per second,
  and how far past a second each message came after the one 1,000 before it (the round
  trip the shared second waits for, and any lapse in the sending);
- answers: customers press a score on a delivered survey, all at once, with 1 and 2 workers
  (the sandbox spreading its webhook posts over them): answers stored per second.

For the rate phases the CPU each part spent from the first send to the last is printed too,
per 1,000 messages: the workers, this process (the sandbox and the benchmark), the
PostgreSQL backends serving this database, and the Redis server. Their sum is how many
cores 1,000 msg/s takes, whatever else the machine is doing; on a machine with fewer free
cores than that the rate is bound by the CPU, not by the limits. `--profile DIR` runs each
worker under cProfile (one file per phase and worker, for `python -m pstats`).

The machine's load average is printed with the figures. The last line holds every figure as
key=value.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import socket
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import redis
from sqlalchemy import text
from sqlmodel import func, select

from careloop.sandbox.stage import Stage
from careloop.storage.models import Category, SurveyAnswer

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.e2e.conftest import process_env  # noqa: E402  (the tests' process environment)

DB = os.environ.get("CARELOOP_BENCH_DATABASE_URL",
                    "postgresql+asyncpg://postgres@127.0.0.1:5432/wt_workers")
REDIS = os.environ.get("CARELOOP_BENCH_REDIS_URL", "redis://127.0.0.1:6379/3")
# README, Delivery: one process's paid rate (bench/delivery.py, SQLite), for comparison.
ONE_PROCESS_PAID = "989-1010 msg/s"


def _cpu_seconds(pid: int) -> float:
    """User and system CPU a process spent so far (Linux's /proc; 0 when gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def _cpu(stage: Stage, procs: list[asyncio.subprocess.Process]) -> dict[str, float]:
    """CPU spent so far by the workers, this process, this database's backends and the
    Redis server (its every database: on a shared machine others' share too)."""
    async with stage.storage.engine.connect() as conn:
        backends = (await conn.execute(text(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database()"))).scalars()
        database = sum(_cpu_seconds(pid) for pid in backends)
    server = redis.Redis.from_url(REDIS).info("server")["process_id"]
    return {"workers": sum(_cpu_seconds(p.pid) for p in procs),
            "sandbox": time.process_time(), "postgres": database,
            "redis": _cpu_seconds(int(server))}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def _reset(stage: Stage) -> None:
    async with stage.storage.engine.begin() as conn:
        await conn.execute(text("TRUNCATE customer, touch, inbound_update, processed_update, "
                                "interaction, survey_invitation, survey_answer, support_case, "
                                "campaign, outbound_message CASCADE"))
    redis.Redis.from_url(REDIS).flushdb()


PROFILE: Path | None = None  # --profile: where each worker's cProfile output goes


async def _workers(stage: Stage, count: int, workdir: Path, phase: str = "", **extra: str
                   ) -> list[asyncio.subprocess.Process]:
    ports = [_free_port() for _ in range(count)]
    stage.sandbox.spread_webhooks([f"http://127.0.0.1:{p}/telegram" for p in ports])
    procs = []
    for n, port in enumerate(ports):
        env = process_env(stage) | {
            "CARELOOP_REDIS_URL": REDIS, "CARELOOP_WEBHOOK_LISTEN": f"127.0.0.1:{port}",
            "CARELOOP_WEBHOOK_URL": f"http://127.0.0.1:{ports[0]}/telegram",
            "CARELOOP_LOG_LEVEL": "WARNING", **extra}
        profile = [] if PROFILE is None else [
            "-m", "cProfile", "-o", str(PROFILE / f"{phase}-{count}w-{n}.prof")]
        with (workdir / f"w{n}.log").open("ab") as out:
            procs.append(await asyncio.create_subprocess_exec(
                sys.executable, *profile, "-m", "careloop.bot", "run", "--webhook", env=env,
                stdout=out, stderr=out))
    # Started (a worker listens once it is assembled): a phase measures sending, not one
    # worker's start-up competing for the CPU with another's first sends.
    for port in ports:
        async def listening(port: int = port) -> bool:
            try:
                _, writer = await asyncio.open_connection("127.0.0.1", port)
            except OSError:
                return False
            writer.close()
            return True

        await _until(listening, 120)
    return procs


async def _stop(procs: list[asyncio.subprocess.Process]) -> None:
    for p in procs:
        p.send_signal(signal.SIGTERM)
    for p in procs:
        await asyncio.wait_for(p.wait(), 60)


def _sends(stage: Stage, since: int) -> tuple[list[float], int]:
    calls = [r for r in stage.sandbox.requests[since:] if r.method == "sendMessage"]
    return [r.at for r in calls if r.ok], sum(1 for r in calls if r.error_code == 429)


def _duplicates(stage: Stage, since: int) -> int:
    """Messages a chat received more than once (each chat is sent one here)."""
    per_chat = Counter(int(r.params["chat_id"]) for r in stage.sandbox.requests[since:]
                       if r.method == "sendMessage" and r.ok)
    return sum(n - 1 for n in per_chat.values())


async def _until(probe: object, seconds: float = 600) -> None:
    deadline = time.monotonic() + seconds
    while not await probe():  # type: ignore[operator]
        if time.monotonic() > deadline:
            raise TimeoutError("the phase did not finish")
        await asyncio.sleep(0.1)


@dataclass(frozen=True)
class Rate:
    per_second: float  # as the sandbox saw the messages arrive, first to last
    limited: int  # its 429s
    duplicates: int
    cpu: dict[str, float]  # seconds each part spent per 1,000 messages, first send to last
    # Paid: how much more than a second lay on average between a message and the one 1,000
    # before it; None when fewer came (or at 30/s, where the ratio says as much). The shared
    # second counts a send from its answer (a send has arrived by then), so each second's
    # worth of sends waits at least one round trip for the second before it to pass: after
    # the first second the rate is 1000 / (1 + this), below the limit by the price of no
    # 429 whatever the jitter.
    past_second_ms: float | None


def _past_second(times: list[float], limit: int) -> float | None:
    gaps = [times[i] - times[i - limit] for i in range(limit, len(times))]
    return 1000 * (sum(gaps) / len(gaps) - 1) if gaps else None


async def rate_phase(stage: Stage, workers: int, count: int, workdir: Path, *,
                     paid: bool) -> Rate:
    await _reset(stage)
    since = len(stage.sandbox.requests)
    audience = await stage.seed_audience(count, marketing=paid)
    extra = {"CARELOOP_PAID_BROADCAST": "true"} if paid else {}
    procs = await _workers(stage, workers, workdir, "paid" if paid else "global", **extra)
    if paid:  # due once every worker is up
        campaign = await stage.create_campaign(
            "name: Paid\nsegment: all\nmessage: {text: 'Member day, {first_name}'}\n")
        await stage.start_campaign(campaign)
    else:
        await stage.schedule([c for c, _ in audience])

    async def started() -> bool:
        return len(_sends(stage, since)[0]) >= 1

    async def done() -> bool:
        return len(_sends(stage, since)[0]) >= count

    await _until(started)
    before = await _cpu(stage, procs)
    await _until(done)
    after = await _cpu(stage, procs)
    await _stop(procs)
    times, limited = _sends(stage, since)
    times.sort()
    cpu = {k: (after[k] - before[k]) * 1000 / count for k in after}
    return Rate((len(times) - 1) / (times[-1] - times[0]), limited, _duplicates(stage, since),
                cpu, _past_second(times, 1000) if paid else None)


def _cpu_line(cpu: dict[str, float]) -> str:
    return (f"CPU s per 1,000 msgs: workers {cpu['workers']:.2f}, sandbox {cpu['sandbox']:.2f}, "
            f"postgres {cpu['postgres']:.2f}, redis {cpu['redis']:.2f} "
            f"(sum {sum(cpu.values()):.2f})")


async def answers_phase(stage: Stage, workers: int, count: int, workdir: Path) -> float:
    await _reset(stage)
    audience = await stage.seed_audience(count)
    await stage.schedule([c for c, _ in audience], purpose="survey.csat", template="survey",
                         survey_key="csat", category=Category.SURVEY)
    procs = await _workers(stage, workers, workdir)

    async def delivered() -> bool:
        return all(any(m.buttons for m in stage.sandbox.messages(p.id)) for _, p in audience)

    await _until(delivered)
    started = time.monotonic()
    for _, person in audience:
        survey = next(m for m in stage.sandbox.messages(person.id) if m.buttons)
        [data] = [d for row in survey.buttons for t, d in row if "4" in t and d]
        await stage.sandbox.user_presses(person, survey.chat_id, survey.message_id, data)

    async def stored() -> bool:
        async with stage.storage.uow() as uow:
            n = (await uow.session.exec(select(func.count()).select_from(SurveyAnswer))).one()
        return n >= count

    await _until(stored)
    elapsed = time.monotonic() - started
    await _stop(procs)
    return count / elapsed


PHASES = ("global", "paid", "answers")


async def main(quick: bool, phases: set[str]) -> None:
    size = 300 if quick else 900
    paid_size = 1000 if quick else 3000
    answers = 150 if quick else 300
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        stage = await Stage.open(workdir, database_url=DB)
        figures: dict[str, str] = {}
        try:
            for n in (1, 3) if "global" in phases else ():
                r = await rate_phase(stage, n, size, workdir, paid=False)
                figures[f"global_{n}w"] = f"{r.per_second:.1f}"
                figures[f"global_{n}w_ratio"] = f"{r.per_second / 30:.3f}"
                figures[f"global_{n}w_429"] = str(r.limited)
                figures[f"global_{n}w_dup"] = str(r.duplicates)
                print(f"global rate, {n} worker(s): {r.per_second:.1f} msg/s "
                      f"(ratio to 30/s {r.per_second / 30:.3f}), {r.limited} x 429, "
                      f"{r.duplicates} duplicates; {_cpu_line(r.cpu)}; "
                      f"load {os.getloadavg()[0]:.2f}", flush=True)
            for n in (2, 3) if "paid" in phases else ():
                r = await rate_phase(stage, n, paid_size, workdir, paid=True)
                figures[f"paid_{n}w"] = f"{r.per_second:.0f}"
                figures[f"paid_{n}w_429"] = str(r.limited)
                figures[f"paid_{n}w_dup"] = str(r.duplicates)
                figures[f"paid_{n}w_cpu"] = f"{sum(r.cpu.values()):.2f}"
                past = ""
                if r.past_second_ms is not None:
                    figures[f"paid_{n}w_past_second_ms"] = f"{r.past_second_ms:.1f}"
                    past = (f"; each message {r.past_second_ms:.1f} ms past a second after "
                            f"the one 1,000 before it ({1000 / (1 + r.past_second_ms / 1000):.0f}"
                            f" msg/s after the first second)")
                print(f"paid rate, {n} workers: {r.per_second:.0f} msg/s (one process: "
                      f"{ONE_PROCESS_PAID}), {r.limited} x 429, {r.duplicates} duplicates; "
                      f"{_cpu_line(r.cpu)}{past}; load {os.getloadavg()[0]:.2f}", flush=True)
            for n in (1, 2) if "answers" in phases else ():
                rate = await answers_phase(stage, n, answers, workdir)
                figures[f"answers_{n}w"] = f"{rate:.1f}"
                print(f"survey answers, {n} worker(s): {rate:.1f} answers/s; "
                      f"load {os.getloadavg()[0]:.2f}", flush=True)
        finally:
            await stage.close()
    load = os.getloadavg()
    figures["load"] = f"{load[0]:.2f}"
    print(f"load average: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
    print(" ".join(f"{k}={v}" for k, v in figures.items()))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller phases")
    parser.add_argument("--only", action="append", choices=PHASES, metavar="PHASE",
                        help=f"run only this phase (repeatable; one of {', '.join(PHASES)})")
    parser.add_argument("--profile", type=Path, metavar="DIR",
                        help="run each worker under cProfile, its output in this folder")
    options = parser.parse_args()
    if options.profile is not None:
        options.profile.mkdir(parents=True, exist_ok=True)
        PROFILE = options.profile.resolve()
    asyncio.run(main(options.quick, set(options.only or PHASES)))
