"""The composition root: builds every dependency once and passes it down."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from careloop.bot.cluster import Cluster
from careloop.bot.inbound import Inbound
from careloop.bot.jobs import STOP_GRACE_SECONDS, RoundRunner, Ticking, build_scheduler
from careloop.bot.metrics import Metrics
from careloop.bot.outbox.claims import Claims
from careloop.bot.outbox.executor import Executor
from careloop.bot.outbox.limiter import Limiter
from careloop.bot.outbox.outbound import Outbound
from careloop.bot.outbox.sender import Sender
from careloop.bot.outbox.webhooks import WebhookSender
from careloop.bot.pipeline import Pipeline
from careloop.bot.settings import ConfigError, Settings
from careloop.care.contact import ContactPolicy, QuietHours
from careloop.care.playbook.loader import load_playbook
from careloop.care.playbook.model import Playbook
from careloop.care.scripts.library import ScriptLibrary
from careloop.care.scripts.loader import load_scripts
from careloop.cases.routing import Routing
from careloop.cases.routing_loader import load_routing
from careloop.cases.sla import Levels, SlaPolicy
from careloop.customers.retention import Retention
from careloop.handlers.context import Context, ContextFactory, HandlerConfig, unlimited
from careloop.handlers.rounds import Decided
from careloop.handlers.rounds.campaigns import CampaignRounds
from careloop.handlers.rounds.desk_tick import CaseDesk
from careloop.handlers.rounds.surveys import SurveyRounds
from careloop.handlers.rounds.weekly_digest import DigestConfig, WeeklyDigest
from careloop.handlers.rounds.welcomes import Welcomes
from careloop.handlers.views.touch import TouchViews
from careloop.kernel.clock import Clock, SystemClock
from careloop.kernel.effects import Effect
from careloop.kernel.i18n import Catalogs
from careloop.kernel.messenger import BadRequest, Blocked, ChatNotFound, Messenger, MessengerError
from careloop.kernel.numbers import whole_number
from careloop.storage.engine import make_engine, make_session_factory
from careloop.storage.uow import UnitOfWorkFactory
from careloop.surveys.definitions import SurveyDefinitions
from careloop.surveys.lifecycle import Timing
from careloop.surveys.loader import load_surveys
from careloop.surveys.thresholds import Thresholds, load_thresholds
from careloop.surveys.weekly import DigestAt

log = logging.getLogger(__name__)


@dataclass
class Storage:
    engine: AsyncEngine
    uow: UnitOfWorkFactory

    async def close(self) -> None:
        await self.engine.dispose()


def build_storage(settings: Settings) -> Storage:
    engine = make_engine(settings.database_url)
    return Storage(engine, UnitOfWorkFactory(make_session_factory(engine)))


def handler_config(settings: Settings, surveys: SurveyDefinitions, *,
                   staff_forum: bool = False, routing: Routing | None = None,
                   forums: frozenset[int] = frozenset(), scripts: ScriptLibrary | None = None
                   ) -> HandlerConfig:
    secret = settings.link_secret.get_secret_value() if settings.link_secret else ""
    return HandlerConfig(
        staff_chat_id=settings.staff_chat_id,
        link_secret=secret,
        default_timezone=settings.timezone,
        staff_language=settings.staff_language,
        surveys=surveys,
        sla=sla_policy(settings, routing),
        promise_remind_before=timedelta(hours=settings.promise_remind_hours),
        callback_after=timedelta(hours=settings.callback_hours),
        callback_survey=settings.callback_survey,
        scripts=scripts or load_scripts(settings.scripts),
        owner_first_claim=timedelta(minutes=settings.owner_first_claim_minutes),
        staff_forum=staff_forum,
        campaign_confirm_above=settings.campaign_confirm_above,
        community_chat_id=settings.community_chat_id,
        bot_username=settings.bot_username,
        bot_id=bot_id(settings),
        export_per_day=settings.export_per_day,
        routing=routing if routing is not None else load_routing(settings.routing,
                                                                 settings.staff_chat_id),
        forums=forums,
        unlinked_inquiries=settings.unlinked_inquiries,
        quiet_hours=settings.quiet_hours,
        quiet_choices=settings.quiet_choices,
        cap_messages=settings.cap_messages,
        cap_window_days=settings.cap_window_days,
    )


def sla_policy(settings: Settings, routing: Routing | None = None) -> SlaPolicy:
    def hours(*values: float) -> Levels:
        urgent, important, normal = (timedelta(hours=v) for v in values)
        return Levels(urgent, important, normal)

    return SlaPolicy(
        respond=hours(settings.sla_urgent_hours, settings.sla_important_hours,
                      settings.sla_normal_hours),
        resolve=hours(settings.resolve_urgent_hours, settings.resolve_important_hours,
                      settings.resolve_normal_hours),
        escalate_after=timedelta(hours=settings.escalate_after_hours),
        calendar=settings.calendar,
        teams={team.name: team.calendar(settings.calendar)
               for team in (routing.teams if routing else ())})


def context_factory(settings: Settings, surveys: SurveyDefinitions, *,
                    catalogs: Catalogs | None = None, staff_forum: bool = False,
                    room: Callable[[int], int] = unlimited, routing: Routing | None = None,
                    forums: frozenset[int] = frozenset(),
                    scripts: ScriptLibrary | None = None) -> ContextFactory:
    """The one way a Context is made: the pipeline, the jobs and the commands all take it
    from here. `room`: the limiter's count of what a group takes this minute."""
    return ContextFactory(catalogs or Catalogs(default=settings.language),
                          handler_config(settings, surveys, staff_forum=staff_forum,
                                         routing=routing, forums=forums, scripts=scripts),
                          room=room)


