"""`careloop campaigns ...`: marketing campaigns from the command line, the same operations
the /campaign wizard offers in the chat."""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from collections.abc import Awaitable, Callable
from pathlib import Path

from careloop.bot.cli.console import (
    CUSTOMER,
    CUSTOMER_HELP,
    FORMAT_HELP,
    CliError,
    Command,
    Console,
    find_customer,
    handles,
)
from careloop.bot.outbox.outbound import Outbound
from careloop.campaigns import lifecycle as campaigns
from careloop.campaigns.lifecycle import CampaignProblem
from careloop.campaigns.loader import CampaignError, load_campaign
from careloop.campaigns.spec import CampaignSpec
from careloop.handlers.marketer import views
from careloop.handlers.marketer.access import CAMPAIGN_ROLES
from careloop.handlers.marketer.preview import preview
from careloop.handlers.views.campaign_message import (
    message_language,
    test_messages,
)
from careloop.storage.models import Campaign
from careloop.storage.uow import UnitOfWork

CAMPAIGN_ID_HELP = "the campaign's number, as `campaigns list` shows it"


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    camp = sub.add_parser("campaigns", help="marketing campaigns: create, preview, test, "
                          "start, stats")
    c_sub = camp.add_subparsers(dest="campaigns_command", required=True, metavar="ACTION")
    create = c_sub.add_parser("create", help="create a draft campaign from a YAML file")
    create.add_argument("file", type=Path, metavar="FILE",
                        help="the campaign's YAML file (see the README's Campaigns)")
    handles(create, cmd_create)
    handles(c_sub.add_parser("list", help="the campaigns, newest first"), cmd_list)
    preview = c_sub.add_parser("preview", help="the message as one customer would get it")
    preview.add_argument("id", type=int, metavar="CAMPAIGN_ID", help=CAMPAIGN_ID_HELP)
    preview.add_argument("--customer", required=True, metavar=CUSTOMER, help=CUSTOMER_HELP)
    handles(preview, cmd_preview)
    test = c_sub.add_parser("test", help="send the campaign to a marketer's own chat")
    test.add_argument("id", type=int, metavar="CAMPAIGN_ID", help=CAMPAIGN_ID_HELP)
    test.add_argument("--to", type=int, default=None, metavar="TELEGRAM_USER_ID",
                      help="a marketer or admin (default: whoever wrote the campaign in the "
                      "chat)")
    handles(test, cmd_test)
    for name, about in (("dry-run", "count who it would reach and who is excluded, and why"),
                        ("pause", "hold the messages not yet sent and plan no more runs"),
                        ("resume", "release held messages and plan runs again"),
                        ("cancel", "stop the campaign for good")):
        action = c_sub.add_parser(name, help=about)
        action.add_argument("id", type=int, metavar="CAMPAIGN_ID", help=CAMPAIGN_ID_HELP)
        handles(action, _BY_ID[name])
    start = c_sub.add_parser("start", help="start a draft: its runs go out on schedule")
    start.add_argument("id", type=int, metavar="CAMPAIGN_ID", help=CAMPAIGN_ID_HELP)
    start.add_argument("--yes", action="store_true",
                       help="confirm a start to more than CARELOOP_CAMPAIGN_CONFIRM_ABOVE "
                       "customers")
    handles(start, cmd_start)
    stats = c_sub.add_parser("stats", help="what the campaign delivered, per variant")
    stats.add_argument("id", type=int, metavar="CAMPAIGN_ID", help=CAMPAIGN_ID_HELP)
    stats.add_argument("--format", choices=("text", "json"), default="text", help=FORMAT_HELP)
    handles(stats, cmd_stats)


async def _campaign(uow: UnitOfWork, campaign_id: int) -> Campaign:
    try:
        return await campaigns.get(uow, campaign_id)
    except CampaignProblem as exc:
        raise CliError(str(exc)) from None


async def cmd_create(args: argparse.Namespace, console: Console) -> int:
    try:
        spec = load_campaign(args.file)
    except CampaignError as exc:
        raise CliError(f"{exc}; nothing was created") from None
    tr = console.tr
    async with console.storage.uow() as uow:
        campaign = await campaigns.create(uow, console.now(), spec)
        found = await campaigns.find_audience(uow, spec, console.now())
        languages = await campaigns.audience_languages(uow, spec, console.now())
        await uow.commit()
    print(f"campaign {campaign.id} created as a draft")
    print(views.summary(tr, campaign))
    print(views.audience_text(tr, found))
    for warning in _missing_languages(console, spec, languages):
        print(f"careloop: warning: {warning}", file=sys.stderr)
    return 0


def _missing_languages(console: Console, spec: CampaignSpec, languages: Counter[str]
                       ) -> list[str]:
    """The languages the segment's customers read that a variant has no text in: they
    would get the campaign in another language."""
    catalogs = console.catalogs
    read: Counter[str] = Counter()
    for stored, n in languages.items():
        read[catalogs.language_for(stored)] += n
    warnings = []
    for language, n in sorted(read.items()):
        lacking = [v for v in spec.variants
                   if message_language(v, language, catalogs.default) != language]
        if not lacking:
            continue
        falls_back = message_language(lacking[0], language, catalogs.default)
        which = ("the campaign has no text" if len(lacking) == len(spec.variants) else
                 "variant " + ", ".join(v.name for v in lacking) + " has no text")
        warnings.append(f"{n} customer(s) in the segment read {language}: {which} in it, so "
                        f"they would get the {falls_back} text; add a `{language}:` text to "
                        "reach them in their language")
    return warnings


