"""`careloop playground` in headless Chromium, walked as a person would: a customer opens
their personal link, agrees, gets a survey a few simulated days later, gives a low score and
says why; an agent claims the case in the staff group and answers in its topic, then
resolves it; the customer reads the answer and confirms.

Chromium is Debian's (`.ci/run` installs it) and Playwright drives it; the test fails when
either is missing, unless CARELOOP_SKIP_BROWSER_TESTS is set. CARELOOP_PLAYGROUND_SCREENSHOT
names a file to keep the closing screenshot in (the README's is docs/playground.png)."""

from __future__ import annotations

import os
import re
import shutil
import socket
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest

from careloop.kernel.i18n import Catalogs
from careloop.sandbox.playground.serve import Playground

CHROMIUM = os.environ.get("CARELOOP_CHROMIUM", "/usr/bin/chromium")
EXECUTABLE = CHROMIUM if os.path.isfile(CHROMIUM) else shutil.which("chromium")
SKIP = bool(os.environ.get("CARELOOP_SKIP_BROWSER_TESTS"))
# How long one step may take to show on the page: seconds on a quiet machine, but the suite
# shares two cores with everything else.
STEP_MS = 30_000

pytestmark = [
    pytest.mark.one_runtime,
    pytest.mark.skipif(SKIP, reason="CARELOOP_SKIP_BROWSER_TESTS is set"),
]


@pytest.fixture
async def playground(tmp_path: Path) -> AsyncIterator[Playground]:
    running = await Playground.open(tmp_path, port=0)
    try:
        yield running
    finally:
        await running.close()
    rejected = [(r.method, r.description) for r in running.scene.stage.sandbox.rejected()]
    assert rejected == [], f"requests that failed the Bot API spec check: {rejected}"


async def test_a_customer_and_an_agent_play_the_loop_in_the_browser(
        playground: Playground, tmp_path: Path) -> None:
    assert EXECUTABLE, (f"no Chromium at {CHROMIUM}: install Debian's chromium (.ci/run "
                        "does), or set CARELOOP_SKIP_BROWSER_TESTS=1")
    from playwright.async_api import async_playwright, expect

    expect.set_options(timeout=STEP_MS)
    async with async_playwright() as driver:
        browser = await driver.chromium.launch(executable_path=EXECUTABLE,
                                               args=["--no-sandbox"])
        try:
            page = await browser.new_page(viewport={"width": 1280, "height": 800})
            errors: list[str] = []
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            await page.goto(playground.url)
            chat = page.locator("#messages")
            button = lambda name: chat.get_by_role("button", name=name)  # noqa: E731

            # Olga opens the link the shop sent her and agrees to be contacted.
            await page.select_option("#who", label="Olga Ivanova — customer C-1003")
            await page.click("#open-link")
            await button("✅ Yes, keep in touch").click()
            await expect(page.locator("#open-link")).to_have_count(0)

            # Her purchase was reported at the start: three days on, the CSAT survey.
            for _ in range(3):
                await page.click("#plus-day")
            await expect(chat).to_contain_text("How satisfied")
            await button("😠 1").click()
            await button("Product quality").click()
            await page.fill("#text", "The kettle's lid is cracked.")
            await page.click("#send")
            await expect(chat).to_contain_text("The kettle's lid is cracked.")

            # Max, an agent, sees the case in the staff group, claims it, answers in its
            # topic and resolves it.
            await page.select_option("#who", label="Max — agent")
            await page.click(".chat-item >> text=Care team")
            await expect(chat).to_contain_text("Case #1")
            await button("🙋 Claim").click()
            await expect(button("🙋 Claim")).to_have_count(0)
            await page.locator("#topics button").last.click()
            await page.fill("#text", "So sorry, Olga! A new lid is on its way today.")
            await page.press("#text", "Enter")
            await expect(chat).to_contain_text("A new lid is on its way")
            await button("✅ Resolve").click()

            # Olga reads the answer and confirms the case is resolved.
            await page.select_option("#who", label="Olga Ivanova — customer C-1003")
            await expect(chat).to_contain_text("So sorry, Olga! A new lid is on its way today.")
            await button("Yes, resolved").click()
            await page.select_option("#who", label="Max — agent")
            await page.click(".chat-item >> text=Care team")
            await page.click("#topics button[data-topic='all']")
            await expect(chat).to_contain_text("the customer confirmed it is resolved")

            # A marketer's preview of the sample campaign, as each customer would get it.
            await page.click("#preview")
            await expect(page.locator("#previews .preview")).to_have_count(3)
            await expect(page.locator("#previews")).to_contain_text("20% off")

            await page.select_option("#who", label="Olga Ivanova — customer C-1003")
            await expect(button("Yes, resolved")).to_have_count(0)
            # The toast of the last press is not part of the picture.
            await page.evaluate("document.getElementById('toast').hidden = true")
            shot = tmp_path / "playground.png"
            await page.screenshot(path=str(shot))
            assert shot.stat().st_size > 10_000
            keep = os.environ.get("CARELOOP_PLAYGROUND_SCREENSHOT")
            if keep:
                shutil.copyfile(shot, keep)
            assert errors == [], f"the page raised: {errors}"
        finally:
            await browser.close()


