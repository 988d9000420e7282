"""API errors: one JSON shape for every refusal, `{"errors": [{"field", "message"}]}`."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from pydantic import ValidationError

# Pydantic's wording is written for Python programmers; clients read these instead.
_MESSAGES = {
    "missing": "is required",
    "extra_forbidden": "is not a known field",
    "string_type": "must be a string",
    "dict_type": "must be an object",
    "list_type": "must be a list",
    "model_type": "must be a JSON object",
    "model_attributes_type": "must be a JSON object",
}

Path = Sequence[int | str]


@dataclass(frozen=True, slots=True)
class FieldError:
    field: str | None  # a path into the body ("at", "attrs.order", "[2].timezone"); None: all of it
    message: str

    def as_dict(self) -> dict[str, str | None]:
        return {"field": self.field, "message": self.message}


class ApiError(Exception):
    """A request refused with `status`; the middleware renders it as JSON."""

    def __init__(self, status: int, errors: Sequence[FieldError],
                 headers: Mapping[str, str] | None = None) -> None:
        super().__init__(errors[0].message if errors else str(status))
        self.status = status
        self.errors = list(errors)
        self.headers = dict(headers or {})


def invalid(field: str | None, message: str) -> ApiError:
    return ApiError(422, [FieldError(field, message)])


def field_path(parts: Path) -> str | None:
    """("attrs", "order") → "attrs.order"; (2, "tags", 0) → "[2].tags[0]"."""
    out = ""
    for part in parts:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else part
    return out or None


def from_validation(exc: ValidationError, prefix: Path = ()) -> list[FieldError]:
    # The input is left out: it may be personal data, and the client has it anyway.
    return [
        FieldError(field_path([*prefix, *err["loc"]]), _MESSAGES.get(err["type"], err["msg"]))
        for err in exc.errors(include_url=False, include_input=False, include_context=False)
    ]


def body(errors: Sequence[FieldError]) -> dict[str, list[dict[str, str | None]]]:
    return {"errors": [e.as_dict() for e in errors]}
