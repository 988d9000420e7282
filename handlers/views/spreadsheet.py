"""Rows as a CSV text or an XLSX workbook, safe to open in a spreadsheet.

A cell whose text starts with = + - @ (or a tab or a carriage return, which some
spreadsheets skip before looking) would be read as a formula: a customer's comment
"=HYPERLINK(...)" must stay text. In CSV such a cell gets a leading apostrophe, as OWASP
advises; in XLSX it is stored as a text cell, which no spreadsheet evaluates. Numbers stay
numbers (a score of -2 is not a formula). Times are shown in the business's timezone:
ISO 8601 with the offset in CSV, the local date and time in XLSX (it has no timezones).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
XLSX_TIME = "yyyy-mm-dd hh:mm:ss"


def neutralised(text: str) -> str:
    return "'" + text if text.startswith(FORMULA_START) else text


def csv_cell(value: Any, zone: ZoneInfo) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return value.astimezone(zone).isoformat(timespec="seconds")
    if isinstance(value, int | float):
        return str(value)
    return neutralised(str(value))


def csv_text(columns: Sequence[str], rows: Iterable[Sequence[Any]], zone: ZoneInfo) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")  # RFC 4180, as spreadsheets expect
    writer.writerow(columns)
    for row in rows:
        writer.writerow([csv_cell(v, zone) for v in row])
    return out.getvalue()


def xlsx_bytes(sheet: str, columns: Sequence[str], rows: Iterable[Sequence[Any]],
               zone: ZoneInfo) -> bytes:
    # Imported here: only `careloop export --format xlsx` needs openpyxl.
    from openpyxl import Workbook
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

    book = Workbook(write_only=False)
    ws = book.active
    assert ws is not None
    ws.title = sheet
    ws.append(list(columns))
    for r, row in enumerate(rows, start=2):
        for c, value in enumerate(row, start=1):
            if isinstance(value, datetime):
                cell = ws.cell(r, c, value.astimezone(zone).replace(tzinfo=None))
                cell.number_format = XLSX_TIME
            elif isinstance(value, str):
                # Control characters have no place in the file format: dropped.
                cell = ws.cell(r, c, ILLEGAL_CHARACTERS_RE.sub("", value))
                # A text cell: openpyxl takes a text starting with = for a formula.
                cell.data_type = "s"
            else:
                ws.cell(r, c, value)
    ws.freeze_panes = "A2"
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