def test_the_page_has_every_word_from_the_catalog() -> None:
    """No word is written into the page itself: index.html has no text between its tags,
    and the script takes its words from /api/texts."""
    static = Path(__file__).resolve().parents[2] / "sandbox" / "playground" / "static"
    html = (static / "index.html").read_text()
    body = html[html.index("<body>"):]
    words = [w for w in re.findall(r">([^<]+)<", body) if w.strip()]
    assert words == []


async def test_the_page_api_on_a_plain_group_and_the_real_clock(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """What the page asks of the server, without a browser: the world on a long poll that
    answers 204 when nothing changed, a real clock that cannot be moved, refusals as one
    translated line, and nothing outside static/ served."""
    from careloop.sandbox.playground import web

    monkeypatch.setattr(web, "POLL_SECONDS", 0.3)
    running = await Playground.open(tmp_path, port=0, forum=False, simulated=False,
                                    language="ru")
    try:
        async with aiohttp.ClientSession(running.url) as http:
            async with http.get("/api/state") as answer:
                first = await answer.json()
            world = first["world"]
            staff = next(c for c in world["chats"] if c["id"] == world["staff_chat"])
            care_team = Catalogs().translator("ru").gettext("Care team")
            assert care_team != "Care team"
            assert (staff["forum"], staff["title"]) == (False, care_team)
            assert world["clock"]["simulated"] is False
            async with http.get("/api/state", params={"seen": first["digest"]}) as answer:
                assert answer.status == 204

            ru = Catalogs().translator("ru").gettext
            async with http.post("/api/clock", json={"hours": 24}) as answer:
                assert answer.status == 400
                assert (await answer.json())["error"] == ru(
                    "That did not work: {reason}").format(
                    reason=ru("The clock is real: it cannot be moved."))
            tom = next(p for p in world["people"] if p["external_id"] == "C-1002")
            async with http.post("/api/send", json={"as": tom["id"],
                                                    "chat": world["staff_chat"],
                                                    "text": "hello"}) as answer:
                assert answer.status == 400  # a customer has no way into the staff group
            async with http.post("/api/send", json={"as": "x"}) as answer:
                assert answer.status == 400
            async with http.post("/api/link", data=f'{{"as": {tom["id"]}}}',
                                 headers={"Content-Type": "text/plain"}) as answer:
                assert answer.status == 415  # what another site's form could send
            async with http.post("/api/link", json={"as": tom["id"]}) as answer:
                assert (await answer.json()) == {"ok": True}
            await running.scene.stage.bot_offers(tom["id"], "✅")  # the consent question
            async with http.get("/static/..%2Fscene.py") as answer:
                assert answer.status == 404
            async with http.get("/api/texts") as answer:
                assert (await answer.json())["send"] == "Отправить"
    finally:
        await running.close()


async def test_a_taken_port_is_one_line_and_leaves_nothing_running(capsys) -> None:
    from careloop.sandbox.playground.serve import run_playground

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        assert await run_playground(port=port) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith(f"careloop: error: --port {port}: cannot listen on 127.0.0.1:{port}")
    assert "\n" not in err
    assert await run_playground(locale="xx") == 2
