"""What the sandbox remembers of each request, and the envelope Telegram answers it with."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from careloop.sandbox.errors import ApiError
from careloop.sandbox.objects import Answer

# The step that decided the request: tests tell a bot bug ("invalid") from simulated trouble.
RequestKind = Literal["ok", "invalid", "fault", "state", "rate_limited"]


@dataclass(slots=True)
class RecordedRequest:
    method: str
    params: dict[str, Any]
    ok: bool
    error_code: int | None
    description: str | None
    kind: RequestKind
    at: float  # time_source() when it arrived
    via_webhook_reply: bool = False


def envelope(outcome: Any) -> dict[str, Any]:
    """Telegram's response envelope for a result, an ``Answer`` or an ``ApiError``."""
    if isinstance(outcome, ApiError):
        return outcome.envelope()
    answer = outcome if isinstance(outcome, Answer) else Answer(outcome)
    body = {"ok": True, "result": answer.result}
    if answer.description:
        body["description"] = answer.description
    return body
