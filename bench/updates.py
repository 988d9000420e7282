"""Update benchmark: careloop's survey-answer path on each runtime against bare bots, in one run.

    python bench/updates.py             # the full run, about six minutes
    python bench/updates.py --quick     # a short run, about a minute
    python bench/updates.py --database postgresql+asyncpg://postgres@127.0.0.1/bench
                                        # on PostgreSQL (the database is emptied first)

The path: a customer presses a score on a CSAT survey; careloop stores the answer, edits the
survey message and answers the press. One customer in ten presses 1 and writes what went
wrong, which opens a case for the staff group (the follow-up question, the acknowledgement
and the case card are sent under careloop's own Telegram limits, as in production).

Phases, for careloop on aiogram and on python-telegram-bot, each against a fresh sandbox in a
process of its own (so the bot and Telegram do not share a core) and a fresh SQLite file (or
the PostgreSQL database given, emptied):
- rate: N surveys are delivered first; then every customer's press (and every comment) is
  queued at once, and the bot works through the backlog: updates per second from the first
  press to the last update handled (the last comment's case opened, not only the last press
  answered); beside it, the SQL statements the bot's process sent meanwhile per update;
- latency: presses arriving steadily at --rate per second: from the press to Telegram
  receiving the bot's answer to it (the spinner stops), p50 and p99;
- echo: the same presses and comments handled by the framework's bare bot, which edits the
  message and answers each press and echoes each message; careloop's rate is divided by it
  (target >= 0.4).

The sandbox runs without Telegram's rate limits here: what is measured is the update path,
not the limits. careloop still paces its own calls, in paid-broadcast mode (1,000 a second
overall: at the default 30, each press takes two overall turns, the edit and the answer, and
careloop could not pass 15 presses a second whatever the update path cost), one message a
second per chat after a burst of three, and the staff group takes case cards as they come.

The last line holds every figure as key=value.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing as mp
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from common import emptied

BENCH_SECRET = "bench-" + "link-key-of-16+"  # signs nothing that leaves this run
LOW_EVERY = 10  # one customer in ten is unhappy
STARTUP_SECONDS = 3.0
COMMENT = "The lid was cracked."
ECHO_KEYBOARD = [[("1", "s1"), ("2", "s2"), ("3", "s3"), ("4", "s4"), ("5", "s5")]]

# (user id, score label to press, comment to write after it or None)
Plan = list[tuple[int, str, str | None]]


def say(line: str) -> None:
    print(line, flush=True)


# --- the sandbox and its customers, in a process of their own -------------------------------


def _sandbox_process(conn: Connection, users: int) -> None:
    asyncio.run(_sandbox_main(conn, users))


async def _sandbox_main(conn: Connection, users: int) -> None:
    from careloop.sandbox import Sandbox

    sandbox = Sandbox(rate_limits=False)
    url = await sandbox.start()
    ids = [sandbox.add_user(f"Guest{n}").id for n in range(users)]
    staff = sandbox.add_user("Lin")
    group = sandbox.add_group("Care team", [staff])
    conn.send((url, sandbox.token, ids, group))
    loop = asyncio.get_running_loop()
    while True:
        command, *args = await loop.run_in_executor(None, conn.recv)
        if command == "press":
            conn.send(await _press(sandbox, *args))
        else:  # "done"
            conn.send({"rejected": len(sandbox.rejected())})
            break
    await sandbox.stop()


async def _press(sandbox: Any, plan: Plan, rate: float | None) -> dict[str, Any]:
    """Each customer presses their score (and writes their comment): all at once when `rate`
    is None, else `rate` presses a second. Returns when every update was handled."""
    world = sandbox.world
    pressed: dict[str, float] = {}
    started = sandbox.time_source()
    for n, (user_id, label, comment) in enumerate(plan):
        if rate is not None:
            await asyncio.sleep(max(0.0, started + n / rate - sandbox.time_source()))
        user = world.users[user_id]
        message, data = _button(sandbox, user_id, label)
        pressed[world.user_presses(user, user_id, message, data)] = sandbox.time_source()
        if comment is not None:
            world.user_sends(user, comment)
        world.notify()
        await asyncio.sleep(0)
    updates = len(plan) + sum(1 for _, _, c in plan if c is not None)

    def handled() -> bool:
        answered = {a.query_id for a in world.callback_answers}
        return not world.updates.items and answered >= pressed.keys()

    await sandbox.wait_for(handled, timeout=600, what="every update to be handled")
    answers = {r.params["callback_query_id"]: r.at for r in sandbox.calls("answerCallbackQuery")
               if r.ok}
    finished = max([*answers.values(), sandbox.time_source() if rate is None else 0.0])
    return {
        "updates": updates,
        "started": started,
        "seconds": finished - started,
        "latencies_ms": [(answers[q] - t) * 1000 for q, t in pressed.items()],
    }


def _button(sandbox: Any, user_id: int, label: str) -> tuple[int, str]:
    """The newest bot message in this chat with a button labelled `label` (its last word)."""
    for message in reversed(sandbox.bot_messages(user_id)):
        for row in message.buttons:
            for text, data in row:
                if data is not None and text.split()[-1] == label:
                    return message.message_id, data
    raise AssertionError(f"no button {label!r} in chat {user_id}")


class SandboxProcess:
    def __init__(self, users: int) -> None:
        ctx = mp.get_context("spawn")
        self._conn, child = ctx.Pipe()
        self._proc = ctx.Process(target=_sandbox_process, args=(child, users), daemon=True)

    def __enter__(self) -> tuple[str, str, list[int], int]:
        self._proc.start()
        return self._conn.recv()  # type: ignore[no-any-return]

    async def press(self, plan: Plan, rate: float | None) -> dict[str, Any]:
        """Ask the sandbox to press; the bot in this process keeps running meanwhile."""
        self._conn.send(("press", plan, rate))
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(None, self._conn.recv)  # type: ignore[no-any-return]

    def finish(self) -> dict[str, Any]:
        self._conn.send(("done",))
        return self._conn.recv()  # type: ignore[no-any-return]

    def __exit__(self, *exc: object) -> None:
        self._proc.join(timeout=10)
        if self._proc.is_alive():
            self._proc.kill()


def _plan(user_ids: list[int]) -> Plan:
    """Every tenth customer presses 1 and says why; the others press 5."""
    return [(u, "1", COMMENT) if n % LOW_EVERY == 0 else (u, "5", None)
            for n, u in enumerate(user_ids)]


# --- careloop ---------------------------------------------------------------------------------


def _settings(runtime: str, url: str, token: str, database_url: str, group: int,
              **extra: Any) -> Any:
    from careloop.bot.settings import Settings

    return Settings(
        bot_token=token, telegram_api_url=url, runtime=runtime,  # type: ignore[arg-type]
        database_url=database_url, staff_chat_id=group,
        link_secret=BENCH_SECRET, quiet_hours="",  # type: ignore[arg-type]
        # The overall pace of a paid broadcast (see the module): the update path is measured,
        # not Telegram's 30 a second.
        paid_broadcast=True,
        # Case cards go to the staff group as they open. At Telegram's 20 a minute, hundreds
        # of them would wait in the outbox, and the sender's tick that paces them out holds
        # up the bot's shutdown until they are all sent (minutes): not the path measured.
        group_messages_per_minute=60_000, **extra,
    )


async def _deliver_surveys(settings: Any, storage: Any, user_ids: list[int]) -> None:
    """One CSAT survey to each customer, by careloop's sender in paid-broadcast mode (fast)."""
    from careloop.bot.app import build_app
    from careloop.bot.runtime import make_runtime
    from careloop.storage.models import Category, Customer, Touch

    now = datetime.now(UTC)
    async with storage.uow() as uow:
        customers = [Customer(name=f"Guest{u}", chat_id=u, telegram_user_id=u,
                              service_consent=True, service_consent_at=now, created_at=now)
                     for u in user_ids]
        uow.session.add_all(customers)
        await uow.session.flush()
        uow.session.add_all([Touch(
            customer_id=c.id, purpose="bench.csat", category=Category.SURVEY, template="survey",
            survey_key="csat", due_at=now, created_at=now, idempotency_key=f"bench:{c.id}")
            for c in customers])
        await uow.commit()
    paid = settings.model_copy(update={"paid_broadcast": True})
    runtime = make_runtime(paid)
    app = build_app(paid, runtime.messenger, storage=storage)
    while await app.sender.tick():
        pass
    await runtime.close()