def bot_id(settings: Settings) -> int | None:
    """The bot's own user id: a token starts with it ("123456:ABC...")."""
    if settings.bot_token is None:
        return None
    head = settings.bot_token.get_secret_value().split(":", 1)[0]
    return whole_number(head)


def survey_timing(settings: Settings) -> Timing:
    return Timing(
        remind_after=timedelta(hours=settings.survey_reminder_hours),
        expire_after=timedelta(days=settings.survey_expiry_days),
        comment_wait=timedelta(minutes=settings.survey_comment_wait_minutes),
    )


def contact_policy(settings: Settings) -> ContactPolicy:
    return ContactPolicy(
        quiet=QuietHours.parse(settings.quiet_hours),
        window=timedelta(days=settings.cap_window_days),
        cap_messages=settings.cap_messages,
        cap_surveys=settings.cap_surveys,
    )


@dataclass
class App:
    settings: Settings
    storage: Storage
    clock: Clock
    catalogs: Catalogs
    contexts: ContextFactory
    pipeline: Pipeline
    inbound: Inbound  # what a runtime feeds: the pipeline behind a fair queue
    sender: Sender
    desk: CaseDesk
    playbook: Playbook
    surveys: SurveyDefinitions
    survey_rounds: SurveyRounds
    campaign_rounds: CampaignRounds
    welcomes: Welcomes
    retention: Retention
    config: HandlerConfig
    rounds: RoundRunner
    digest: WeeklyDigest
    webhooks: WebhookSender
    cluster: Cluster  # this worker among the others on the database (bot.cluster)
    limiter: Limiter  # Telegram's limits, this worker's or shared (bot.outbox.shared_limits)
    metrics: Metrics  # what /metrics shows

    def scheduler(self) -> Ticking:
        return build_scheduler(self)

    async def start_ticking(self) -> Ticking:
        """Settle what a crash left in doubt, then start the sender's ticks and the scans."""
        await self.sender.recover()
        scheduler = self.scheduler()
        scheduler.start()
        return scheduler

    async def stop_ticking(self, scheduler: Ticking) -> None:
        """Let the sends in flight finish and be recorded, and every other job its last
        transaction; leave the rest pending."""
        scheduler.pause()
        # The long ones stop early: a broadcast between two messages, a round between two
        # surveys.
        await self.survey_rounds.stop()
        await self.sender.stop()
        await scheduler.stop(STOP_GRACE_SECONDS)
        await self.cluster.close()  # the leaderships go to the other workers now
        await self.limiter.close()

    async def carry_out(self, decide: Callable[[Context], Awaitable[Sequence[Effect]]]
                        ) -> tuple[list[Effect], list[Effect]]:
        """A decision made outside an update (an operator's command) goes the way a round's
        does: its change and its messages commit together, then the executor carries out
        its effects, waiting its turn however long. Returns the effects, and those of them
        Telegram did not apply."""
        async def decided(ctx: Context) -> Decided[list[Effect]]:
            effects = list(await decide(ctx))
            return Decided(effects, effects)

        return await self.rounds.carry(decided, patient=True)