async def cmd_list(args: argparse.Namespace, console: Console) -> int:
    tr = console.tr
    async with console.storage.uow() as uow:
        rows = await uow.campaigns.listing(limit=1000)
    for campaign in rows:
        print(views.summary(tr, campaign))
    if not rows:
        print("no campaigns yet; create one with `careloop campaigns create FILE.yaml`")
    return 0


async def cmd_preview(args: argparse.Namespace, console: Console) -> int:
    async with console.storage.uow() as uow:
        campaign = await _campaign(uow, args.id)
        customer = await find_customer(uow, args.customer)
        shown = await preview(console.context(uow), campaign, customer)
        await uow.rollback()  # a preview stores nothing, not even its buttons' keys
    if not shown.in_segment:
        print(f"customer {args.customer} is not in campaign {args.id}'s segment "
              f"({views.segment_text(console.tr, shown.spec.segment)}): they would not get it")
        return 0
    message = shown.message
    print(f"variant {shown.variant}, language {message.language}")
    if message.language != shown.reads:
        print(f"note: this customer reads {shown.reads}, and this variant has no text in it: "
              f"they would get the {message.language} text")
    if message.photo:
        print(f"[photo] {message.photo}")
    print(message.text)
    for row in message.keyboard.rows:
        for button in row:
            print(f"[{button.text}]" + (f" → {button.url}" if button.url else ""))
    if shown.problem:
        print(f"note: this customer would not get it now: {shown.problem}")
    return 0


async def cmd_test(args: argparse.Namespace, console: Console) -> int:
    async with console.storage.uow() as uow:
        ctx = console.context(uow)
        campaign = await _campaign(uow, args.id)
        if args.to is not None:
            member = await uow.staff.by_telegram_user(args.to)
        elif campaign.created_by is not None:
            member = await uow.staff.get(campaign.created_by)
        else:
            raise CliError("--to is needed: this campaign was created from a file")
        if member is None or member.role not in CAMPAIGN_ROLES:
            raise CliError(f"{args.to} is not a registered marketer or admin "
                                   "(careloop staff add ID --role marketer)")
        values = {"first_name": (member.name or "").split(" ")[0], "name": member.name or "",
                  "tier": "vip"}
        try:
            sends = await test_messages(ctx, campaigns.spec_of(campaign), args.id,
                                        member.telegram_user_id, console.settings.language, values)
        except CampaignProblem as exc:
            raise CliError(str(exc)) from None
        for send in sends:
            await Outbound.enqueue(uow, send, ctx.now)
        await uow.commit()
    print(f"{len(sends)} test message(s) queued for {member.telegram_user_id}; the running bot "
          "sends them within seconds (the marketer must have started a chat with the bot)")
    return 0


async def cmd_dry_run(args: argparse.Namespace, console: Console) -> int:
    tr = console.tr
    async with console.storage.uow() as uow:
        campaign = await _campaign(uow, args.id)
        found = await campaigns.find_audience(uow, campaigns.spec_of(campaign),
                                              console.now())
    print(views.summary(tr, campaign))
    print(views.audience_text(tr, found))
    return 0


async def cmd_start(args: argparse.Namespace, console: Console) -> int:
    tr, settings = console.tr, console.settings
    async with console.storage.uow() as uow:
        campaign = await _campaign(uow, args.id)
        try:
            started = await campaigns.start(uow, console.now(), campaign,
                                            confirm_above=settings.campaign_confirm_above,
                                            confirmed=args.yes, timezone=settings.timezone,
                                            bot_username=settings.bot_username)
        except CampaignProblem as exc:
            raise CliError(str(exc)) from None
        if started.first_run is None:
            raise CliError(
                f"campaign {args.id} would reach {started.recipients} customers, more than "
                f"CARELOOP_CAMPAIGN_CONFIRM_ABOVE ({settings.campaign_confirm_above}); run "
                f"`careloop campaigns start {args.id} --yes` to start it")
        await uow.commit()
    print(f"campaign {args.id} started: {started.recipients} customers would get it now; "
          "first run planned at "
          f"{tr.datetime(started.first_run.plan_at, settings.timezone)}")
    return 0


def _change(verb: str, act: Callable[[UnitOfWork, Campaign, Console], Awaitable[int]],
            what: str) -> Command:
    async def command(args: argparse.Namespace, console: Console) -> int:
        async with console.storage.uow() as uow:
            campaign = await _campaign(uow, args.id)
            try:
                count = await act(uow, campaign, console)
            except CampaignProblem as exc:
                raise CliError(str(exc)) from None
            await uow.commit()
        print(f"campaign {args.id} {verb}; {count} message(s) {what}")
        return 0
    return command


async def cmd_stats(args: argparse.Namespace, console: Console) -> int:
    tr = console.tr
    async with console.storage.uow() as uow:
        campaign = await _campaign(uow, args.id)
        stats = await campaigns.stats(uow, campaign)
    if args.format == "json":
        print(json.dumps(views.stats_json(stats), ensure_ascii=False, indent=2))
    else:
        print(views.stats_text(tr, stats))
    return 0


_BY_ID: dict[str, Command] = {
    "dry-run": cmd_dry_run,
    "pause": _change("paused", lambda uow, c, _: campaigns.pause(uow, c), "held"),
    "resume": _change("resumed", lambda uow, c, console: campaigns.resume(
        uow, console.now(), c, console.settings.timezone), "released"),
    "cancel": _change("cancelled", lambda uow, c, _: campaigns.cancel(uow, c), "cancelled"),
}
