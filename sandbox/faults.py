"""Injected faults: simulated Telegram trouble a test asks for (429, 403, 5xx, slowness)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from careloop.sandbox.errors import ApiError
from careloop.sandbox.spec import ValidatedCall, canonical_method
from careloop.sandbox.state import BLOCKED

FaultKind = Literal[
    "retry_after", "blocked", "server_error", "bad_gateway", "slow", "chat_not_found",
    "bad_request",
]


@dataclass(slots=True)
class Fault:
    """The next ``times`` requests matching ``method`` and ``chat_id`` fail this way.

    ``method=None`` matches every method that targets a chat (has a chat_id), so a catch-all
    fault hits the bot's sends and not its polling.
    """

    kind: FaultKind
    method: str | None = None
    chat_id: int | None = None
    retry_after: int = 1
    delay: float = 0.0
    times: int = 1

    def matches(self, call: ValidatedCall) -> bool:
        if self.times <= 0:
            return False
        if self.method is not None and canonical_method(self.method) != call.method:
            return False
        if self.method is None and "chat_id" not in call.params:
            return False
        return self.chat_id is None or call.params.get("chat_id") == self.chat_id

    def error(self) -> ApiError | None:
        """The error this fault answers with; None for 'slow', which answers normally."""
        match self.kind:
            case "retry_after":
                return ApiError(
                    429,
                    f"Too Many Requests: retry after {self.retry_after}",
                    retry_after=self.retry_after,
                )
            case "blocked":
                return ApiError(403, BLOCKED)
            case "server_error":
                return ApiError(500, "Internal Server Error")
            case "bad_gateway":
                return ApiError(502, "Bad Gateway")
            case "chat_not_found":
                return ApiError(400, "Bad Request: chat not found")
            case "bad_request":
                return ApiError(400, "Bad Request: message can't be sent")
            case "slow":
                return None
        raise ValueError(f"unknown fault kind {self.kind!r}")
