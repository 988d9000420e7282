"""`careloop run` settles the garbage collector once started (in a process of its own here:
the collector's settings are the whole process's)."""

from __future__ import annotations

import subprocess
import sys

SCRIPT = """
import gc
from careloop.bot import heap
before = gc.get_threshold()
heap.settle_after_start()
print(gc.get_freeze_count() > 0, gc.get_threshold()[0], gc.get_threshold()[1:] == before[1:])
"""


def test_start_ups_objects_are_frozen_and_the_young_generation_grows() -> None:
    out = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True,  # noqa: S603
                         check=True, timeout=60).stdout.split()
    assert out == ["True", "10000", "True"]
