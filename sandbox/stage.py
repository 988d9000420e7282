"""A stage for the whole loop: a sandbox Telegram, a database and a running careloop,
with customers and staff in it. `careloop demo` plays on it, and so do the end-to-end tests.

People act only through the sandbox (sending messages, pressing buttons they can see) and
operators only through the services the CLI calls, so the bot is driven as in production.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TypeVar

from pydantic import SecretStr

from careloop.bot.app import Storage, build_storage
from careloop.bot.jobs import Scans
from careloop.bot.serve import Running, start
from careloop.bot.settings import Settings
from careloop.campaigns import lifecycle as campaigns
from careloop.campaigns.loader import campaign as load_campaign_from
from careloop.care import touches as care
from careloop.care.playbook.loader import load_playbook
from careloop.care.playbook.model import Playbook
from careloop.care.scripts.loader import load_scripts
from careloop.customers import directory as customers
from careloop.kernel import deeplink, yamlfile
from careloop.kernel.clock import ShiftedClock
from careloop.kernel.languages import telegram_code
from careloop.sandbox import Sandbox, SandboxMessage, SandboxUser
from careloop.storage.migrate import upgrade_new
from careloop.storage.models import Category, Customer, StaffMember, Touch
from careloop.surveys.definitions import SurveyDefinitions
from careloop.surveys.loader import load_surveys

T = TypeVar("T")
WAIT = 10.0  # seconds a step may take before the stage calls it stuck


# A fixed start in business hours everywhere from Europe to Asia, so that what a run shows
# does not depend on when it runs (quiet hours, caps and local dates all follow the clock).
DAYTIME = datetime(2026, 6, 2, 9, 0, tzinfo=UTC)


class Stage:
    def __init__(self, sandbox: Sandbox, settings: Settings, storage: Storage,
                 clock: ShiftedClock, staff_chat: int, staff: list[SandboxUser],
                 playbook: Playbook, surveys: SurveyDefinitions,
                 community_chat: int | None = None) -> None:
        self.sandbox = sandbox
        self.settings = settings
        self.storage = storage
        self.clock = clock
        self.playbook = playbook
        self.surveys = surveys
        self.staff_chat = staff_chat
        self.staff = staff
        # The business's customer group (CARELOOP_COMMUNITY_CHAT_ID), empty at the start.
        self.community_chat = community_chat
        self.running: Running | None = None

    @classmethod
    async def open(
        cls, workdir: Path, *, database_url: str | None = None, staff_names: tuple[str, ...] = (
            "Lin", "Max", "Sam"), language: str = "en", staff_language: str = "en",
        group_title: str = "Care team", community_title: str = "Community",
        forum: bool = False, rate_limits: bool = True,
        start_at: datetime | None = None, playbook: Path | None = None,
        surveys: Path | None = None, **settings_overrides: object,
    ) -> Stage:
        """`language` is the business's default customer language; `staff_language` the
        staff group's; `forum` makes that group a forum. `playbook` and `surveys`: a
        playbook and a survey file for the operator and the running bot alike (through
        CARELOOP_PLAYBOOK's and CARELOOP_SURVEYS's settings); None is the shipped default."""
        # Before anything starts: a bad file fails here.
        definitions = load_surveys(surveys)
        scripts = settings_overrides.get("scripts")
        library = load_scripts(scripts if isinstance(scripts, Path) else None)
        book = load_playbook(playbook, surveys=definitions.keys, templates=library.care)
        clock = ShiftedClock(start_at or DAYTIME)
        # The sandbox keeps Telegram's limits on the same clock: moving it moves both.
        # A bot of its own (its id is the token's head): stages side by side, in tests run
        # in parallel, keep their limits in a shared Redis apart, as two bots' are.
        sandbox = Sandbox(token=f"{secrets.randbelow(9 * 10**8) + 10**8}:SANDBOX-TOKEN",
                          rate_limits=rate_limits, time_source=lambda: clock.now().timestamp())
        base_url = await sandbox.start()
        staff = [sandbox.add_user(name, username=name.lower(),
                                  language_code=telegram_code(staff_language))
                 for name in staff_names]
        staff_chat = sandbox.add_group(group_title, staff, forum=forum)
        community_chat = sandbox.add_group(community_title, [])
        defaults: dict[str, object] = {
            "community_chat_id": community_chat,
            "sender_interval_seconds": 0.05,
            # The sandbox allows short bursts; the demo does not wait out real seconds.
            "chat_interval_seconds": 0.0,
            # Reminders and expiry follow the hand-driven clock within a moment.
            "survey_interval_seconds": 0.1,
            "campaign_interval_seconds": 0.1,
            # The weekly digest only where a test or the demo asks for it: a clock moved
            # past Monday morning would otherwise add it to every scene's staff group.
            "digest_enabled": False,
        }
        settings = Settings(
            bot_token=SecretStr(sandbox.token),
            telegram_api_url=base_url,
            database_url=database_url or f"sqlite+aiosqlite:///{workdir / 'careloop.db'}",
            staff_chat_id=staff_chat,
            link_secret=SecretStr(secrets.token_urlsafe(24)),
            bot_username=sandbox.bot.username,
            language=language,
            staff_language=staff_language,
            playbook=playbook,
            surveys=surveys,
            # Overrides are checked by the settings model itself when they are given.
            **(defaults | settings_overrides),  # type: ignore[arg-type]
        )
        storage = build_storage(settings)
        await upgrade_new(storage.engine)
        return cls(sandbox, settings, storage, clock, staff_chat, staff, book, definitions,
                   settings.community_chat_id)

    async def start_bot(self) -> Running:
        self.running = await start(self.settings, self.storage, clock=self.clock)
        return self.running

    async def stop_bot(self) -> None:
        if self.running is not None:
            await self.running.stop()
            self.running = None

    async def close(self) -> None:
        await self.stop_bot()
        await self.storage.close()
        await self.sandbox.stop()

    # --- the operator, through the same services as the CLI -------------------------------

    async def import_customers(self, csv_text: str) -> customers.ImportResult:
        checked = customers.parse_csv(csv_text)
        if checked.rejected:  # a scripted stage has no excuse for a bad row
            raise ValueError(f"rejected customer rows: {checked.rejected}")
        rows = checked.rows
        async with self.storage.uow() as uow:
            secret = self.settings.link_secret
            result = await customers.import_rows(
                uow, self.clock.now(), rows, self.settings.language, self.settings.timezone,
                secret=secret.get_secret_value() if secret else None)
            await uow.commit()
        return result

    async def link(self, external_id: str) -> str:
        async with self.storage.uow() as uow:
            customer = await uow.customers.by_external_id(external_id)
        assert customer is not None
        assert self.settings.link_secret is not None
        return deeplink.sign(customer.id, self.settings.link_secret.get_secret_value())

    async def add_staff(self, user: SandboxUser, role: str) -> None:
        async with self.storage.uow() as uow:
            await uow.staff.add(StaffMember(telegram_user_id=user.id, role=role,
                                            added_at=self.clock.now()))
            await uow.commit()

    async def event(self, external_id: str, event_type: str,
                    at: datetime | None = None, **attrs: str) -> care.Scheduled:
        """As `careloop events add`, with `attrs` as its --attr key=value pairs."""
        async with self.storage.uow() as uow:
            customer = await uow.customers.by_external_id(external_id)
            assert customer is not None
            scheduled = await care.add_event(uow, self.clock.now(), customer, event_type,
                                             at or self.clock.now(), attrs, self.playbook)
            await uow.commit()
        return scheduled

    async def seed_audience(self, count: int, *, timezone: str = "UTC",
                            marketing: bool = False) -> list[tuple[int, SandboxUser]]:
        """`count` customers who linked their chat and agreed to messages some time ago,
        made in bulk (a broadcast's audience); returns (customer id, their Telegram user)."""
        now = self.clock.now()
        people = [self.sandbox.add_user(f"Guest{n}") for n in range(count)]
        rows = [Customer(
            external_id=f"AUD-{p.id}", telegram_user_id=p.id, chat_id=p.id, name=p.first_name,
            timezone=timezone, service_consent=True, service_consent_at=now,
            marketing_consent=marketing, marketing_consent_at=now if marketing else None,
            created_at=now) for p in people]
        async with self.storage.uow() as uow:
            uow.session.add_all(rows)
            await uow.commit()
        return [(c.id, p) for c, p in zip(rows, people, strict=True)]

    async def schedule(self, customer_ids: Sequence[int], *, purpose: str = "care.thanks",
                       template: str = "purchase_thanks", survey_key: str | None = None,
                       category: Category = Category.SERVICE, due: datetime | None = None
                       ) -> None:
        """One touch per customer, due at `due` (now by default)."""
        now = self.clock.now()
        async with self.storage.uow() as uow:
            uow.session.add_all([Touch(
                customer_id=c, purpose=purpose, category=category, template=template,
                survey_key=survey_key, due_at=due or now, created_at=now,
                idempotency_key=f"{c}:{purpose}:{secrets.token_hex(6)}") for c in customer_ids])
            await uow.commit()

    async def scan(self) -> int:
        """Run the playbook's scans now, as the scheduler does hourly; returns how many
        touches they scheduled."""
        return await Scans(self.storage.uow, self.clock, self.playbook).all()

    async def score_rfm(self) -> int:
        """Score every customer's RFM now, as the daily job does; returns how many."""
        return await Scans(self.storage.uow, self.clock, self.playbook).rfm()

    async def survey_round(self) -> None:
        """Run the survey lifecycle's round now (reminders, expiry, comments no one wrote),
        as the scheduler does every CARELOOP_SURVEY_INTERVAL_SECONDS."""
        assert self.running is not None
        await self.running.app.survey_rounds.run()

    async def agree_to_offers(self, *external_ids: str) -> None:
        """These customers said yes to marketing messages."""
        async with self.storage.uow() as uow:
            for external_id in external_ids:
                customer = await uow.customers.by_external_id(external_id)
                assert customer is not None
                await customers.set_marketing_consent(uow, self.clock.now(), customer, True,
                                                      "stage")
            await uow.commit()

    async def create_campaign(self, yaml_text: str) -> int:
        """A draft campaign from a campaign file's text, as `careloop campaigns create`."""
        root = yamlfile.parse(yaml_text, "campaign.yaml")
        assert root is not None
        async with self.storage.uow() as uow:
            campaign = await campaigns.create(uow, self.clock.now(), load_campaign_from(root))
            await uow.commit()
        return campaign.id

    async def start_campaign(self, campaign_id: int) -> campaigns.Started:
        """As `careloop campaigns start ID --yes`."""
        async with self.storage.uow() as uow:
            started = await campaigns.start(uow, self.clock.now(),
                                            await campaigns.get(uow, campaign_id),
                                            confirm_above=0, confirmed=True,
                                            timezone=self.settings.timezone,
                                            bot_username=self.settings.bot_username)
            await uow.commit()
        return started

    async def campaign_stats(self, campaign_id: int) -> campaigns.Stats:
        async with self.storage.uow() as uow:
            return await campaigns.stats(uow, await campaigns.get(uow, campaign_id))

    async def campaign_round(self) -> int:
        """Plan the campaign runs that are due now, as the scheduler does every
        CARELOOP_CAMPAIGN_INTERVAL_SECONDS; returns how many messages were queued."""
        assert self.running is not None
        return await self.running.app.campaign_rounds.run()

    def advance(self, **delta: float) -> None:
        self.clock.advance(timedelta(**delta))

    async def deliver_due(self) -> int:
        """Run one sender tick now, next to the scheduler's (they never send a touch twice)."""
        assert self.running is not None
        return await self.running.app.sender.tick()

    # --- people -----------------------------------------------------------------------

    def customer(self, first_name: str, language_code: str = "en",
                 last_name: str | None = None) -> SandboxUser:
        return self.sandbox.add_user(first_name, last_name=last_name,
                                     language_code=language_code)

    async def say(self, user: SandboxUser, text: str, *, chat_id: int | None = None,
                  reply_to: int | None = None) -> SandboxMessage:
        return await self.sandbox.user_sends(user, text, chat_id=chat_id,
                                             reply_to_message_id=reply_to)

    def _community(self) -> int:
        if self.community_chat is None:
            raise AssertionError("this stage has no community group")
        return self.community_chat

    async def join(self, user: SandboxUser, *, added_by: SandboxUser | None = None,
                   only: str | None = None, wait: bool = True) -> SandboxMessage:
        """`user` joins the community group (Telegram tells the bot twice: a chat_member
        update and the service message; `only` one of them, "chat_member" or "service");
        returns the service message. `wait`: until careloop has recorded the join (it
        makes no Telegram call to wait for)."""
        message = await self.sandbox.user_joins(user, self._community(), added_by=added_by,
                                                only=only)
        if wait:
            await self.until(lambda: self.in_community(user, True), f"{user.id}'s join")
        return message

    async def leave(self, user: SandboxUser, *, removed_by: SandboxUser | None = None,
                    only: str | None = None, wait: bool = True) -> SandboxMessage:
        """`user` leaves the community group, or `removed_by` removes them; `wait`: until
        careloop has recorded it."""
        message = await self.sandbox.user_leaves(user, self._community(),
                                                 removed_by=removed_by, only=only)
        if wait:
            await self.until(lambda: self.in_community(user, False), f"{user.id}'s leave")
        return message

    async def in_community(self, user: SandboxUser, member: bool = True) -> bool:
        """Whether careloop's records have `user` in the community group (or out of it)."""
        async with self.storage.uow() as uow:
            row = await uow.community.member(user.id)
        return (row is not None and row.member) == member

    async def post(self, user: SandboxUser, text: str, *, reply_to: int | None = None
                   ) -> SandboxMessage:
        """`user` writes in the community group."""
        return await self.say(user, text, chat_id=self._community(), reply_to=reply_to)

    async def press(self, user: SandboxUser, message: SandboxMessage, label: str) -> str:
        """Press the button whose label contains `label`; returns the toast shown."""
        matches = [data for row in message.buttons for text, data in row
                   if label in text and data is not None]
        if len(matches) != 1:
            raise AssertionError(f"expected one button labelled {label!r}, got {message.buttons}")
        query_id = await self.sandbox.user_presses(user, message.chat_id, message.message_id,
                                                   matches[0])
        answer = await self.wait(lambda: next(
            (a for a in self.sandbox.callback_answers if a.query_id == query_id), None),
            f"an answer to the press on {label!r}")
        return answer.text or ""

    async def bot_says(self, chat_id: int, contains: str, *, after: int = 0) -> SandboxMessage:
        """The first bot message in this chat, newer than message id `after`, that contains
        `contains`; waits for it."""
        def find() -> SandboxMessage | None:
            return next((m for m in self.sandbox.bot_messages(chat_id)
                         if m.message_id > after and contains in (m.content or "")), None)
        return await self.wait(find, f"a bot message containing {contains!r} in chat {chat_id}")

    async def bot_offers(self, chat_id: int, label: str, *, after: int = 0) -> SandboxMessage:
        """The first bot message in this chat, newer than message id `after`, that shows a
        button whose label contains `label` now; waits for it."""
        def find() -> SandboxMessage | None:
            return next((m for m in self.sandbox.bot_messages(chat_id)
                         if m.message_id > after
                         and any(label in text for row in m.buttons for text, _ in row)), None)
        return await self.wait(find, f"a bot message with a {label!r} button in chat {chat_id}")

    async def wait(self, probe: Callable[[], T | None], what: str) -> T:
        """Wait until `probe` returns something, re-checked on every change in the sandbox."""
        return await self.sandbox.wait_for(probe, timeout=WAIT, what=what)

    async def quiet(self) -> None:
        """Wait until the bot has fetched every update and handled it, Telegram has been
        quiet for a moment and no sender tick is half-way, so what was sent is also
        recorded."""
        await self.sandbox.wait_idle(timeout=WAIT)
        if self.running is not None:
            # Fetched is not handled: updates are stored on arrival (bot.inbound).
            await asyncio.wait_for(self.running.app.inbound.idle(), timeout=WAIT)
            await self.running.app.sender.drain()

    async def until(self, probe: Callable[[], Awaitable[T | None]], what: str, *,
                    seconds: float = WAIT) -> T:
        """Wait for a condition in the database: polled, since storage sends no signal."""
        deadline = asyncio.get_running_loop().time() + seconds
        while True:
            value = await probe()
            if value:
                return value
            if asyncio.get_running_loop().time() > deadline:
                raise TimeoutError(f"waited {seconds}s for {what}")
            await asyncio.sleep(0.01)

    def last_id(self, chat_id: int) -> int:
        messages = self.sandbox.messages(chat_id)
        return messages[-1].message_id if messages else 0
