"""Bot API callbacks and commands: answering button presses, the bot's command menu."""

from __future__ import annotations

import json
from typing import Any

from careloop.sandbox.errors import bad_request
from careloop.sandbox.objects import CallbackAnswer
from careloop.sandbox.spec import ValidatedCall
from careloop.sandbox.state import WorldState

QUERY_INVALID = "query is too old and response timeout expired or query ID is invalid"


class CallbackMethods(WorldState):
    """answerCallbackQuery and setMyCommands, deleteMyCommands, getMyCommands."""

    def _answer_callback_query(self, call: ValidatedCall) -> bool:
        query = self.queries.get(call.params["callback_query_id"])
        if query is None or query.answered:
            raise bad_request(QUERY_INVALID)
        query.answered = True
        self.callback_answers.append(
            CallbackAnswer(query.id, call.get("text"), bool(call.get("show_alert", False)))
        )
        return True

    def _commands_key(self, call: ValidatedCall) -> tuple[str, str]:
        scope = call.get("scope") or {"type": "default"}
        if "chat_id" in scope:
            scope = {**scope, "chat_id": self.resolve_chat(scope["chat_id"]).id}
        return json.dumps(scope, sort_keys=True), call.get("language_code", "")

    def _set_my_commands(self, call: ValidatedCall) -> bool:
        self.commands[self._commands_key(call)] = list(call.params["commands"])
        return True

    def _delete_my_commands(self, call: ValidatedCall) -> bool:
        self.commands.pop(self._commands_key(call), None)
        return True

    def _get_my_commands(self, call: ValidatedCall) -> list[dict[str, Any]]:
        return self.commands.get(self._commands_key(call), [])
