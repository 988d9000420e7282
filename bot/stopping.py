"""SIGTERM before `careloop run` has started: the process stops with a line that says so,
rather than silently with the signal's status."""

from __future__ import annotations

import signal
from types import FrameType

# A shell's status for a program ended by SIGTERM, kept so that service managers read it
# as they would have.
TERMINATED = 128 + signal.SIGTERM


class StartupTerminated(BaseException):  # a signal, like KeyboardInterrupt: no except Exception
    """SIGTERM arrived before the bot was running; what had been opened is closed."""


def terminate_startup(signum: int, frame: FrameType | None) -> None:
    """The SIGTERM handler from the command's first line until the event loop takes over."""
    raise StartupTerminated
