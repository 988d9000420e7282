"""`careloop campaigns ...` as an operator runs it: one clear line for bad input, a non-zero
exit, nothing half written."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from tests.cli.test_cli import HEADER, env, run  # noqa: F401 - env is a fixture

CAMPAIGN = """
name: Member day
segment: {tier: [gold]}
message:
  text: "Hello {first_name}! <b>20% off</b> today."
  button: {text: Get it, url: "https://example.com/x", tracked: true}
schedule: {monthly: {day: 18, at: "10:00"}}
"""


@pytest.fixture
def ready(env: Path, capsys: pytest.CaptureFixture[str]) -> Path:  # noqa: F811
    assert run(capsys, "db", "upgrade")[0] == 0
    (env / "c.csv").write_text(HEADER + 'C1,"Ann <i>Lee</i>",gold,ru,Asia/Shanghai,,\n'
                               "C2,Bob,standard,en,,,\n", encoding="utf-8")
    assert run(capsys, "customers", "import", "c.csv")[0] == 0
    return env


def test_create_preview_dry_run_start_pause_stats(ready: Path,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    (ready / "day.yaml").write_text(CAMPAIGN, encoding="utf-8")
    code, out, err = run(capsys, "campaigns", "create", "day.yaml")
    assert (code, err) == (0, "")
    assert out.splitlines() == [
        "campaign 1 created as a draft",
        "#1 Member day — draft — monthly on day 18 at 10:00\u202fAM, each customer's local "
        "time — segment: tier: gold",
        "Would reach 0 customers.",
        "Excluded: not linked to a Telegram chat 1",
    ]
    code, out, _ = run(capsys, "campaigns", "preview", "1", "--customer", "C1")
    assert out.splitlines() == [
        "variant A, language ru",
        "Hello Ann! <b>20% off</b> today.",
        "[Get it]",
        "[Отписаться от предложений]",
        "note: this customer would not get it now: not linked to a Telegram chat",
    ]
    assert run(capsys, "campaigns", "dry-run", "1")[1].splitlines()[1] == (
        "Would reach 0 customers.")
    code, out, _ = run(capsys, "campaigns", "start", "1")
    assert code == 0 and out.startswith("campaign 1 started: 0 customers would get it now")
    assert run(capsys, "campaigns", "pause", "1")[1] == "campaign 1 paused; 0 message(s) held\n"
    code, _, err = run(capsys, "campaigns", "start", "1")
    assert (code, err) == (1, "careloop: error: campaign 1 is paused; only a draft starts\n")
    code, out, _ = run(capsys, "campaigns", "stats", "1", "--format", "json")
    stats = json.loads(out)
    assert (stats["state"], stats["runs"], stats["total"]["sent"]) == ("paused", 0, 0)
    assert run(capsys, "campaigns", "list")[1].startswith("#1 Member day — paused")
    assert run(capsys, "campaigns", "cancel", "1")[0] == 0
    code, _, err = run(capsys, "campaigns", "cancel", "1")
    assert (code, err) == (1, "careloop: error: campaign 1 is already cancelled\n")


VIP_DAY = """
name: VIP day
segment: {tier: [vip]}
message:
  text: {en: "VIP day, {first_name}!", ru: "День VIP, {first_name}!"}
  button: {text: {en: Get it, ru: Получить}, url: "https://example.com/x", tracked: true}