async def _counts(storage: Any) -> tuple[int, int]:
    from sqlalchemy import func
    from sqlmodel import select

    from careloop.storage.models import Case, SurveyAnswer

    async with storage.uow() as uow:
        answers = (await uow.session.exec(select(func.count()).select_from(SurveyAnswer))).one()
        cases = (await uow.session.exec(select(func.count()).select_from(Case))).one()
    return int(answers), int(cases)


class Statements:
    """Counts the SQL statements an engine sends while `counting`."""

    def __init__(self, engine: Any) -> None:
        from sqlalchemy import event

        self.counting = False
        self.count = 0
        event.listen(engine.sync_engine, "before_cursor_execute", self._seen)

    def _seen(self, *_args: Any) -> None:
        if self.counting:
            self.count += 1


async def _careloop(runtime: str, sandbox: SandboxProcess, url: str, token: str,
                    ids: list[int], group: int, split: int, rate: float,
                    database_url: str | None) -> dict[str, Any]:
    from careloop.bot import heap
    from careloop.bot.app import build_storage
    from careloop.bot.serve import start
    from careloop.storage.migrate import upgrade

    with tempfile.TemporaryDirectory() as tmp:
        if database_url is None:
            database_url = f"sqlite+aiosqlite:///{Path(tmp) / 'bench.db'}"
        else:
            await emptied(database_url)
        settings = _settings(runtime, url, token, database_url, group)
        storage = build_storage(settings)
        await upgrade(storage.engine)
        statements = Statements(storage.engine)
        began = time.perf_counter()
        await _deliver_surveys(settings, storage, ids)
        say(f"  {len(ids)} surveys delivered in {time.perf_counter() - began:.0f} s")
        running = await start(settings, storage)
        heap.settle_after_start()  # as `careloop run` does once started (bot/heap.py)
        # What a start runs at once (RFM scores, the retention purge) is not the path
        # measured: it is let finish first.
        await asyncio.sleep(STARTUP_SECONDS)
        inbound = running.app.inbound
        try:
            statements.counting = True
            cpu = time.process_time()
            backlog = await sandbox.press(_plan(ids[:split]), None)
            # Every press is answered; the last comments may still be in hand. The sandbox
            # measures on the same monotonic clock as this process.
            await inbound.idle()
            backlog["seconds"] = max(backlog["seconds"], time.monotonic() - backlog["started"])
            statements.counting = False
            backlog["cpu"] = time.process_time() - cpu
            steady = await sandbox.press(_plan(ids[split:]), rate)
            await inbound.idle()
        finally:
            await running.stop()
        answers, cases = await _counts(storage)
        await storage.close()
    lows = _lows(len(ids), split)
    # The figures count only if the path really ran: every answer stored, every case opened.
    assert answers == len(ids), f"{answers} answers stored for {len(ids)} presses"
    assert cases == lows, f"{cases} cases opened for {lows} unhappy customers"
    return {"backlog": backlog, "steady": steady, "cases": cases,
            "statements": statements.count / backlog["updates"]}


