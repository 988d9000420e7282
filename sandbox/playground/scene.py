"""The playground's scene: the demo's customers and staff on a stage (a sandbox Telegram, a
temporary database, careloop running), and what the person at the page may do as any of
them. Everyone acts only through the sandbox, as a Telegram client would, and the operator
through the same services as the CLI."""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from careloop.bot.app import context_factory
from careloop.care.playbook.model import BUILT_IN_TRIGGERS
from careloop.handlers.marketer.preview import Preview, preview
from careloop.handlers.marketer.views import summary
from careloop.kernel.i18n import N_, Catalogs, Translator
from careloop.kernel.languages import telegram_code
from careloop.sandbox.demo import CUSTOMERS_CSV
from careloop.sandbox.errors import SandboxError
from careloop.sandbox.objects import SandboxUser
from careloop.sandbox.stage import Stage

# A draft ready to preview; a marketer starts it, or writes another with /campaign.
SAMPLE_CAMPAIGN = """\
name: Member day
segment:
  tier: [gold, vip]
variants:
  - name: A
    share: 50
    text:
      en: "Hello {first_name}! It's <b>member day</b>: 20% off everything today."
      ru: "Здравствуйте, {first_name}! Сегодня <b>день клиента</b>: скидка 20% на всё."
      zh_Hans: "{first_name}，您好！今天是<b>会员日</b>：全场八折。"
    button:
      text: {en: Get the offer, ru: Получить скидку, zh_Hans: 领取优惠}
      url: https://example.com/member-day
      tracked: true
  - name: B
    share: 50
    text:
      en: "{first_name}, as a {tier} member you get <b>20% off</b> today only."
      ru: "{first_name}, как участник {tier} вы получаете <b>скидку 20%</b> только сегодня."
      zh_Hans: "{first_name}，作为 {tier} 会员，您今天可享<b>八折</b>优惠。"
schedule:
  monthly: {day: 18, at: "10:00"}
"""

# Who is in the staff group, and their role (None: in the group, not registered as staff).
STAFF = (("Lin", "lead"), ("Max", "agent"), ("Rita", "marketer"), ("Sam", None))
PRESS_WAIT = 5.0  # seconds a press waits for the bot's answer (its toast)


class NotAllowed(Exception):
    """What the page asked cannot be done (a chat the person is not in, a clock that is
    real). `message` is marked for translation; the page shows it in its language."""

    def __init__(self, message: str, **values: object) -> None:
        super().__init__(message)
        self.message = message
        self.values = values

    def shown(self, tr: Translator) -> str:
        return tr.gettext(self.message).format(**self.values)


def refused(exc: SandboxError) -> NotAllowed:
    """Telegram's client would not have let the person do it (the sandbox's check)."""
    return NotAllowed(N_("Telegram would not allow it: {reason}"), reason=str(exc))


@dataclass(frozen=True, slots=True)
class Person:
    user: SandboxUser
    role: str  # "customer", or a staff role ("lead", "agent", "marketer"), or "outsider"
    timezone: str
    external_id: str | None = None
    link: str | None = None  # a customer's signed start payload

    @property
    def customer(self) -> bool:
        return self.role == "customer"


