"""Logging for `careloop`: CARELOOP_LOG_LEVEL, and CARELOOP_LOG_FORMAT=json for one JSON
object a line (time, level, logger, message, process; the traceback when there is one), for
a log collector to index. What careloop logs names ids and counts, never a customer's name or
words (the engine hides SQL parameters too)."""

from __future__ import annotations

import json
import logging
import os
import socket
from datetime import UTC, datetime

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


class JsonLines(logging.Formatter):
    """One JSON object per record."""

    def __init__(self) -> None:
        super().__init__()
        self._host = socket.gethostname()

    def format(self, record: logging.LogRecord) -> str:
        line = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "host": self._host,
            "pid": os.getpid(),
        }
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, ensure_ascii=False)


def configure(level: str, fmt: str) -> None:
    """The root logger's level and format (once per process, as basicConfig)."""
    handler = logging.StreamHandler()
    handler.setFormatter(JsonLines() if fmt == "json" else logging.Formatter(TEXT_FORMAT))
    logging.basicConfig(level=getattr(logging, level), handlers=[handler])
    logging.getLogger("alembic").setLevel(logging.WARNING)  # `db upgrade` reports itself
    # python-telegram-bot's HTTP client logs every request (a line per message sent).
    logging.getLogger("httpx").setLevel(logging.WARNING)
    # APScheduler's "Running job" and "executed successfully" for every run of every job:
    # four lines every two seconds, ~170,000 a day. Errors still come through.
    logging.getLogger("apscheduler.executors.default").setLevel(logging.WARNING)
