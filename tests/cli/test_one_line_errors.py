"""What goes wrong before a command can do its work, run as an operator runs it (`careloop ...`
as a process): exactly one line on stderr naming what to fix, the documented exit code (2 a
setting, 1 the work could not be done, 141 the reader closed the pipe), and no traceback."""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import make_url

from tests.cli.test_cli import env  # noqa: F401 - a fixture
from tests.conftest import PG_URL

CAMPAIGN = """name: Member day
segment: {tier: [gold]}
message:
  text: "Hello {first_name}! 20% off today."
"""


def careloop(*argv: str, extra: dict[str, str] | None = None,
             stdout: int = subprocess.PIPE) -> tuple[int, str, str]:
    """`careloop ARGV` as a process, with the test's CARELOOP_* settings and `extra`."""
    proc = subprocess.run([sys.executable, "-m", "careloop.bot", *argv], stdout=stdout,  # noqa: S603
                          stderr=subprocess.PIPE, text=True, timeout=120,
                          env={**os.environ, **(extra or {})})
    return proc.returncode, proc.stdout or "", proc.stderr


@pytest.fixture(scope="module")
def migrated_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A database at the latest schema, made once: each test starts from a copy."""
    folder = tmp_path_factory.mktemp("template")
    settings = {k: v for k, v in os.environ.items() if not k.startswith("CARELOOP_")}
    settings["CARELOOP_DATABASE_URL"] = f"sqlite+aiosqlite:///{folder / 'c.db'}"
    subprocess.run([sys.executable, "-m", "careloop.bot", "db", "upgrade"],
                   check=True, capture_output=True, timeout=120, env=settings)
    return folder / "c.db"


@pytest.fixture
def ready(env: Path, migrated_template: Path) -> Path:  # noqa: F811
    shutil.copy(migrated_template, env / "c.db")
    return env


def one_line(err: str) -> str:
    assert "Traceback" not in err, err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("careloop: error: ")
    return lines[0].removeprefix("careloop: error: ")


@pytest.mark.parametrize(("runtime", "token"), [
    ("aiogram", "123456:SANDBOX-TOKEN "), ("ptb", "123456:SANDBOX-TOKEN "),
    ("aiogram", "123456:SANDBOX\nTOKEN"), ("aiogram", "bot123456:SANDBOX-TOKEN"),
    ("aiogram", "123456:"),
])
def test_a_malformed_token_names_the_setting(env: Path, runtime: str, token: str) -> None:  # noqa: F811
    """Checked with the settings, before anything else (aiogram would raise on it)."""
    code, _, err = careloop("run", extra={"CARELOOP_BOT_TOKEN": token,
                                          "CARELOOP_RUNTIME": runtime})
    assert code == 2
    line = one_line(err)
    assert line.startswith("CARELOOP_BOT_TOKEN: is not a bot token like 123456:ABC-DEF1234")
    assert "SANDBOX" not in err  # the token itself is never printed
    if token.strip() != token or "\n" in token:
        assert line.endswith("it has a space or a line break in it")


@pytest.mark.parametrize("runtime", ["aiogram", "ptb"])
@pytest.mark.parametrize(("url", "message"), [
    ("http://bot.example.com/telegram",
     "CARELOOP_WEBHOOK_URL: must start with https://; Telegram posts updates over HTTPS only"),
    ("https://bot.example.com:8080/telegram",
     "CARELOOP_WEBHOOK_URL: Telegram posts only to ports 80, 88, 443, 8443, not 8080"),
    ("bot.example.com/telegram",
     "CARELOOP_WEBHOOK_URL: must be a URL like https://bot.example.com/telegram"),
])
def test_a_webhook_url_telegram_would_refuse_is_one_line(
        ready: Path, runtime: str, url: str, message: str) -> None:
    """With Telegram's own Bot API the URL is checked before Telegram is called (the sandbox's
    refusal of a URL, on each runtime, is in tests/e2e/test_start.py)."""
    code, _, err = careloop("run", "--webhook", extra={
        "CARELOOP_BOT_TOKEN": "123456:never-used", "CARELOOP_RUNTIME": runtime,
        "CARELOOP_WEBHOOK_URL": url})
    assert (code, one_line(err)) == (2, message)


@pytest.mark.parametrize(("name", "value"), [
    ("CARELOOP_WEBHOOK_LISTEN", "127.0.0.1:²"), ("CARELOOP_WEBHOOK_LISTEN", "8080"),
    ("CARELOOP_API_LISTEN", "127.0.0.1:99999"), ("CARELOOP_API_LISTEN", "127.0.0.1:http"),
])
def test_a_listen_address_that_is_not_host_port(env: Path, name: str, value: str) -> None:  # noqa: F811
    code, _, err = careloop("report", extra={name: value})
    assert code == 2
    assert one_line(err).startswith(f"{name}: {value!r} must be HOST:PORT, like 127.0.0.1:80")


@pytest.mark.skipif(PG_URL is None, reason="needs CARELOOP_TEST_DATABASE_URL (PostgreSQL)")
@pytest.mark.parametrize(("change", "problem"), [
    ({"database": "careloop_no_such_database"},
     'database "careloop_no_such_database" does not exist'),
    ({"username": "careloop_no_such_role"}, 'role "careloop_no_such_role" does not exist'),
])
def test_a_postgresql_database_or_role_that_does_not_exist(
        env: Path, change: dict[str, str], problem: str) -> None:  # noqa: F811
    assert PG_URL is not None
    url = make_url(PG_URL).set(**change).render_as_string(hide_password=False)
    for argv in (["report"], ["db", "upgrade"]):
        code, _, err = careloop(*argv, extra={"CARELOOP_DATABASE_URL": url})
        assert code == 1
        assert one_line(err) == (f"cannot use the database: {problem}; check "
                                 "CARELOOP_DATABASE_URL")


def _campaigns(folder: Path) -> int:
    with sqlite3.connect(folder / "c.db") as db:
        return int(db.execute("select count(*) from campaign").fetchone()[0])


DEEP = "rules: " + "[" * 5000 + "]" * 5000 + "\n"


@pytest.mark.parametrize("argv", [["playbook", "check", "deep.yaml"],
                                  ["surveys", "check", "deep.yaml"],
                                  ["campaigns", "create", "deep.yaml"]])
def test_yaml_nested_thousands_deep_is_one_line(ready: Path, argv: list[str]) -> None:
    (ready / "deep.yaml").write_text(DEEP)
    code, _, err = careloop(*argv)
    assert code == 1
    assert one_line(err).startswith("deep.yaml:1: nested more than 32 levels deep")
    assert _campaigns(ready) == 0


def test_a_campaign_file_nested_within_the_limit_is_read(ready: Path) -> None:
    """The limit stops nothing careloop can use: the deepest field of a campaign is a few
    levels down."""
    (ready / "day.yaml").write_text(
        "name: Member day\nsegment: {tier: [gold]}\nvariants:\n"
        "  - {name: A, text: Hi, share: 50, button: {text: Go, url: 'https://example.com'}}\n"
        "  - {name: B, text: Hello, share: 50}\n")
    code, out, err = careloop("campaigns", "create", "day.yaml")
    assert (code, err) == (0, "")
    assert out.startswith("campaign 1 created as a draft")


# A lone surrogate written as an escape and bytes that are not UTF-8 each stop at their line
# (every other way is in tests/unit/test_yamlfile.py).
BAD_TEXT = [
    (CAMPAIGN.replace("20% off", "20% off \\ud800"), 4,
     "not valid Unicode: \\ud800 is half of a UTF-16 surrogate pair, not a character"),
    (CAMPAIGN.encode().replace(b"20%", b"20\xff%"), 4,
     "not UTF-8 text (byte 0xff); save the file as UTF-8"),
]


def _write(path: Path, text: str | bytes) -> None:
    path.write_bytes(text if isinstance(text, bytes) else text.encode())


@pytest.mark.parametrize(("text", "line", "problem"), BAD_TEXT)
def test_a_campaign_file_with_invalid_unicode_creates_nothing(
        ready: Path, text: str | bytes, line: int, problem: str) -> None:
    _write(ready / "day.yaml", text)
    code, out, err = careloop("campaigns", "create", "day.yaml")
    assert (code, out) == (1, "")
    assert one_line(err) == f"day.yaml:{line}: {problem}; nothing was created"
    assert _campaigns(ready) == 0


@pytest.mark.parametrize(("command", "text", "run"), [
    ("playbook", 'rules:\n  - name: thanks\n    on: "purchase\\ud800"\n', True),
    ("surveys", 'surveys:\n  - key: csat\n    question: "How was it? \\ud800"\n', False),
    ("playbook", b"rules:\n  - name: thanks\n    on: purchase\xc3\n", False),
    ("surveys", b"surveys:\n  - key: csat\n    question: How was it? \xed\xa0\x80\n", True),
])
def test_playbook_and_survey_files_with_invalid_unicode(
        ready: Path, command: str, text: str | bytes, run: bool) -> None:
    _write(ready / "mine.yaml", text)
    code, out, err = careloop(command, "check", "mine.yaml")
    assert (code, out) == (1, "")
    assert one_line(err).startswith("mine.yaml:3: not ")
    if run:  # the same file named by the setting stops `run` before Telegram is asked
        code, _, err = careloop("run", extra={f"CARELOOP_{command.upper()}": "mine.yaml",
                                              "CARELOOP_BOT_TOKEN": "123456:never-used",
                                              "CARELOOP_STAFF_CHAT_ID": "-1001"})
        assert code == 1
        assert one_line(err).startswith("mine.yaml:3: not ")


def test_an_escaped_surrogate_pair_is_the_character_it_encodes(ready: Path) -> None:
    """As JSON writes an emoji: two escapes that together make one character."""
    _write(ready / "day.yaml", CAMPAIGN.replace("20% off", "20% off \\ud83c\\udf81"))
    assert careloop("campaigns", "create", "day.yaml")[0] == 0
    with sqlite3.connect(ready / "c.db") as db:
        spec = db.execute("select spec from campaign").fetchone()[0]
    assert "🎁" in spec or "\\ud83c\\udf81" in spec  # stored as the character, JSON-escaped


def test_a_reader_that_stops_reading_ends_the_command_quietly(ready: Path) -> None:
    """`careloop report | head -2`: the reader is gone before careloop writes; careloop stops
    as other Unix tools do (status 141, 128 + SIGPIPE), with nothing on stderr."""
    for argv in (["report"], ["report", "--format", "json"], ["playbook", "check"]):
        proc = subprocess.Popen([sys.executable, "-m", "careloop.bot", *argv],  # noqa: S603
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=os.environ)
        assert proc.stdout is not None and proc.stderr is not None
        proc.stdout.close()  # as `head` exits
        err = proc.stderr.read().decode()
        assert proc.wait(timeout=120) == 141, err
        assert err == ""


def test_a_closed_pipe_to_a_shell_pipeline(ready: Path) -> None:
    script = (f"{sys.executable} -m careloop.bot report | head -c 0; "
              "echo \"status ${PIPESTATUS[0]}\"")
    bash = shutil.which("bash")
    assert bash is not None
    proc = subprocess.run([bash, "-c", script], capture_output=True, text=True,  # noqa: S603
                          timeout=120, env=os.environ)
    assert (proc.stdout, proc.stderr) == ("status 141\n", "")