def _lows(total: int, split: int) -> int:
    return len(range(0, split, LOW_EVERY)) + len(range(0, total - split, LOW_EVERY))


# --- the bare bots --------------------------------------------------------------------------


async def _aiogram_echo(url: str, token: str, ids: list[int],
                        work: Callable[[], Awaitable[Any]]) -> Any:
    from aiogram import Bot, Dispatcher
    from aiogram.client.session.aiohttp import AiohttpSession
    from aiogram.client.telegram import TelegramAPIServer
    from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message

    bot = Bot(token, session=AiohttpSession(api=TelegramAPIServer.from_base(url)))
    markup = InlineKeyboardMarkup(inline_keyboard=[
        [InlineKeyboardButton(text=t, callback_data=d) for t, d in row] for row in ECHO_KEYBOARD])
    await asyncio.gather(*(bot.send_message(u, "How was it?", reply_markup=markup) for u in ids))
    dispatcher = Dispatcher()

    @dispatcher.callback_query()
    async def on_press(query: CallbackQuery) -> None:
        assert isinstance(query.message, Message)
        await query.message.edit_text(f"Your answer: {query.data}")
        await query.answer("Thank you!")

    @dispatcher.message()
    async def on_message(message: Message) -> None:
        await message.answer(message.text or "")

    polling = asyncio.create_task(dispatcher.start_polling(
        bot, handle_as_tasks=False, handle_signals=False))
    try:
        return await work()
    finally:
        await dispatcher.stop_polling()
        await polling
        await bot.session.close()


