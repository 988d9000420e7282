"""The weekly KPI digest: on a clock moved past Monday morning it reaches the staff group
with its chart as a photo, names what drives a red figure, and a restart never sends the
same week twice."""

from __future__ import annotations

import io
import struct
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from PIL import Image
from sqlmodel import select

from careloop.handlers.views.chart import SIZE
from careloop.sandbox import SandboxMessage
from careloop.sandbox.stage import Stage
from careloop.storage.models import WeeklyDigest
from tests.e2e.conftest import running, with_case

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@pytest.fixture
async def stage(database_url: str, tmp_path: Path) -> AsyncIterator[Stage]:
    async with running(database_url, tmp_path, digest_enabled=True, digest_at="mon 09:00",
                       digest_interval_seconds=0.1) as s:
        yield s


def png_size(data: bytes) -> tuple[int, int]:
    """Width and height from the PNG's header chunk (IHDR), after checking the signature."""
    assert data[:8] == PNG_SIGNATURE
    assert data[12:16] == b"IHDR"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def photos(stage: Stage) -> list[SandboxMessage]:
    return [m for m in stage.sandbox.bot_messages(stage.staff_chat) if m.photo]


async def test_digest_arrives_on_monday_with_its_chart_once(stage: Stage) -> None:
    # Friday 20 November: the week before this one had nothing in it, so nothing is sent
    # for it; a case opens on Saturday and nobody answers it.
    await with_case(stage, "C1")
    await stage.quiet()
    assert photos(stage) == []
    stage.advance(days=2, minutes=30)  # Monday 23 November, 09:31

    digest = await stage.bot_says(stage.staff_chat, "Weekly figures, week of")
    text = digest.content or ""
    assert "Follow-up coverage: 100.0% → last week —" in text
    assert "🔴 SLA compliance: 0.0%" in text
    assert "↳ late: #1" in text  # the overdue case drives the red SLA line
    assert "🔴 CSAT: 0.0%" in text
    chart = await stage.wait(lambda: next(iter(photos(stage)), None), "the digest's chart")
    assert "Last 12 weeks" in (chart.caption or "")
    assert chart.photo is not None
    stored = stage.sandbox.world.files[chart.photo[-1]["file_id"]]
    assert stored.data is not None
    assert png_size(stored.data) == SIZE
    with Image.open(io.BytesIO(stored.data)) as image:
        image.verify()  # every chunk read and its checksum checked: a whole, valid PNG

    # A restart, and the scheduler looking again and again: the week is settled.
    await stage.stop_bot()
    await stage.start_bot()
    stage.advance(hours=2)
    assert stage.running is not None
    assert await stage.running.app.digest.tick() == 0  # as the scheduler's next look
    await stage.quiet()
    assert len(photos(stage)) == 1
    async with stage.storage.uow() as uow:
        weeks = [r.week for r in (await uow.session.exec(select(WeeklyDigest))).all()]
    assert sorted(weeks) == ["2026-W46", "2026-W47"]  # the empty week settled, then this
