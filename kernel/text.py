"""Text from outside (HTTP bodies, CSV files, Telegram updates) that is not valid Unicode.

JSON may spell a lone UTF-16 surrogate ("\\ud800"), which Python decodes to a str that no
database can store: SQLite's driver fails on it and PostgreSQL's prints the value in its
error. Such text is refused, or repaired, where it comes in, never handed on."""

from __future__ import annotations

import re
from collections.abc import Iterator

_SURROGATE = re.compile("[\ud800-\udfff]")
REPLACEMENT = "\ufffd"

Path = tuple[int | str, ...]


def is_valid(text: str) -> bool:
    """Whether `text` is valid Unicode (encodable as UTF-8: no lone surrogate)."""
    return _SURROGATE.search(text) is None


def repaired(text: str) -> str:
    """`text` with each lone surrogate replaced by U+FFFD, as a UTF-8 decoder would."""
    return _SURROGATE.sub(REPLACEMENT, text)


def first_invalid(value: object, path: Path = ()) -> Path | None:
    """Where the first string that is not valid Unicode sits in a decoded JSON value (for a
    key: the object holding it); None when there is none."""
    for where, text in _strings(value, path):
        if not is_valid(text):
            return where
    return None


def _strings(value: object, path: Path) -> Iterator[tuple[Path, str]]:
    # Iterative, in document order: a body nested a thousand deep must not exhaust the
    # stack here. A key is pushed as a str of its own, checked before its value.
    stack: list[tuple[Path, object]] = [(path, value)]
    while stack:
        where, item = stack.pop()
        if isinstance(item, str):
            yield where, item
        elif isinstance(item, dict):
            for key, inner in reversed(list(item.items())):
                stack.append(((*where, str(key)), inner))
                stack.append((where, str(key)))  # a bad key: its object is at fault
        elif isinstance(item, list):
            stack.extend(((*where, i), inner) for i, inner in reversed(list(enumerate(item))))
