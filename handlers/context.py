"""What every handler receives: a Context per update or job, made by the one ContextFactory
the composition root builds."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from careloop.cases.sla import DEFAULT_SLA, SlaPolicy
from careloop.handlers.buttons import make_button
from careloop.kernel.i18n import Catalogs, Translator
from careloop.kernel.updates import Button
from careloop.storage.uow import UnitOfWork
from careloop.surveys.definitions import SurveyDefinitions


@dataclass(frozen=True, slots=True)
class HandlerConfig:
    staff_chat_id: int | None
    link_secret: str
    default_timezone: str
    staff_language: str
    surveys: SurveyDefinitions  # read once at start (CARELOOP_SURVEYS)
    sla: SlaPolicy = DEFAULT_SLA
    staff_forum: bool = False  # the staff group is a forum: one topic per case
    campaign_confirm_above: int = 1000  # starting for more recipients asks to confirm
    community_chat_id: int | None = None  # the business's customer group
    bot_username: str | None = None  # for links that open the bot's private chat
    bot_id: int | None = None  # to tell replies to the bot's own messages in the group
    export_per_day: int = 3  # /mydata requests a customer may make in a rolling day
    # The customer's own preferences in /settings stay inside these: the quiet hours the
    # operator offers (kept on top of the business's own) and at most the operator's cap.
    quiet_hours: str = "21:00-09:00"  # the business's, "" for none
    quiet_choices: tuple[str, ...] = ("20:00-09:00", "22:00-10:00", "19:00-11:00")
    cap_messages: int = 3
    cap_window_days: int = 7


def unlimited(chat_id: int) -> int:
    return 1_000_000


@dataclass(slots=True)
class Context:
    uow: UnitOfWork
    now: datetime
    catalogs: Catalogs
    config: HandlerConfig
    # How many more messages a group takes this minute (the limiter's count): the case
    # desk posts cards while there is room and merges them into a digest when there is not.
    room: Callable[[int], int] = field(default=unlimited)

    def tr(self, language: str | None) -> Translator:
        return self.catalogs.translator(language)

    @property
    def surveys(self) -> SurveyDefinitions:
        return self.config.surveys

    @property
    def staff_tr(self) -> Translator:
        return self.catalogs.translator(self.config.staff_language)

    async def button(
        self, text: str, action: str, subject_id: int | None, chat_id: int, value: str = ""
    ) -> Button:
        assert subject_id is not None
        return await make_button(self.uow, self.now, text, action, subject_id, chat_id, value)


@dataclass(frozen=True, slots=True)
class ContextFactory:
    """What every Context shares for the life of the process, given once by the composition
    root (bot/app.py); called with a unit of work and its moment, for an update or a job."""

    catalogs: Catalogs
    config: HandlerConfig
    room: Callable[[int], int] = field(default=unlimited)

    def __call__(self, uow: UnitOfWork, now: datetime) -> Context:
        return Context(uow, now, self.catalogs, self.config, room=self.room)
