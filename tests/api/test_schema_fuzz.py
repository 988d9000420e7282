"""Schemathesis against the OpenAPI document: every operation, with generated requests
(valid and invalid), answered by the real API over a seeded database, and every answer
checked against the document (status, content type, body schema, no 5xx)."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import positive_data_acceptance

from careloop.bot.api.server import start_api
from careloop.bot.app import Storage
from careloop.bot.http_edge import Listener
from careloop.care.playbook.loader import load_playbook
from careloop.kernel.clock import ManualClock
from careloop.storage.engine import make_engine, make_session_factory
from careloop.storage.migrate import upgrade
from careloop.storage.uow import UnitOfWorkFactory
from tests.api.conftest import AUTH, api_settings
from tests.api.seed import seed
from tests.conftest import START

# Examples per operation: enough to reach every parameter and error path, a few seconds in all.
EXAMPLES = 15
# Not checked: that every request the document allows is accepted. The document states
# shapes; rules across fields or over the data (an event for a customer who does not
# exist, `since` after `until`) are answered 422 by design, with the field named.
# Everything else is: no 5xx, documented statuses, content types, headers and bodies, and
# requests the document forbids refused.


class ServedApi:
    """The API as `careloop run` serves it, on its own event loop in a thread, because
    schemathesis calls it synchronously."""

    def __init__(self, database: Path) -> None:
        self.loop = asyncio.new_event_loop()
        self.url = ""
        self._database = database
        self._started = threading.Event()
        self._stop: asyncio.Event | None = None
        self._thread = threading.Thread(target=self.loop.run_until_complete,
                                        args=(self._serve(),), daemon=True)

    async def _serve(self) -> None:
        engine = make_engine(f"sqlite+aiosqlite:///{self._database}")
        await upgrade(engine)
        storage = Storage(engine, UnitOfWorkFactory(make_session_factory(engine)))
        await seed(storage)
        # A generous rate: schemathesis is one client asking fast.
        server: Listener | None = await start_api(
            api_settings(api_rate_per_second=10_000, api_rate_burst=10_000), storage,
            ManualClock(START), load_playbook(None))
        assert server is not None
        self.url, self._stop = server.url, asyncio.Event()
        self._started.set()
        await self._stop.wait()
        await server.stop()
        await storage.close()

    def __enter__(self) -> ServedApi:
        self._thread.start()
        assert self._started.wait(30), "the API did not start"
        return self

    def __exit__(self, *exc: object) -> None:
        assert self._stop is not None
        self.loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(30)
        self.loop.close()


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServedApi]:
    with ServedApi(tmp_path_factory.mktemp("fuzz") / "careloop.db") as api:
        yield api


def test_every_operation_answers_as_its_document_says(served: ServedApi) -> None:
    schema = schemathesis.openapi.from_url(f"{served.url}/api/v1/openapi.json")
    operations = [result.ok() for result in schema.get_all_operations()]
    assert {"GET /api/v1/customers/{external_id}", "GET /api/v1/cases", "GET /api/v1/answers",
            "GET /api/v1/reports/summary", "POST /api/v1/events"} <= {o.label for o in operations}
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(max_examples=EXAMPLES, deadline=None, database=None,
                  suppress_health_check=list(HealthCheck))
        def check(case: schemathesis.Case) -> None:
            case.call_and_validate(headers=AUTH, excluded_checks=[positive_data_acceptance])

        check()