class Scene:
    def __init__(self, stage: Stage, people: list[Person], tr: Translator, *,
                 simulated: bool) -> None:
        self.stage = stage
        self.tr = tr  # the page's language
        self.people = {p.user.id: p for p in people}
        self.simulated = simulated
        self.catalogs = Catalogs(default=stage.settings.language)
        # When each message appeared, on the stage's clock (the sandbox dates them in real
        # time): a simulated day later, the page shows the day it arrived.
        self.stamps: dict[tuple[int, int], datetime] = {}
        self._stamper: asyncio.Task[None] | None = None

    @classmethod
    async def open(cls, workdir: Path, tr: Translator, *, forum: bool = True,
                   simulated: bool = True) -> Scene:
        app_language = telegram_code(tr.language)
        stage = await Stage.open(
            workdir, language=tr.language, staff_language=tr.language, forum=forum,
            staff_names=tuple(name for name, _ in STAFF),
            group_title=tr.gettext("Care team"), community_title=tr.gettext("Our community"),
            start_at=None if simulated else datetime.now(UTC),
            # Nothing of the environment's HTTP API: the playground is its own world.
            api_token=None,
            # A person at a page waits a moment gladly; an idle playground should not keep
            # a core busy (the demo's stage looks every few hundredths of a second).
            sender_interval_seconds=0.25, survey_interval_seconds=1.0,
            campaign_interval_seconds=1.0)
        try:
            people = await _cast(stage, app_language)
            await stage.start_bot()
            await stage.create_campaign(SAMPLE_CAMPAIGN)
            # The shop reports a purchase for each customer: three days on, a survey.
            for person in people:
                if person.external_id is not None:
                    await stage.event(person.external_id, "purchase")
        except BaseException:
            await stage.close()
            raise
        scene = cls(stage, people, tr, simulated=simulated)
        scene._stamper = asyncio.create_task(scene._stamp(), name="playground-stamps")
        return scene

    async def close(self) -> None:
        if self._stamper is not None:
            self._stamper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._stamper
        await self.stage.close()

    def stamp(self, chat_id: int, message_id: int) -> datetime:
        """When the message appeared on the stage's clock (now, if it is new)."""
        return self.stamps.setdefault((chat_id, message_id), self.stage.clock.now())

    async def _stamp(self) -> None:
        world = self.stage.sandbox.world
        while not world.closed:
            for chat_id, messages in world.messages_by_chat.items():
                for m in messages:
                    self.stamp(chat_id, m.message_id)
            await world.changed(None)

    # --- who may see what ----------------------------------------------------------------

    def person(self, user_id: int) -> Person:
        person = self.people.get(user_id)
        if person is None:
            raise NotAllowed(N_("There is no such person here."))
        return person

    def chats_of(self, person: Person) -> list[int]:
        """The chats this person has open: theirs with the bot, the staff group for staff,
        and the community group (to look at and join)."""
        chats = [person.user.id]
        if not person.customer:
            chats.append(self.stage.staff_chat)
        if self.stage.community_chat is not None:
            chats.append(self.stage.community_chat)
        return chats

    def event_types(self) -> list[str]:
        """The events an operator can report: those the playbook has rules for."""
        return sorted({r.on for r in self.stage.playbook.rules} - set(BUILT_IN_TRIGGERS))

    # --- what a person does ----------------------------------------------------------------

    async def send(self, user_id: int, chat_id: int, text: str, *,
                   reply_to: int | None = None, topic: int | None = None) -> None:
        person = self.person(user_id)
        self._may_see(person, chat_id)
        try:
            await self.stage.sandbox.user_sends(person.user, text, chat_id=chat_id,
                                                reply_to_message_id=reply_to,
                                                message_thread_id=topic)
        except SandboxError as exc:
            raise refused(exc) from None

    async def open_link(self, user_id: int) -> None:
        """A customer taps the personal link the shop sent them: Telegram opens the bot and
        sends /start with the link's signed payload."""
        person = self.person(user_id)
        if person.link is None:
            raise NotAllowed(N_("Only customers have a personal link."))
        command = f"/start {person.link}"  # a command, not words for anyone to read
        await self.send(user_id, user_id, command)

    async def press(self, user_id: int, chat_id: int, message_id: int, data: str) -> str | None:
        """Press an inline button; returns the toast the bot showed, if any."""
        person = self.person(user_id)
        self._may_see(person, chat_id)
        sandbox = self.stage.sandbox
        try:
            query = await sandbox.user_presses(person.user, chat_id, message_id, data)
        except SandboxError as exc:
            raise refused(exc) from None
        with contextlib.suppress(TimeoutError):
            answer = await sandbox.wait_for(lambda: next(
                (a for a in sandbox.callback_answers if a.query_id == query), None),
                timeout=PRESS_WAIT)
            return answer.text
        return None

    async def join(self, user_id: int, chat_id: int) -> None:
        person = self.person(user_id)
        if chat_id != self.stage.community_chat:
            raise NotAllowed(N_("Only the community group can be joined or left here."))
        try:
            await self.stage.sandbox.user_joins(person.user, chat_id)
        except SandboxError as exc:
            raise refused(exc) from None

    async def leave(self, user_id: int, chat_id: int) -> None:
        person = self.person(user_id)
        if chat_id != self.stage.community_chat:
            raise NotAllowed(N_("Only the community group can be joined or left here."))
        try:
            await self.stage.sandbox.user_leaves(person.user, chat_id)
        except SandboxError as exc:
            raise refused(exc) from None

    def _may_see(self, person: Person, chat_id: int) -> None:
        if chat_id not in self.chats_of(person):
            raise NotAllowed(N_("{name} has no such chat."), name=person.user.first_name)

    # --- the shop ----------------------------------------------------------------------

    async def advance(self, hours: float) -> None:
        """Move the simulated clock on, then run the playbook's hourly scans (birthdays,
        inactivity) at once, as the scheduler would have on the way. Due messages, survey
        reminders and campaign runs follow within a moment by themselves."""
        if not self.simulated:
            raise NotAllowed(N_("The clock is real: it cannot be moved."))
        if not 0 < hours <= 24 * 31:
            raise NotAllowed(N_("The clock moves by an hour to a month at a time."))
        self.stage.advance(hours=hours)
        await self.stage.scan()
        self.stage.sandbox.world.notify()  # the page shows the new time

    async def report_event(self, external_id: str, event_type: str) -> int:
        """As `careloop events add --type TYPE --customer ID`; returns the touches
        scheduled."""
        if event_type not in self.event_types():
            raise NotAllowed(N_("The playbook has no rule for the event {event}."),
                             event=event_type)
        if external_id not in {p.external_id for p in self.people.values()}:
            raise NotAllowed(N_("There is no such customer."))
        scheduled = await self.stage.event(external_id, event_type)
        return len(scheduled.touches)

    async def campaigns(self, tr: Translator) -> list[tuple[int, str]]:
        """Each campaign, newest first: its id and its one-line summary, as /campaigns
        shows it to a marketer."""
        async with self.stage.storage.uow() as uow:
            rows = await uow.campaigns.listing(limit=100)
        return [(c.id, summary(tr, c)) for c in rows]

    async def previews(self, campaign_id: int) -> list[tuple[Person, Preview]]:
        """The campaign as each customer would get it now (`careloop campaigns preview`)."""
        shown = []
        stage = self.stage
        async with stage.storage.uow() as uow:
            campaign = await uow.campaigns.get(campaign_id)
            if campaign is None:
                raise NotAllowed(N_("There is no such campaign."))
            ctx = context_factory(stage.settings, stage.surveys, catalogs=self.catalogs)(
                uow, stage.clock.now())
            for person in self.people.values():
                if person.external_id is None:
                    continue
                customer = await uow.customers.by_external_id(person.external_id)
                if customer is not None:
                    shown.append((person, await preview(ctx, campaign, customer)))
            await uow.rollback()  # a preview stores nothing, not even its buttons' keys
        return shown


async def _cast(stage: Stage, app_language: str) -> list[Person]:
    """The demo's three customers (imported, not yet linked) and the staff group's people."""
    await stage.import_customers(CUSTOMERS_CSV)
    people: list[Person] = []
    for line in CUSTOMERS_CSV.splitlines()[1:]:
        external_id = line.split(",", 1)[0]
        async with stage.storage.uow() as uow:
            row = await uow.customers.by_external_id(external_id)
        assert row is not None
        first, _, last = row.name.partition(" ")
        user = stage.customer(first, app_language, last_name=last or None)
        people.append(Person(user, "customer", row.timezone or stage.settings.timezone,
                             external_id, await stage.link(external_id)))
    for user, (_name, role) in zip(stage.staff, STAFF, strict=True):
        if role is not None:
            await stage.add_staff(user, role)
        people.append(Person(user, role or "outsider", stage.settings.timezone))
    return people


def moment(at: datetime) -> str:
    """An ISO time in UTC for the page, which shows it in each reader's timezone."""
    return at.astimezone(UTC).isoformat(timespec="seconds")

