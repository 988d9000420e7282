"""End-to-end: the real bot, on aiogram and on python-telegram-bot, polling the sandbox over
HTTP, a real database, a hand-driven clock. Every test ends by checking that no request the
bot made failed the spec check."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest

from careloop.sandbox import SandboxMessage, SandboxUser
from careloop.sandbox.stage import Stage
from careloop.storage.models import Case
from tests.conftest import START

CSV_HEADER = "external_id,name,tier,language,timezone,birthday,tags\n"
RUNTIMES = ("aiogram", "ptb")


@pytest.fixture(params=RUNTIMES, autouse=True)
def runtime(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Every test here runs on each runtime. Settings read CARELOOP_RUNTIME, so the stage, the
    demo and `careloop run` started as a process all take it from the environment."""
    monkeypatch.setenv("CARELOOP_RUNTIME", request.param)
    return str(request.param)


# Every end-to-end module runs on aiogram × SQLite. Beyond that, each combination runs the
# modules that can find something the others cannot, so that CI stays well under ten minutes:
# - python-telegram-bot: the modules that between them reach every call of its adapter:
#   polling (careloop's own, and its errors) and webhook, text, media (a campaign's photo
#   with its buttons) and uploads, edits and button answers, forum topics, pins, member
#   updates, errors normalized (429, 5xx, timeouts), embedding, a real process, an outage
#   of the database.
#   The handlers above the adapter are the same code under both runtimes.
# - PostgreSQL: the modules whose flows lean on the SQL: conditional updates under races,
#   bulk inserts, the reports' queries, erasure and retention, a crash and a restart, an
#   outage (PostgreSQL refusing connections, which the runtimes also see: on both).
HERE = Path(__file__).parent
PTB_MODULES = frozenset({
    "test_start", "test_webhook", "test_messenger", "test_embedding", "test_loop",
    "test_case_desk", "test_community", "test_privacy", "test_demo", "test_crash",
    "test_limits", "test_campaigns", "test_claims", "test_fairness", "test_outage", "test_digest",
    "test_polling",
})
PG_MODULES = frozenset({
    "test_loop", "test_surveys", "test_case_desk", "test_campaigns", "test_community",
    "test_privacy", "test_staff_privacy", "test_delivery", "test_limits", "test_crash",
    "test_claims", "test_fairness", "test_outage", "test_digest", "test_workers", "test_failover",
    "test_update_statements",
})
# The modules that run python-telegram-bot on PostgreSQL too.
PTB_PG_MODULES = frozenset({"test_outage"})


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Keep the combinations above. python-telegram-bot runs on SQLite only (but for
    PTB_PG_MODULES). A test marked
    `one_runtime` (careloop's own machinery at volume, or a cross product such as the demo in
    every language) runs on aiogram only."""
    dropped = [item for item in items if not _wanted(item)]
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = [item for item in items if item not in dropped]


def _wanted(item: pytest.Item) -> bool:
    if item.path.parent != HERE:
        return True  # the hook sees the whole run's items: only end-to-end tests are ours
    params = _params(item)
    module = item.path.stem
    if params.get("runtime") == "ptb":
        on_sqlite = params.get("database_url") != "postgresql"
        return (module in PTB_MODULES and (on_sqlite or module in PTB_PG_MODULES)
                and item.get_closest_marker("one_runtime") is None)
    if params.get("database_url") == "postgresql":
        return module in PG_MODULES
    return True


def _params(item: pytest.Item) -> dict[str, Any]:
    callspec = getattr(item, "callspec", None)
    return dict(callspec.params) if callspec is not None else {}


@asynccontextmanager
async def running(database_url: str, tmp_path: Path, **options: Any) -> AsyncIterator[Stage]:
    """A running bot with a lead, an agent and an outsider in its staff group; on the way
    out, no request the bot made may have failed the Bot API spec check. `options` go to
    Stage.open (languages, settings)."""
    s = await Stage.open(tmp_path, database_url=database_url, start_at=START, **options)
    lead, agent, _outsider = s.staff
    await s.add_staff(lead, "lead")
    await s.add_staff(agent, "agent")
    await s.start_bot()
    try:
        yield s
    finally:
        await s.close()
    rejected = [(r.method, r.description) for r in s.sandbox.rejected()]
    assert rejected == [], f"requests that failed the Bot API spec check: {rejected}"


@pytest.fixture
async def stage(database_url: str, tmp_path: Path) -> AsyncIterator[Stage]:
    async with running(database_url, tmp_path) as s:
        yield s


async def linked(stage: Stage, external_id: str, name: str = "Ann Lee", *, tier: str = "standard",
                 consent: bool = True, timezone: str = "", birthday: str = "") -> SandboxUser:
    """A customer imported by the operator who opened their link and answered the consent
    question."""
    quoted = '"' + name.replace('"', '""') + '"'
    await stage.import_customers(
        CSV_HEADER + f"{external_id},{quoted},{tier},,{timezone},{birthday},\n")
    person = stage.customer(name.split(" ")[0])
    await stage.say(person, f"/start {await stage.link(external_id)}")
    question = await stage.bot_says(person.id, "May we message you?")
    await stage.press(person, question, "Yes" if consent else "No")
    return person


async def surveyed(stage: Stage, external_id: str, name: str = "Ann Lee", *,
                   tier: str = "standard") -> tuple[SandboxUser, SandboxMessage]:
    """A linked customer whose completed service brought a CSAT survey a day later."""
    person = await linked(stage, external_id, name, tier=tier)
    await stage.event(external_id, "service_completed")
    stage.advance(days=1, minutes=1)
    return person, await stage.bot_says(person.id, "How satisfied")


async def with_case(stage: Stage, external_id: str, name: str = "Ann Lee", *, score: str = "1",
                    comment: str = "Broken.", tier: str = "standard",
                    ) -> tuple[SandboxUser, SandboxMessage]:
    """A customer who answered with a low score and a comment; returns the case card."""
    person, survey = await surveyed(stage, external_id, name, tier=tier)
    await stage.press(person, survey, score)
    await stage.bot_says(person.id, "What went wrong?")
    # This case's card: chats are handled side by side, so an earlier card may still be
    # the group's last message when the next update arrives.
    before = stage.last_id(stage.staff_chat)
    await stage.say(person, comment)
    return person, await stage.bot_says(stage.staff_chat, "Case #", after=before)


async def toasts(stage: Stage, *query_ids: str) -> list[str | None]:
    """The toasts shown for these presses, in order, once all have been answered."""
    def shown() -> list[str | None] | None:
        texts = [a.text for q in query_ids for a in stage.sandbox.callback_answers
                 if a.query_id == q]
        return texts if len(texts) == len(query_ids) else None

    return await stage.wait(shown, f"answers to {len(query_ids)} press(es)")


def process_env(stage: Stage) -> dict[str, str]:
    """The environment for careloop (or a host embedding it) run as a process on `stage`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CARELOOP_")}
    assert stage.settings.bot_token is not None and stage.settings.link_secret is not None
    env.update({
        "CARELOOP_BOT_TOKEN": stage.settings.bot_token.get_secret_value(),
        "CARELOOP_TELEGRAM_API_URL": stage.settings.telegram_api_url,
        "CARELOOP_DATABASE_URL": stage.settings.database_url,
        "CARELOOP_STAFF_CHAT_ID": str(stage.staff_chat),
        "CARELOOP_LINK_SECRET": stage.settings.link_secret.get_secret_value(),
        "CARELOOP_RUNTIME": stage.settings.runtime,
        # This process runs on the real clock: the audience must be awake whenever CI runs.
        "CARELOOP_QUIET_HOURS": "",
        "CARELOOP_SENDER_INTERVAL_SECONDS": "0.2",
        "CARELOOP_CAMPAIGN_INTERVAL_SECONDS": "0.5",
        # As on the stage: the scene's own messages only (its data lies in weeks the real
        # clock would find due for a digest).
        "CARELOOP_DIGEST_ENABLED": "false",
    })
    return env


def tracebacks(log: str) -> str:
    """Every traceback in a process's log with the lines before it: empty when there is
    none, and otherwise what an assertion shows (the log itself may be too long to)."""
    lines = log.splitlines()
    return "\n\n".join("\n".join(lines[max(0, n - 5):n + 40])
                       for n, line in enumerate(lines) if line.startswith("Traceback"))


@pytest.fixture
async def workers() -> AsyncIterator[list[asyncio.subprocess.Process]]:
    """careloop processes a test starts: whichever are still running at its end are killed."""
    started: list[asyncio.subprocess.Process] = []
    yield started
    for proc in started:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()


@pytest.fixture
async def forum(database_url: str, tmp_path: Path) -> AsyncIterator[Stage]:
    """A running bot whose staff group is a forum: a topic per case."""
    async with running(database_url, tmp_path, forum=True) as s:
        yield s


async def case_row(stage: Stage, case_id: int = 1) -> Case:
    """The case as stored now."""
    async with stage.storage.uow() as uow:
        case = await uow.cases.get(case_id)
    assert case is not None
    return case
