"""The garbage collector in careloop's own long-running process (`careloop run`).

What start-up builds lives as long as the process: the frameworks' models and schemas, the
catalogs, SQLAlchemy's mappers, the app. With CPython's default thresholds the collector
walks all of it again and again: during a paid broadcast (1000 messages a second, each
leaving futures, requests and rows behind) it took 18% of the sender's CPU
(bench/delivery.py, its garbage collection share). So once start-up is done its objects
are frozen out of the collector's walks, and the youngest generation is let grow to ten
thousand objects before a collection: what a message leaves behind is mostly freed by
reference counting anyway, and the cycles among it wait a little longer. Never called when
careloop is embedded: a host's process keeps its own settings.
"""

from __future__ import annotations

import gc

YOUNG_OBJECTS = 10_000  # CPython's default is 700


def settle_after_start() -> None:
    """Freeze what start-up made (its garbage collected first) and collect the young
    generation less often."""
    gc.collect()
    gc.freeze()
    _, older, oldest = gc.get_threshold()
    gc.set_threshold(YOUNG_OBJECTS, older, oldest)