async def _ptb_echo(url: str, token: str, ids: list[int],
                    work: Callable[[], Awaitable[Any]]) -> Any:
    from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
    from telegram.ext import ApplicationBuilder, CallbackQueryHandler, ContextTypes, MessageHandler
    from telegram.ext import filters as f

    application = ApplicationBuilder().token(token).base_url(f"{url}/bot").build()
    markup = InlineKeyboardMarkup([[InlineKeyboardButton(t, callback_data=d) for t, d in row]
                                   for row in ECHO_KEYBOARD])

    async def on_press(update: Update, _: ContextTypes.DEFAULT_TYPE) -> None:
        query = update.callback_query
        assert query is not None
        await query.edit_message_text(f"Your answer: {query.data}")
        await query.answer("Thank you!")

    async def on_message(update: Update, _: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.message is not None
        await update.message.reply_text(update.message.text or "")

    application.add_handler(CallbackQueryHandler(on_press))
    application.add_handler(MessageHandler(f.TEXT, on_message))
    await application.initialize()
    await asyncio.gather(*(application.bot.send_message(u, "How was it?", reply_markup=markup)
                           for u in ids))
    assert application.updater is not None
    await application.updater.start_polling()
    await application.start()
    try:
        return await work()
    finally:
        await application.updater.stop()
        await application.stop()
        await application.shutdown()


async def _echo(framework: str, sandbox: SandboxProcess, url: str, token: str, ids: list[int],
                split: int, rate: float) -> dict[str, Any]:
    async def work() -> dict[str, Any]:
        cpu = time.process_time()
        backlog = await sandbox.press(_plan(ids[:split]), None)
        backlog["cpu"] = time.process_time() - cpu
        steady = await sandbox.press(_plan(ids[split:]), rate)
        return {"backlog": backlog, "steady": steady}

    run = _aiogram_echo if framework == "aiogram" else _ptb_echo
    return await run(url, token, ids, work)  # type: ignore[no-any-return]


# --- the run ---------------------------------------------------------------------------------


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def measure(kind: str, framework: str, n: int, steady: int, rate: float,
            database_url: str | None = None) -> dict[str, Any]:
    sandbox = SandboxProcess(n + steady)
    with sandbox as (url, token, ids, group):
        if kind == "careloop":
            result = asyncio.run(_careloop(framework, sandbox, url, token, ids, group, n, rate,
                                           database_url))
        else:
            result = asyncio.run(_echo(framework, sandbox, url, token, ids, n, rate))
        checks = sandbox.finish()
    assert checks["rejected"] == 0, f"{checks['rejected']} requests failed the spec check"
    backlog, paced = result["backlog"], result["steady"]
    latencies = paced["latencies_ms"]
    return {
        "rate": backlog["updates"] / backlog["seconds"],
        "updates": backlog["updates"],
        "p50": statistics.median(latencies),
        "p99": _percentile(latencies, 0.99),
        "cases": result.get("cases"),
        "statements": result.get("statements"),
        # The bot's process's CPU time (every thread) per update while it worked through
        # the backlog: on a shared machine the rates move with the load, this much less.
        "cpu_ms": backlog["cpu"] * 1000 / backlog["updates"],
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="a short run")
    parser.add_argument("--rate", type=float, default=20.0,
                        help="presses per second in the latency phase (default 20)")
    parser.add_argument("--database", "--database-url", metavar="URL", dest="database",
                        help="a PostgreSQL database (postgresql+asyncpg://...) to run careloop "
                             "on instead of a fresh SQLite file; everything in it is dropped "
                             "first")
    args = parser.parse_args(argv)
    if args.database and not args.database.startswith("postgresql"):
        parser.error("--database: a postgresql+asyncpg:// URL")
    n = 300 if args.quick else 3000
    steady = 100 if args.quick else 600
    figures: dict[str, str] = {
        "database": "postgresql" if args.database else "sqlite"}
    began = time.perf_counter()
    for framework in ("aiogram", "ptb"):
        say(f"{framework}: careloop, {n} presses queued at once, then {steady} at "
            f"{args.rate:g}/s ...")
        ours = measure("careloop", framework, n, steady, args.rate, args.database)
        say(f"  {ours['updates']} updates at {ours['rate']:.1f}/s; answered in "
            f"p50 {ours['p50']:.1f} ms, p99 {ours['p99']:.1f} ms; {ours['cases']} cases opened; "
            f"{ours['statements']:.1f} SQL statements and {ours['cpu_ms']:.1f} ms of CPU "
            "per update")
        say(f"{framework}: bare echo bot, the same presses ...")
        echo = measure("echo", framework, n, steady, args.rate)
        say(f"  {echo['updates']} updates at {echo['rate']:.1f}/s; answered in "
            f"p50 {echo['p50']:.1f} ms, p99 {echo['p99']:.1f} ms; "
            f"{echo['cpu_ms']:.1f} ms of CPU per update")
        figures[f"{framework}_rate"] = f"{ours['rate']:.1f}"
        figures[f"{framework}_echo_rate"] = f"{echo['rate']:.1f}"
        figures[f"{framework}_ratio"] = f"{ours['rate'] / echo['rate']:.2f}"
        figures[f"{framework}_p50_ms"] = f"{ours['p50']:.1f}"
        figures[f"{framework}_p99_ms"] = f"{ours['p99']:.1f}"
        figures[f"{framework}_statements"] = f"{ours['statements']:.1f}"
        figures[f"{framework}_cpu_ms"] = f"{ours['cpu_ms']:.1f}"
        figures[f"{framework}_echo_cpu_ms"] = f"{echo['cpu_ms']:.1f}"
    say(f"(the run took {time.perf_counter() - began:.0f} s)")
    print(" ".join(f"{k}={v}" for k, v in figures.items()), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
