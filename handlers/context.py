"""What every handler receives: a Context per update or job, made by the one ContextFactory
the composition root builds."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from careloop.care.scripts.library import ScriptLibrary
from careloop.care.scripts.loader import shipped
from careloop.cases.routing import Routing, Team
from careloop.cases.sla import DEFAULT_SLA, SlaPolicy
from careloop.handlers.buttons import make_button
from careloop.kernel.i18n import Catalogs, Translator
from careloop.kernel.updates import Button
from careloop.storage.models import Case
from careloop.storage.uow import UnitOfWork
from careloop.surveys.definitions import SurveyDefinitions


@dataclass(frozen=True, slots=True)
class HandlerConfig:
    staff_chat_id: int | None
    link_secret: str
    default_timezone: str
    staff_language: str
    surveys: SurveyDefinitions  # read once at start (CARELOOP_SURVEYS)
    # The script library, read once at start (CARELOOP_SCRIPTS); unset, the shipped one.
    scripts: ScriptLibrary = field(default_factory=shipped)
    # How long a customer's owner has the first claim on their new case (0: none).
    owner_first_claim: timedelta = timedelta(0)
    sla: SlaPolicy = DEFAULT_SLA
    staff_forum: bool = False  # the staff group is a forum: one topic per case
    campaign_confirm_above: int = 1000  # starting for more recipients asks to confirm
    community_chat_id: int | None = None  # the business's customer group
    bot_username: str | None = None  # for links that open the bot's private chat
    bot_id: int | None = None  # to tell replies to the bot's own messages in the group
    export_per_day: int = 3  # /mydata requests a customer may make in a rolling day
    # Teams and their groups (CARELOOP_ROUTING); None: one team, the staff group.
    routing: Routing | None = None
    forums: frozenset[int] = frozenset()  # the teams' groups that are forums
    unlinked_inquiries: str = "identify"  # or "anonymous" (CARELOOP_UNLINKED_INQUIRIES)

    @property
    def teams(self) -> Routing:
        return self.routing or Routing.single(self.staff_chat_id)

    def team_of(self, case: Case) -> Team:
        return self.teams.team(case.team)

    def chat_of(self, case: Case) -> int | None:
        """The staff group that holds the case: its team's."""
        return self.team_of(case).chat_id

    def is_forum(self, chat_id: int | None) -> bool:
        if chat_id is None:
            return False
        return chat_id in self.forums or (self.staff_forum and chat_id == self.staff_chat_id)

    def teams_filter(self, chat_id: int) -> tuple[list[str], list[str] | None]:
        """The teams whose cases a group holds, for the case queries: its own teams, and in
        the first team's group also the cases of teams the routing no longer names."""
        routing = self.teams
        names = sorted(routing.teams_in(chat_id))
        others = sorted(t.name for t in routing.teams) \
            if routing.default.chat_id == chat_id else None
        return names, others

    def staff_chats(self) -> frozenset[int]:
        """Every team's group: staff act in any of them."""
        found = set(self.teams.chats)
        if self.staff_chat_id is not None:
            found.add(self.staff_chat_id)
        return frozenset(found)
    promise_remind_before: timedelta = timedelta(hours=24)  # the assignee, before it is due
    # The survey a resolved case's customer gets this long after confirming; zero: none.
    callback_after: timedelta = timedelta(hours=72)
    callback_survey: str = "csat"
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
    def scripts(self) -> ScriptLibrary:
        return self.config.scripts

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
