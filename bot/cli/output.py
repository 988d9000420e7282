"""Files a command writes (an export, a chart): whole or not at all."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from careloop.bot.cli.console import CliError


def write_atomically(path: Path, data: bytes, option: str = "--output") -> None:
    """The whole file or none: written beside it, then moved into place. Readable by its
    owner only (mkstemp's mode): an export holds personal data. `option` names the
    command-line option in an error."""
    folder = path.parent if str(path.parent) else Path(".")
    try:
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=f".{path.name}.", suffix=".part")
    except OSError as exc:
        raise CliError(f"{option}: cannot write in {folder}: {exc.strerror}") from None
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
        os.replace(tmp, path)
    except OSError as exc:
        Path(tmp).unlink(missing_ok=True)
        raise CliError(f"{option}: cannot write {path}: {exc.strerror}") from None
