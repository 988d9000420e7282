"""The OpenAPI 3.1 document, built from the same pydantic models that check the requests."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from careloop.bot.api.schemas import (
    MAX_CUSTOMERS,
    CustomerIn,
    CustomersOut,
    ErrorsOut,
    EventIn,
    EventOut,
    HealthOut,
)

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
    outputs: list[type[BaseModel]] = [EventOut, CustomersOut, ErrorsOut, HealthOut]
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


def _version() -> str:
    try:
        return version("careloop")
    except PackageNotFoundError:  # run from a source tree that was never installed
        return "0"
