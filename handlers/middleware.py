"""What runs between the router and a handler, so handlers do not repeat it: each is handed
a Request with the reader's translator, and a button press arrives as a Press whose key was
looked up and tied to its chat here, once. A forged, stale or misplaced key never reaches
a handler: it gets the one "no longer valid" answer."""

from __future__ import annotations

from dataclasses import dataclass

from careloop.handlers.buttons import resolve
from careloop.handlers.context import Context
from careloop.kernel.effects import Effect, Toast
from careloop.kernel.i18n import Translator
from careloop.kernel.updates import Update
from careloop.storage.models import CallbackKey


@dataclass(frozen=True, slots=True)
class Request:
    """A message, command or membership change, with what every handler needs."""

    update: Update
    ctx: Context
    tr: Translator  # the reader's language: staff the staff group's, a customer their own

    def _(self, message: str) -> str:
        return self.tr.gettext(message)

    @property
    def chat_id(self) -> int:
        return self.update.chat.id


@dataclass(frozen=True, slots=True)
class Press(Request):
    """A button press whose key exists and was made for the chat it was pressed in."""

    key: CallbackKey
    callback_id: str
    message_id: int

    @property
    def subject(self) -> int:
        return self.key.subject_id

    @property
    def value(self) -> str:
        return self.key.value

    def toast(self, text: str | None = None) -> Toast:
        return Toast(self.callback_id, text)

    def no_longer_valid(self) -> list[Effect]:
        """For a key whose subject has gone since (a survey closed, a case erased)."""
        return no_longer_valid(self.callback_id, self.tr)


def no_longer_valid(callback_id: str, tr: Translator) -> list[Effect]:
    return [Toast(callback_id, tr.gettext("This button is no longer valid."))]


async def check_press(update: Update, ctx: Context, tr: Translator) -> Press | list[Effect]:
    """The press with its key, or the answer for a key that is forged, stale or from
    another chat."""
    if update.callback_id is None:
        raise ValueError("not a button press")
    key = await resolve(ctx.uow, update.callback_data, update.chat.id)
    if key is None or update.message_id is None:
        return no_longer_valid(update.callback_id, tr)
    return Press(update, ctx, tr, key, update.callback_id, update.message_id)
