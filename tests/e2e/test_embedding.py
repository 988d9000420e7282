"""careloop added to a host bot: each framework's example host (examples/), and a host project
whose own packages are named `bot` and `handlers`, runs as a process against the sandbox, its
own /ping and careloop's loop side by side, then stops cleanly."""

from __future__ import annotations

import asyncio
import json
import signal
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

from careloop.sandbox.stage import Stage
from tests.e2e.conftest import CSV_HEADER, process_env
from tests.e2e.host_project import IMPORTS, PONG, write_host

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
STARTUP = 60.0  # a cold interpreter importing a framework and careloop on a busy CI machine


async def test_the_example_host_answers_its_own_command_and_runs_careloop(
        database_url: str, tmp_path: Path, runtime: str) -> None:
    """The example for this runtime's framework: examples/aiogram_host.py or ptb_host.py."""
    stage = await Stage.open(tmp_path, database_url=database_url)
    log = tmp_path / "host.log"
    await stage.import_customers(CSV_HEADER + "C1,Ann Lee,standard,,,,\n")
    with log.open("ab") as out:
        host = await asyncio.create_subprocess_exec(
            sys.executable, str(EXAMPLES / f"{runtime}_host.py"), env=process_env(stage),
            stdout=out, stderr=out)
    try:
        await stage.sandbox.wait_for(lambda: stage.sandbox.polling, timeout=STARTUP,
                                     what="the host to poll")
        ann = stage.customer("Ann")

        # The host's own command is the host's: careloop never sees it.
        await stage.say(ann, "/ping")
        await stage.bot_says(ann.id, "pong")
        await stage.quiet()
        assert [m.content for m in stage.sandbox.bot_messages(ann.id)] == ["pong"]

        # careloop's loop, on the host's bot: the signed link, then consent.
        await stage.say(ann, f"/start {await stage.link('C1')}")
        question = await stage.bot_says(ann.id, "May we message you?")
        await stage.press(ann, question, "Yes")
        await stage.bot_says(ann.id, "We will keep in touch here")

        # careloop's sender runs beside the host (on the real clock, in that process).
        async with stage.storage.uow() as uow:
            customer = await uow.customers.by_external_id("C1")
        assert customer is not None and customer.id is not None
        await stage.schedule([customer.id], due=datetime.now(UTC) - timedelta(seconds=1))
        await stage.bot_says(ann.id, "Thank you for your purchase")

        host.send_signal(signal.SIGINT)  # what Ctrl-C does: both stop, cleanly
        assert await asyncio.wait_for(host.wait(), 30) == 0
    finally:
        if host.returncode is None:
            host.kill()
            await host.wait()
        await stage.close()
    assert stage.sandbox.rejected() == []
    assert stage.sandbox.token not in log.read_text()


async def test_a_host_with_its_own_bot_and_handlers_packages_embeds_careloop(
        database_url: str, tmp_path: Path, runtime: str) -> None:
    """careloop's folders are named bot/ and handlers/ in the repository; installed, they are
    careloop.bot and careloop.handlers, so a host whose own packages have those names runs
    careloop beside them (tests/e2e/host_project.py)."""
    stage = await Stage.open(tmp_path, database_url=database_url)
    project = tmp_path / "host"
    write_host(project, runtime)
    await stage.import_customers(CSV_HEADER + "C1,Ann Lee,standard,,,,\n")
    env = process_env(stage)
    # Only the installed namespace may bring careloop in, never the repository on a path.
    for name in ("PYTHONPATH", "PYTHONSAFEPATH", "PYTHONHOME"):
        env.pop(name, None)
    log = tmp_path / "host.log"
    with log.open("ab") as out:
        host = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot", cwd=project, env=env, stdout=out, stderr=out)
    try:
        await polling(stage, host, log)
        ann = stage.customer("Ann")

        await stage.say(ann, "/ping")
        await stage.bot_says(ann.id, PONG)
        await stage.quiet()
        assert [m.content for m in stage.sandbox.bot_messages(ann.id)] == [PONG]

        await stage.say(ann, f"/start {await stage.link('C1')}")
        question = await stage.bot_says(ann.id, "May we message you?")
        await stage.press(ann, question, "Yes")
        await stage.bot_says(ann.id, "We will keep in touch here")

        host.send_signal(signal.SIGINT)
        assert await asyncio.wait_for(host.wait(), 30) == 0, log_text(log)
    finally:
        if host.returncode is None:
            host.kill()
            await host.wait()
        await stage.close()
    assert stage.sandbox.rejected() == []

    check_imports(project)


async def polling(stage: Stage, host: asyncio.subprocess.Process, log: Path) -> None:
    """Until the host polls; if it exits first (careloop failed to import beside the host's
    packages, say), fail at once with its log rather than at the timeout."""
    polls = asyncio.ensure_future(stage.sandbox.wait_for(
        lambda: stage.sandbox.polling, timeout=STARTUP, what="the host to poll"))
    exits = asyncio.ensure_future(host.wait())
    done, _ = await asyncio.wait({polls, exits}, return_when=asyncio.FIRST_COMPLETED)
    if polls not in done:
        polls.cancel()
        raise AssertionError(f"the host exited ({host.returncode}):\n{log_text(log)}")
    exits.cancel()
    polls.result()


def check_imports(project: Path) -> None:
    """What the host wrote of its imports: `bot` and `handlers` were its own, careloop came
    in whole under careloop.*, and the repository was never on sys.path."""
    imports = json.loads((project / IMPORTS).read_text())
    modules: dict[str, str | None] = imports["modules"]
    repository = EXAMPLES.parent
    on_path = [(project / entry).resolve() for entry in imports["sys_path"]]
    assert on_path[0] == project.resolve()
    assert repository not in on_path
    for name in ("bot", "handlers"):
        assert Path(modules[name] or "").resolve() == project.resolve() / name / "__init__.py"
        assert Path(modules[f"careloop.{name}"] or "") == repository / name / "__init__.py"
    installed = Path(imports["prefix"])  # a virtual environment may live in the repository
    from_repository = sorted(
        name for name, file in modules.items()
        if file and Path(file).is_relative_to(repository) and not Path(file).is_relative_to(
            installed))
    assert [name for name in from_repository if not name.startswith("careloop.")] == []


def log_text(log: Path) -> str:
    return log.read_text()
