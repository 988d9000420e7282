"""The OpenAPI 3.1 document, built from the same pydantic models that check the requests."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from careloop.bot.api.schemas import (
    DEFAULT_PAGE,
    MAX_CUSTOMERS,
    MAX_PAGE,
    AnswersPage,
    CasesPage,
    CustomerIn,
    CustomerOut,
    CustomersOut,
    ErrorsOut,
    EventIn,
    EventOut,
    HealthOut,
)
from careloop.cases.states import CaseState

Doc = dict[str, Any]
REF = "#/components/schemas/{model}"


def _ref(model: type[BaseModel]) -> Doc:
    return {"$ref": REF.format(model=model.__name__)}


def _json(schema: Doc, description: str) -> Doc:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _errors(*statuses: int) -> Doc:
    return {str(s): {"$ref": f"#/components/responses/{_ERROR_RESPONSES[s][0]}"}
            for s in statuses}


_ERROR_RESPONSES = {
    401: ("Unauthorized", "No bearer token, or not the right one."),
    408: ("TooSlow", "The body did not arrive within the server's body timeout."),
    404: ("NotFound", "No customer with this external id (or erased)."),
    409: ("Conflict", "This event id was recorded before with other content; nothing "
          "changed."),
    413: ("TooLarge", "The body is larger than the server accepts."),
    415: ("NotJson", "The body was not sent with Content-Type: application/json."),
    422: ("Invalid", "The body is not valid JSON or a field is wrong; nothing was written."),
    429: ("TooMany", "Too many requests from this client; Retry-After says in how many "
          "seconds to try again."),
}
_RETRY_AFTER = {"Retry-After": {"description": "Seconds to wait before trying again.",
                                "schema": {"type": "integer", "minimum": 1}}}


def build_document(max_body_bytes: int) -> Doc:
    inputs: list[type[BaseModel]] = [EventIn, CustomerIn]
    outputs: list[type[BaseModel]] = [EventOut, CustomersOut, ErrorsOut, HealthOut,
                                      CustomerOut, CasesPage, AnswersPage]
    _, defs = models_json_schema(
        [(m, "validation") for m in inputs] + [(m, "serialization") for m in outputs],
        ref_template=REF,
    )
    customers_body = {"oneOf": [
        _ref(CustomerIn),
        {"type": "array", "items": _ref(CustomerIn), "minItems": 1, "maxItems": MAX_CUSTOMERS},
    ]}
    bearer: list[dict[str, list[str]]] = [{"bearer": []}]
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "careloop API",
            "version": _version(),
            "description": "Report business events and customers to careloop. Bodies are "
            f"JSON, at most {max_body_bytes} bytes.",
        },
        "paths": {
            "/api/v1/events": {"post": {
                "operationId": "recordEvent",
                "summary": "Report a business event; the playbook schedules its touches.",
                "security": bearer,
                "requestBody": {"required": True, "content": {
                    "application/json": {"schema": _ref(EventIn)}}},
                "responses": {
                    "201": _json(_ref(EventOut), "Recorded; the touches it scheduled."),
                    "200": _json(_ref(EventOut), "This event id was recorded before; "
                                 "nothing changed (duplicate: true)."),
                    **_errors(401, 408, 409, 413, 415, 422, 429),
                },
            }},
            "/api/v1/customers": {"post": {
                "operationId": "saveCustomers",
                "summary": "Create or update one customer or a list of them, all or none.",
                "security": bearer,
                "requestBody": {"required": True, "content": {
                    "application/json": {"schema": customers_body}}},
                "responses": {
                    "200": _json(_ref(CustomersOut), "Saved."),
                    **_errors(401, 408, 413, 415, 422, 429),
                },
            }},
            **_read_paths(bearer),
            "/healthz": {"get": {
                "operationId": "health",
                "summary": "Whether careloop can reach its database.",
                "security": [],
                "responses": {
                    "200": _json(_ref(HealthOut), "The database answers."),
                    "503": _json(_ref(HealthOut), "The database does not answer."),
                },
            }},
            "/api/v1/openapi.json": {"get": {
                "operationId": "openapi",
                "summary": "This document.",
                "security": [],
                "responses": {"200": _json({"type": "object"}, "The OpenAPI document.")},
            }},
        },
        "components": {
            "schemas": defs["$defs"],
            "securitySchemes": {"bearer": {
                "type": "http", "scheme": "bearer",
                "description": "The value of CARELOOP_API_TOKEN.",
            }},
            "responses": {
                name: {**_json(_ref(ErrorsOut), description),
                       **({"headers": _RETRY_AFTER} if status == 429 else {})}
                for status, (name, description) in _ERROR_RESPONSES.items()
            },
        },
    }


def _query(name: str, schema: Doc, description: str) -> Doc:
    return {"name": name, "in": "query", "required": False, "schema": schema,
            "description": description}


_TIME = {"anyOf": [{"type": "string", "format": "date-time"},
                   {"type": "string", "format": "date"}]}
_PAGING = [
    _query("limit", {"type": "integer", "minimum": 1, "maximum": MAX_PAGE},
           f"Items per page, default {DEFAULT_PAGE}."),
    _query("cursor", {"type": "string"}, "The next_cursor of the page before; without it "
           "the list starts at the oldest item."),
]


def _window(what: str) -> list[Doc]:
    return [
        _query("since", _TIME, f"Only items {what} at or after this time (ISO 8601; without "
               "an offset, the business's timezone) or the start of this date."),
        _query("until", _TIME, f"Only items {what} before this time, or before the end of "
               "this date."),
    ]


def _read_paths(bearer: list[dict[str, list[str]]]) -> Doc:
    def read(operation: str, summary: str, parameters: list[Doc], ok: Doc,
             *errors: int) -> Doc:
        return {"get": {"operationId": operation, "summary": summary, "security": bearer,
                        "parameters": parameters,
                        "responses": {"200": ok, **_errors(401, *errors, 429)}}}

    return {
        "/api/v1/customers/{external_id}": read(
            "getCustomer", "A customer and their timeline (the viewing is audit-logged).",
            [{"name": "external_id", "in": "path", "required": True,
              "schema": {"type": "string"}}],
            _json(_ref(CustomerOut), "The customer."), 404),
        "/api/v1/cases": read(
            "listCases", "Cases in the order they were opened, a page at a time.",
            [*_PAGING, _query("state", {"type": "string", "enum": [str(s) for s in CaseState]},
                              "Only cases in this state."), *_window("opened")],
            _json(_ref(CasesPage), "A page of cases."), 422),
        "/api/v1/answers": read(
            "listAnswers", "Survey answers in the order they were given, a page at a time.",
            [*_PAGING, _query("survey", {"type": "string", "pattern": "^[A-Za-z0-9_]{1,32}$"},
                              "Only answers to this survey (csat, nps, ...)."),
             *_window("answered")],
            _json(_ref(AnswersPage), "A page of answers."), 422),
        "/api/v1/reports/summary": read(
            "reportSummary", "The report `careloop report --format json` prints: CSAT, NPS, "
            "response rate, cases and the rest, over whole days back from until.",
            _window("counted"),
            _json({"type": "object", "required": ["since", "until", "days", "timezone"],
                   "additionalProperties": True},
                  "The report; its keys are those of `careloop report --format json`."), 422),
    }


def _version() -> str:
    try:
        return version("careloop")
    except PackageNotFoundError:  # run from a source tree that was never installed
        return "0"
