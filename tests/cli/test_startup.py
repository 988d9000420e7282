"""What a newcomer meets first: `careloop report` in an empty folder, `careloop run` with
settings missing, and the sandbox next to careloop's own listeners."""

from __future__ import annotations

from pathlib import Path

import pytest

from careloop.bot.settings import load_settings
from careloop.sandbox.__main__ import parse_args
from tests.cli.test_cli import env, run  # noqa: F401 - env is a fixture


def test_report_in_an_empty_folder_creates_no_database(env: Path, capsys) -> None:  # noqa: F811
    code, out, err = run(capsys, "report")
    assert (code, out) == (1, "")
    assert err == (f"careloop: error: no database yet at {env / 'c.db'}: create it with "
                   "`careloop db upgrade` (or set CARELOOP_DATABASE_URL to the one you use)\n")
    assert list(env.iterdir()) == []


def test_run_names_every_missing_setting_at_once(env: Path, capsys,  # noqa: F811
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CARELOOP_LINK_SECRET")
    code, _, err = run(capsys, "run", "--webhook")
    assert code == 2
    assert err == ("careloop: error: CARELOOP_BOT_TOKEN, CARELOOP_LINK_SECRET and "
                   "CARELOOP_WEBHOOK_URL are required for this command\n")
    assert list(env.iterdir()) == []  # checked before the database is opened


def test_the_sandbox_listens_apart_from_careloop(env: Path) -> None:  # noqa: F811
    settings = load_settings()
    taken = {int(settings.api_listen.rsplit(":", 1)[1]),
             int(settings.webhook_listen.rsplit(":", 1)[1])}
    assert parse_args([]).port not in taken
