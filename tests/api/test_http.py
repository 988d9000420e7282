"""What every endpoint shares: bearer auth, JSON errors, body limits, health, the document."""

from __future__ import annotations

import logging
from typing import Any

import aiohttp
import pytest
from jsonschema import Draft202012Validator
from openapi_spec_validator import validate as validate_openapi

from careloop.bot.api.app import MAX_BODY_BYTES
from careloop.bot.api.server import start_api
from careloop.bot.app import build_storage
from careloop.care.playbook.loader import load_playbook
from careloop.kernel.clock import ManualClock
from tests.api.conftest import TOKEN, Api, api_settings

EVENT = {"id": "e-1", "type": "purchase", "customer": "C-1"}


@pytest.mark.parametrize("authorization", [
    None, f"Bearer {TOKEN}x", f"Bearer {TOKEN[:-1]}", f"Basic {TOKEN}", TOKEN, "Bearer ",
    "Bearer tökén", f"bearer  {TOKEN} extra",
], ids=["none", "longer", "shorter", "basic", "no-scheme", "empty", "non-ascii", "extra"])
@pytest.mark.parametrize("path", ["/api/v1/events", "/api/v1/customers", "/api/v1/nowhere"])
async def test_without_the_right_token_401_and_nothing_written(
        api: Api, path: str, authorization: str | None) -> None:
    headers = {"Authorization": authorization} if authorization is not None else {}
    status, body, response_headers = await api.call(
        "POST", path, {"external_id": "C-1", "name": "Ann"}, auth=False, headers=headers)
    assert status == 401
    assert body == {"errors": [{"field": None, "message": "a valid bearer token is required"}]}
    assert response_headers["WWW-Authenticate"].startswith("Bearer")
    assert await api.rows() == (0, 0, 0)


async def test_the_scheme_is_case_insensitive(api: Api) -> None:
    status, _, _ = await api.call("POST", "/api/v1/customers", {"external_id": "C-1",
                                  "name": "Ann"}, auth=False,
                                  headers={"Authorization": f"bearer {TOKEN}"})
    assert status == 200


async def test_a_body_over_the_limit_is_413(api: Api) -> None:
    big = b'{"id": "e-1", "type": "purchase", "customer": "' + b"x" * MAX_BODY_BYTES + b'"}'
    status, body = await api.post("/api/v1/events", data=big,
                                  headers={"Content-Type": "application/json"})
    assert status == 413
    assert body == {"errors": [{"field": None,
                                "message": f"the body is larger than {MAX_BODY_BYTES} bytes"}]}


async def test_wrong_method_and_path_are_json(api: Api) -> None:
    status, body, headers = await api.call("GET", "/api/v1/events")
    assert (status, headers["Allow"]) == (405, "POST")
    assert body == {"errors": [{"field": None, "message": "GET is not allowed here; use POST"}]}
    status, body, _ = await api.call("GET", "/api/v2/events")
    assert (status, body) == (404, {"errors": [
        {"field": None, "message": "no such endpoint: /api/v2/events"}]})
    status, _, _ = await api.call("GET", "/", auth=False)
    assert status == 404


async def test_health_is_public_and_asks_the_database(api: Api) -> None:
    status, body, _ = await api.call("GET", "/healthz", auth=False)
    assert (status, body) == (200, {"status": "ok"})


async def test_health_is_503_when_the_database_does_not_answer(
        clock: ManualClock, caplog: pytest.LogCaptureFixture) -> None:
    # A server that refuses connections. (A SQLite file that cannot be opened would do too,
    # but aiosqlite finishes a failed connect on its own thread after the test has ended.)
    settings = api_settings(database_url="postgresql+asyncpg://nobody@127.0.0.1:1/none")
    storage = build_storage(settings)
    server = await start_api(settings, storage, clock, load_playbook(None))
    assert server is not None
    try:
        async with aiohttp.ClientSession() as http, http.get(server.url + "/healthz") as r:
            assert (r.status, await r.json()) == (503, {
                "status": "unavailable",
                "reason": "the database is unavailable (ConnectionRefusedError)"})
    finally:
        await server.stop()
        await storage.close()
    assert "health check: the database is unavailable (ConnectionRefusedError)" in caplog.text


def _validator(document: dict[str, Any], schema: dict[str, Any]) -> Draft202012Validator:
    # The document's components travel with the schema so that its $refs resolve.
    return Draft202012Validator({**schema, "components": document["components"]})


async def test_the_openapi_document_is_valid_and_describes_what_the_api_answers(
        api: Api) -> None:
    status, document, _ = await api.call("GET", "/api/v1/openapi.json", auth=False)
    assert status == 200
    validate_openapi(document)
    assert document["openapi"].startswith("3.1")
    assert set(document["paths"]) == {
        "/api/v1/events", "/api/v1/customers", "/healthz", "/api/v1/openapi.json",
        "/api/v1/customers/{external_id}", "/api/v1/cases", "/api/v1/answers",
        "/api/v1/reports/summary"}
    assert document["components"]["securitySchemes"]["bearer"] == {
        "type": "http", "scheme": "bearer", "description": "The value of CARELOOP_API_TOKEN."}
    events = document["paths"]["/api/v1/events"]["post"]
    assert events["security"] == [{"bearer": []}]
    assert {"200", "201", "401", "408", "409", "413", "415", "422", "429"} <= set(
        events["responses"])
    assert "Retry-After" in document["components"]["responses"]["TooMany"]["headers"]
    assert set(document["components"]["schemas"]["EventIn"]["required"]) == {
        "id", "type", "customer"}

    def schema_of(path: str, status: str) -> dict[str, Any]:
        response = document["paths"][path]["post"]["responses"][status]
        if "$ref" in response:
            response = document["components"]["responses"][response["$ref"].rsplit("/", 1)[1]]
        return response["content"]["application/json"]["schema"]

    customers_in = document["paths"]["/api/v1/customers"]["post"]["requestBody"]
    customers = [{"external_id": "C-1", "name": "Ann", "tags": ["vip"]}]
    _validator(document, customers_in["content"]["application/json"]["schema"]).validate(
        customers)
    saved = await api.post("/api/v1/customers", customers)
    created = await api.post("/api/v1/events", EVENT)
    repeated = await api.post("/api/v1/events", EVENT)
    refused = await api.post("/api/v1/events", {"id": 1})
    unauthorized = await api.post("/api/v1/events", EVENT, auth=False)
    for path, (status_code, body) in [("/api/v1/customers", saved),
                                      ("/api/v1/events", created),
                                      ("/api/v1/events", repeated),
                                      ("/api/v1/events", refused),
                                      ("/api/v1/events", unauthorized)]:
        _validator(document, schema_of(path, str(status_code))).validate(body)
    # and a body the document calls invalid is one the API refuses
    assert not _validator(document, schema_of("/api/v1/events", "201")).is_valid(
        {"event": "1", "touches": [], "duplicate": False})


async def test_logs_name_ids_only(api: Api, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)  # the level `careloop run` logs at
    await api.post("/api/v1/customers", {"external_id": "C-1", "name": "Mei Chen"})
    status, _ = await api.post("/api/v1/events", {**EVENT, "attrs": {"note": "fragile vase"}})
    assert status == 201
    await api.post("/api/v1/customers", {"external_id": "C-1", "name": "Mei Chen", "x": 1})
    assert "API event 1 recorded: 3 touches scheduled" in caplog.text
    for secret in (TOKEN, "Mei Chen", "fragile vase"):
        assert secret not in caplog.text