@dataclass(frozen=True, slots=True)
class Definitions:
    """What the operator's files define: the surveys, the playbook that asks them, the
    KPI lines of the weekly digest and the script library (None: read when the app is
    built)."""

    surveys: SurveyDefinitions
    playbook: Playbook
    thresholds: Thresholds | None = None
    routing: Routing | None = None  # None: read when the app is built
    scripts: ScriptLibrary | None = None


def load_definitions(settings: Settings) -> Definitions:
    """A bad survey, playbook, thresholds, routing or script file stops the start here,
    with its one line."""
    surveys = load_surveys(settings.surveys)
    if settings.callback_hours and surveys.get(settings.callback_survey) is None:
        raise ConfigError(f"CARELOOP_CALLBACK_SURVEY: no survey {settings.callback_survey!r} "
                          f"is defined; the surveys are {', '.join(surveys.keys)}")
    scripts = load_scripts(settings.scripts)
    return Definitions(surveys, load_playbook(settings.playbook, surveys=surveys.keys,
                                              templates=scripts.care),
                       load_thresholds(settings.kpi_thresholds),
                       load_routing(settings.routing, settings.staff_chat_id), scripts)


def build_app(
    settings: Settings, messenger: Messenger, *, clock: Clock | None = None,
    storage: Storage | None = None, catalogs: Catalogs | None = None,
    definitions: Definitions | None = None, staff_forum: bool = False,
    forums: frozenset[int] = frozenset(),
) -> App:
    """`staff_forum`: the staff group is a forum (bot.serve asks Telegram at start);
    `forums`: which of the teams' groups are. Anything not given is built here from
    `settings`."""
    clock = clock or SystemClock()
    storage = storage or build_storage(settings)
    catalogs = catalogs or Catalogs(default=settings.language)
    definitions = definitions or load_definitions(settings)
    surveys, playbook = definitions.surveys, definitions.playbook
    # One limiter for every new message the bot sends: replies and touches share the limits.
    # It keeps the app's time, so a test or the demo that moves the clock moves its pauses.
    limiter = make_limiter(settings, clock)
    contexts = context_factory(settings, surveys, catalogs=catalogs, staff_forum=staff_forum,
                               room=limiter.room, routing=definitions.routing, forums=forums,
                               scripts=definitions.scripts)
    config = contexts.config
    # One owner id for this process's claims, made now: see bot/outbox/claims.py.
    claims = Claims(timedelta(seconds=settings.claim_lease_seconds))
    outbound = Outbound(storage.uow, messenger, clock, limiter, claims)
    executor = Executor(messenger, outbound)
    # The scheduled rounds decide as handlers do; this keeps and carries out what they decide.
    rounds = RoundRunner(storage.uow, clock, contexts, executor)
    pipeline = Pipeline(storage.uow, clock, contexts, executor)
    cluster = Cluster(storage.engine, shared_limits=settings.redis_url is not None)
    metrics = Metrics()
    app = App(
        settings=settings,
        storage=storage,
        clock=clock,
        catalogs=catalogs,
        contexts=contexts,
        pipeline=pipeline,
        inbound=Inbound(pipeline, storage.uow, clock, workers=settings.update_workers,
                        per_minute=settings.user_messages_per_minute,
                        arrivals_first=settings.database_url.startswith("sqlite"),
                        cluster=cluster, latency=metrics.update_latency.observe),
        sender=Sender(storage.uow, messenger, clock, TouchViews(contexts), limiter,
                      outbound, contact_policy(settings), rate=settings.rate,
                      paid=settings.paid_broadcast),
        desk=CaseDesk(rounds, clock, config),
        playbook=playbook,
        surveys=surveys,
        survey_rounds=SurveyRounds(rounds, survey_timing(settings)),
        campaign_rounds=CampaignRounds(rounds),
        welcomes=Welcomes(rounds, config.community_chat_id),
        retention=Retention(storage.uow, clock, timedelta(days=settings.retention_days)),
        config=config,
        rounds=rounds,
        digest=WeeklyDigest(rounds, digest_config(settings, definitions.thresholds)),
        webhooks=WebhookSender(storage.uow, clock, claims, settings.webhooks_timeout_seconds),
        cluster=cluster,
        limiter=limiter,
        metrics=metrics,
    )
    metrics.watch(app)
    return app