"""


def test_a_preview_applies_the_segment_and_the_send_s_language(
        ready: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with (ready / "c.csv").open("a", encoding="utf-8") as fh:
        fh.write("C3,Li Wei,vip,zh_Hans,Asia/Shanghai,,\nC4,Olga,vip,ru,,,\n")
    assert run(capsys, "customers", "import", "c.csv")[0] == 0
    (ready / "vip.yaml").write_text(VIP_DAY, encoding="utf-8")
    code, _, err = run(capsys, "campaigns", "create", "vip.yaml")
    # Li reads Simplified Chinese, which the campaign is not written in.
    assert (code, err) == (0, (
        "careloop: warning: 1 customer(s) in the segment read zh_Hans: the campaign has no "
        "text in it, so they would get the en text; add a `zh_Hans:` text to reach them in "
        "their language\n"))

    # Bob is a standard member: a VIP offer is not his to see.
    code, out, _ = run(capsys, "campaigns", "preview", "1", "--customer", "C2")
    assert (code, out) == (0, "customer C2 is not in campaign 1's segment (tier: vip): they "
                              "would not get it\n")
    # Li gets the English text, and then English buttons too: one message, one language.
    code, out, _ = run(capsys, "campaigns", "preview", "1", "--customer", "C3")
    assert out.splitlines()[:5] == [
        "variant A, language en",
        "note: this customer reads zh_Hans, and this variant has no text in it: they would "
        "get the en text",
        "VIP day, Li!",
        "[Get it]",
        "[Unsubscribe from offers]",
    ]
    code, out, _ = run(capsys, "campaigns", "preview", "1", "--customer", "C4")
    assert out.splitlines()[:4] == [
        "variant A, language ru", "День VIP, Olga!", "[Получить]",
        "[Отписаться от предложений]"]


def test_a_start_to_more_than_the_threshold_needs_yes(
        ready: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    # Both customers linked their chats and agreed to offers (as /start and /settings do).
    with sqlite3.connect(ready / "c.db") as db:
        db.execute("UPDATE customer SET chat_id = id + 100, service_consent = 1, "
                   "marketing_consent = 1")
    (ready / "all.yaml").write_text(
        "name: All\nsegment: all\nmessage: {text: Hi}\n", encoding="utf-8")
    run(capsys, "campaigns", "create", "all.yaml")
    monkeypatch.setenv("CARELOOP_CAMPAIGN_CONFIRM_ABOVE", "1")
    code, out, err = run(capsys, "campaigns", "start", "1")
    assert (code, out, err) == (1, "", (
        "careloop: error: campaign 1 would reach 2 customers, more than "
        "CARELOOP_CAMPAIGN_CONFIRM_ABOVE (1); run `careloop campaigns start 1 --yes` to "
        "start it\n"))
    assert run(capsys, "campaigns", "list")[1].startswith("#1 All — draft")
    code, out, _ = run(capsys, "campaigns", "start", "1", "--yes")
    assert code == 0 and out.startswith("campaign 1 started: 2 customers would get it now")


@pytest.mark.parametrize(("text", "error"), [
    ("name: x\nsegment: {tier: [gold], birthday_month: 13}\nmessage: {text: hi}\n",
     "c.yaml:2: segment.birthday_month: '13' must be a month number 1-12 or `current`"),
    ('name: x\nsegment: all\nmessage: {text: "hi {first_name.__class__}"}\n',
     "c.yaml:3: message.text: unknown placeholder {first_name.__class__}; use {first_name}, "
     "{name}, {tier}, {start_link}"),
    ("name: x\nsegment: all\nvariants:\n  - {name: A, share: 60, text: hi}\n"
     "  - {name: B, share: 30, text: ho}\n",
     "c.yaml:4: variants: the variants' shares add up to 90%, not 100%"),
    ('name: x\nsegment: all\nmessage: {text: "<b>x"}\n',
     "c.yaml:3: message.text: <b> is never closed"),
    ('name: x\nsegment: all\nmessage: {text: "<script>x</script>"}\n',
     "c.yaml:3: message.text: <script> is not allowed in Telegram's HTML"),
    ("name: x\nsegment: all\nmessage: {text: hi}\nschedule: {monthly: {day: 32, at: '10:00'}}\n",
     "c.yaml:4: schedule.monthly.day: '32' must be a day of the month, 1 to 31"),
    ("name: x\nsegment: {tir: gold}\nmessage: {text: hi}\n",
     "c.yaml:2: segment.tir: unknown field; did you mean tier? expected one of tier, tags, "
     "language, joined_within_days, purchased_within_days, birthday_month, community, "
     "community_joined_within_days, rfm"),
    ("name: x\nsegment: all\n", "c.yaml:1: needs a message or variants"),
    ("name: [x\n", "c.yaml:2: not valid YAML: expected ',' or ']', but got '<stream end>'"),
    ("name: x\ntarget: community\nsegment: all\nmessage: {text: hi}\n",
     "c.yaml:3: segment: a community post goes to the group: it has no segment"),
    ('name: x\ntarget: community\nmessage: {text: "Hi {first_name}"}\n',
     "c.yaml:3: message: a community post has no one customer: leave out {first_name}, "
     "{name} and {tier}"),
    ("name: x\nsegment: all\nmessage: {text: hi}\npin: true\n",
     "c.yaml:4: pin: only a post in the community group is pinned (target: community)"),
    ('name: x\nsegment: all\nmessage: {text: hi, photo: "ftp://x"}\n',
     "c.yaml:3: message.photo: must be an https:// link to an image or a Telegram file id"),
])
def test_a_bad_campaign_file_is_one_line_and_creates_nothing(
        ready: Path, capsys: pytest.CaptureFixture[str], text: str, error: str) -> None:
    (ready / "c.yaml").write_text(text, encoding="utf-8")
    code, out, err = run(capsys, "campaigns", "create", "c.yaml")
    assert (code, out, err) == (1, "", f"careloop: error: {error}; nothing was created\n")
    assert run(capsys, "campaigns", "list")[1].startswith("no campaigns yet")


def test_unknown_campaign_and_customer(ready: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(capsys, "campaigns", "stats", "7")[2] == (
        "careloop: error: there is no campaign 7\n")
    (ready / "all.yaml").write_text("name: All\nsegment: all\nmessage: {text: Hi}\n")
    run(capsys, "campaigns", "create", "all.yaml")
    assert run(capsys, "campaigns", "preview", "1", "--customer", "NOPE")[2] == (
        "careloop: error: no customer with external id 'NOPE'\n")
    assert run(capsys, "campaigns", "test", "1")[2] == (
        "careloop: error: --to is needed: this campaign was created from a file\n")
    assert run(capsys, "campaigns", "test", "1", "--to", "5")[2] == (
        "careloop: error: 5 is not a registered marketer or admin "
        "(careloop staff add ID --role marketer)\n")


def test_the_campaign_s_own_link(ready: Path, capsys: pytest.CaptureFixture[str],
                                 monkeypatch: pytest.MonkeyPatch) -> None:
    (ready / "link.yaml").write_text(
        'name: Link\nsegment: all\nmessage: {text: \'<a href="{start_link}">Ask us</a>\'}\n',
        encoding="utf-8")
    assert run(capsys, "campaigns", "create", "link.yaml")[0] == 0
    code, out, _ = run(capsys, "campaigns", "preview", "1", "--customer", "C1")
    assert out.splitlines()[1] == '<a href="https://t.me/shop_bot?start=m1">Ask us</a>'
    # Without the bot's username there is no link to put in: it does not start.
    monkeypatch.delenv("CARELOOP_BOT_USERNAME")
    code, _, err = run(capsys, "campaigns", "start", "1")
    assert (code, err) == (1, "careloop: error: its text has {start_link}, which needs "
                              "CARELOOP_BOT_USERNAME (the bot's @username, without the @)\n")
    assert run(capsys, "campaigns", "test", "1", "--to", "5")[0] == 1
    assert "— draft —" in run(capsys, "campaigns", "list")[1]


def test_a_test_send_to_a_marketer_and_a_resume(ready: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    (ready / "day.yaml").write_text(CAMPAIGN, encoding="utf-8")
    run(capsys, "campaigns", "create", "day.yaml")
    assert run(capsys, "staff", "add", "777", "--role", "marketer", "--name", "Mia Fox")[0] == 0
    code, out, err = run(capsys, "campaigns", "test", "1", "--to", "777")
    assert (code, err) == (0, "")
    assert out.startswith("1 test message(s) queued for 777; the running bot sends them")
    # Queued for the running bot's sender, in the marketer's name and with inert buttons.
    with sqlite3.connect(ready / "c.db") as db:
        rows = db.execute("SELECT chat_id, payload, state FROM outbound_message").fetchall()
    [(chat_id, payload, state)] = rows
    text = json.loads(payload)["text"]
    assert (chat_id, state) == (777, "pending")
    assert "Hello Mia! <b>20% off</b> today." in text
    assert "https://example.com/x" not in payload  # the tracked button is not live in a test
    assert "— draft —" in run(capsys, "campaigns", "list")[1]  # a test starts nothing

    assert run(capsys, "campaigns", "start", "1")[0] == 0
    assert run(capsys, "campaigns", "pause", "1")[0] == 0
    code, out, err = run(capsys, "campaigns", "resume", "1")
    assert (code, out, err) == (0, "campaign 1 resumed; 0 message(s) released\n", "")
    assert "— active —" in run(capsys, "campaigns", "list")[1]
    code, _, err = run(capsys, "campaigns", "resume", "1")
    assert (code, err) == (
        1, "careloop: error: campaign 1 is active; only a paused campaign resumes\n")
