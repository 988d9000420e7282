"""Whole numbers as people type them (a command's argument, a link, a file), read strictly."""

from __future__ import annotations

# 18 decimal digits always fit a signed 64-bit database column.
ID_DIGITS = 18


def whole_number(text: str, max_digits: int = ID_DIGITS) -> int | None:
    """The number `text` writes in the ASCII digits 0-9, or None for anything else.

    `str.isdigit()` is no test for `int()`: it accepts "²" and "①", which `int()` refuses
    with a ValueError, and `int()` reads the digits of other scripts ("٣" is 3) and spaces
    around them. `max_digits` keeps the value within what the database stores."""
    if not 0 < len(text) <= max_digits or not text.isascii() or not text.isdigit():
        return None
    return int(text)
