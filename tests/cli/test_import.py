"""`careloop customers import` of a large file, as an operator runs it next to the bot: the
file goes in a chunk at a time, so the bot's own writes go on meanwhile; a progress line;
and a chunk that fails says which rows were imported. On SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

from sqlalchemy import func, select, text
from sqlmodel import col

from careloop.bot.app import Storage
from careloop.bot.cli.customers import CHUNK_ROWS
from careloop.storage.models import Customer
from tests.conftest import START

HEADER = "external_id,name,tier,language,timezone,birthday,tags\n"


def _write_csv(path: Path, rows: int) -> Path:
    with path.open("w", encoding="utf-8") as f:
        f.write(HEADER)
        for n in range(rows):
            f.write(f"C-{n},Customer {n},gold,en,Asia/Shanghai,1990-05-{n % 28 + 1:02d},vip\n")
    return path


async def _import(database_url: str, csv: Path) -> tuple[asyncio.subprocess.Process, int,
                                                          str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CARELOOP_")}
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "careloop.bot", "customers", "import", str(csv),
        env={**env, "CARELOOP_DATABASE_URL": database_url},
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await process.communicate()
    return process, int(process.returncode or 0), out.decode(), err.decode()


async def _imported(storage: Storage) -> int:
    async with storage.uow() as uow:
        return int(await uow.session.scalar(select(func.count()).select_from(Customer).where(
            col(Customer.external_id).like("C-%"))) or 0)


async def test_the_bot_writes_while_a_large_file_is_imported(
        storage: Storage, database_url: str, tmp_path: Path) -> None:
    rows = 20_000
    csv = _write_csv(tmp_path / "big.csv", rows)
    seen: list[int] = []  # how much of the import each of the bot's writes saw
    failures: list[BaseException] = []
    importing = asyncio.create_task(_import(database_url, csv))

    async def bot_writes() -> None:
        n = 0
        while not importing.done():
            n += 1
            try:
                # What the bot writes when someone opens it without a link.
                async with storage.uow() as uow:
                    uow.session.add(Customer(name=f"walk-in {n}", created_at=START))
                    await uow.commit()
                seen.append(await _imported(storage))
            except Exception as exc:  # noqa: BLE001 - each failure is what the test counts
                failures.append(exc)
            await asyncio.sleep(0.05)

    writer = asyncio.create_task(bot_writes())
    _, code, out, err = await importing
    await writer
    assert (code, out.splitlines()) == (0, [
        f"accepted {rows} rows: {rows} new and 0 updated customers", "rejected 0 rows"])
    assert err.splitlines() == ["imported 10000 of 20000 rows"]
    assert failures == []
    assert await _imported(storage) == rows
    # The import was committed a chunk at a time: the bot's writes went in between them.
    assert [n for n in seen if 0 < n < rows], seen


async def test_a_chunk_that_fails_says_which_rows_were_imported(
        storage: Storage, database_url: str, tmp_path: Path) -> None:
    csv = _write_csv(tmp_path / "c.csv", 3 * CHUNK_ROWS)
    bad = 2 * CHUNK_ROWS + 10  # the row the database refuses, in the third chunk
    async with storage.engine.begin() as conn:
        if storage.engine.dialect.name == "sqlite":
            await conn.execute(text(
                "CREATE TRIGGER refuse BEFORE INSERT ON customer"
                f" WHEN NEW.external_id = 'C-{bad}'"
                " BEGIN SELECT RAISE(ABORT, 'refused by a trigger'); END"))
        else:
            await conn.execute(text(
                "CREATE FUNCTION refuse() RETURNS trigger AS $$ BEGIN"
                f" IF NEW.external_id = 'C-{bad}' THEN"
                " RAISE EXCEPTION 'refused by a trigger'; END IF; RETURN NEW; END $$"
                " LANGUAGE plpgsql"))
            await conn.execute(text("CREATE TRIGGER refuse BEFORE INSERT ON customer"
                                    " FOR EACH ROW EXECUTE FUNCTION refuse()"))
    _, code, out, err = await _import(database_url, csv)
    first, last = 2 * CHUNK_ROWS + 2, 3 * CHUNK_ROWS + 1  # the failed chunk's lines
    assert (code, out) == (1, "")
    assert err.startswith(f"careloop: error: {csv}: the rows from line {first} to line "
                          f"{last} could not be imported (")
    assert "refused by a trigger" in err
    assert err.rstrip().endswith(f"); the {2 * CHUNK_ROWS} accepted rows before line "
                                 f"{first} were imported, nothing from line {first} on")
    assert len(err.splitlines()) == 1
    assert await _imported(storage) == 2 * CHUNK_ROWS
    async with storage.uow() as uow:
        assert await uow.customers.by_external_id(f"C-{2 * CHUNK_ROWS - 1}") is not None
        assert await uow.customers.by_external_id(f"C-{2 * CHUNK_ROWS}") is None