def make_limiter(settings: Settings, clock: Clock) -> Limiter:
    """This worker's limits, or every worker's through Redis (CARELOOP_REDIS_URL)."""
    local: dict[str, Any] = {"time_source": lambda: clock.now().timestamp()}
    if settings.redis_url is not None:
        from careloop.bot.outbox.shared_limits import SharedLimiter, bot_prefix, connect

        return SharedLimiter(connect(settings.redis_url.get_secret_value()), settings.rate,
                             settings.chat_interval_seconds,
                             settings.group_messages_per_minute,
                             prefix=bot_prefix(bot_id(settings)), **local)
    return Limiter(settings.rate, settings.chat_interval_seconds,
                   settings.group_messages_per_minute, **local)


def digest_config(settings: Settings, thresholds: Thresholds | None = None) -> DigestConfig:
    chat = settings.digest_chat_id or settings.staff_chat_id
    return DigestConfig(chat_id=chat if settings.digest_enabled else None,
                        at=DigestAt.parse(settings.digest_at),
                        thresholds=thresholds or load_thresholds(settings.kpi_thresholds),
                        repurchase_days=settings.repurchase_days)


async def staff_forum(messenger: Messenger, chat_id: int | None, *,
                      required: bool = False) -> bool:
    """Is the staff group a forum (one topic per case) or a plain group (cards threaded by
    replies)? Asked once at start; a group converted later is seen after a restart.
    `required`: a group Telegram cannot find (or will not show the bot) stops the start."""
    if chat_id is None:
        return False
    try:
        return await messenger.is_forum(chat_id)
    except (ChatNotFound, Blocked, BadRequest) as exc:
        if required:
            raise ConfigError(
                f"CARELOOP_STAFF_CHAT_ID: Telegram cannot find the staff group {chat_id} "
                f"({type(exc).__name__}): add the bot to the group and check the id (a "
                "supergroup's starts with -100), or set CARELOOP_REQUIRE_STAFF_CHAT=false to "
                "run without it") from None
        log.warning("could not look up the staff group (%s): treating it as a plain group",
                    type(exc).__name__)
        return False
    except MessengerError as exc:
        log.warning("could not look up the staff group (%s): treating it as a plain group",
                    type(exc).__name__)
        return False


async def build_app_on_telegram(
    settings: Settings, messenger: Messenger, *, clock: Clock | None = None,
    storage: Storage | None = None, catalogs: Catalogs | None = None,
    definitions: Definitions | None = None, staff_required: bool = False,
) -> App:
    """`build_app` for careloop's own bot (`careloop run`, or an operator's command whose
    change must show in Telegram): Telegram is asked first whether the staff group is a
    forum. `staff_required`: see staff_forum."""
    forum = await staff_forum(messenger, settings.staff_chat_id, required=staff_required)
    definitions = definitions or load_definitions(settings)
    routing = definitions.routing or Routing.single(settings.staff_chat_id)
    # Each team's group is asked too: one may be a forum and another a plain group.
    forums = frozenset([chat for chat in sorted(routing.chats)
                        if chat != settings.staff_chat_id and await staff_forum(messenger, chat)])
    return build_app(settings, messenger, clock=clock, storage=storage, catalogs=catalogs,
                     definitions=definitions, staff_forum=forum, forums=forums)
