"""The update queue: what happened, waiting for the bot to fetch or be sent it."""

from __future__ import annotations

from typing import Any

# Telegram's default when allowed_updates is empty: everything but these three.
NOT_DEFAULT_UPDATES = frozenset({"chat_member", "message_reaction", "message_reaction_count"})


class UpdateQueue:
    """Unconfirmed updates, in order. An update stays until a later offset confirms it."""

    def __init__(self) -> None:
        self.items: list[dict[str, Any]] = []
        self.next_id = 1
        self.allowed: frozenset[str] | None = None  # None = Telegram's default set
        self.delivered_upto = 0  # highest update_id handed to the bot at least once

    def wants(self, kind: str) -> bool:
        if self.allowed is None:
            return kind not in NOT_DEFAULT_UPDATES
        return kind in self.allowed

    def push(self, kind: str, payload: dict[str, Any]) -> int | None:
        if not self.wants(kind):
            return None
        update_id = self.next_id
        self.next_id += 1
        self.items.append({"update_id": update_id, kind: payload})
        return update_id

    def set_allowed(self, kinds: list[str] | None) -> None:
        # An absent list keeps the previous setting; an empty one restores the default.
        if kinds is not None:
            self.allowed = frozenset(kinds) if kinds else None

    def confirm(self, offset: int) -> None:
        if offset < 0:
            # "-N" keeps only the last N updates; everything before is forgotten.
            self.items = self.items[offset:]
        else:
            self.items = [u for u in self.items if u["update_id"] >= offset]

    def take(self, limit: int) -> list[dict[str, Any]]:
        """The first ``limit`` unconfirmed updates, marked as handed to the bot."""
        batch = self.items[:limit]
        if batch:
            self.delivered_upto = max(self.delivered_upto, batch[-1]["update_id"])
        return batch

    def drop_all(self) -> None:
        self.items.clear()

    def undelivered(self) -> int:
        return sum(1 for u in self.items if u["update_id"] > self.delivered_upto)
