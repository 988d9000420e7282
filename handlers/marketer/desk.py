"""A marketer's campaigns in the chat: the list, one campaign's card with its audience or
its numbers, and its buttons (test to me, start, pause, resume, cancel)."""

from __future__ import annotations

from html import escape

from careloop.campaigns import lifecycle as campaigns
from careloop.campaigns.lifecycle import CampaignProblem
from careloop.handlers.context import Context
from careloop.handlers.marketer import access, views
from careloop.handlers.views.campaign_message import test_messages
from careloop.kernel.effects import Effect, Send, Toast
from careloop.kernel.updates import Keyboard, Update
from careloop.storage.models import CallbackKey, Campaign, CampaignState, StaffMember

ACTION = "campaign"
LIST_LIMIT = 20


async def on_list(update: Update, ctx: Context) -> list[Effect]:
    """/campaigns: the latest campaigns, one line each."""
    if await access.marketer(update, ctx) is None:
        return access.refusal(update, ctx)
    tr = ctx.tr(update.user.language_code)
    rows = await ctx.uow.campaigns.listing(LIST_LIMIT)
    if not rows:
        return [Send(update.chat.id, tr.gettext("No campaigns yet. Send /campaign to write one."))]
    lines = [views.summary(tr, c, html=True) for c in rows]
    lines.append(tr.gettext("Send /campaign N to see one, /campaign to write a new one."))
    return [Send(update.chat.id, "\n".join(lines))]


async def on_card(update: Update, ctx: Context, campaign_id: int) -> list[Effect]:
    """/campaign N: the campaign's card."""
    if await access.marketer(update, ctx) is None:
        return access.refusal(update, ctx)
    campaign = await ctx.uow.campaigns.get(campaign_id)
    if campaign is None:
        tr = ctx.tr(update.user.language_code)
        return [Send(update.chat.id, tr.gettext("There is no campaign {id}.").format(
            id=campaign_id))]
    return await card(update, ctx, campaign)


async def card(update: Update, ctx: Context, campaign: Campaign, *,
               created: bool = False) -> list[Effect]:
    """A draft shows who it would reach; a started campaign shows what it did."""
    tr = ctx.tr(update.user.language_code)
    assert campaign.id is not None
    if campaign.state == CampaignState.DRAFT:
        found = await campaigns.find_audience(ctx.uow, campaigns.spec_of(campaign), ctx.now)
        body = f"{views.summary(tr, campaign, html=True)}\n{views.audience_text(tr, found)}"
        if created:
            body = tr.gettext("Saved as a draft.") + "\n" + body
    else:
        body = views.stats_text(tr, await campaigns.stats(ctx.uow, campaign), html=True)
    buttons = {
        CampaignState.DRAFT: (("test", tr.gettext("Test to me")), ("start", tr.gettext("Start")),
                              ("cancel", tr.gettext("Cancel"))),
        CampaignState.ACTIVE: (("pause", tr.gettext("Pause")), ("cancel", tr.gettext("Cancel")),
                               ("refresh", tr.gettext("Refresh"))),
        CampaignState.PAUSED: (("resume", tr.gettext("Resume")),
                               ("cancel", tr.gettext("Cancel"))),
        CampaignState.FINISHED: (("pause", tr.gettext("Pause")), ("cancel", tr.gettext("Cancel")),
                                 ("refresh", tr.gettext("Refresh"))),
    }.get(CampaignState(campaign.state), (("refresh", tr.gettext("Refresh")),))
    row = [await ctx.button(label, ACTION, campaign.id, update.chat.id, value)
           for value, label in buttons]
    return [Send(update.chat.id, body, keyboard=Keyboard.of(row))]


async def on_button(update: Update, ctx: Context, key: CallbackKey) -> list[Effect]:
    assert update.callback_id is not None
    member = await access.marketer(update, ctx)
    if member is None:
        return access.refusal(update, ctx)
    tr = ctx.tr(update.user.language_code)
    campaign = await ctx.uow.campaigns.get(key.subject_id)
    if campaign is None:
        return [Toast(update.callback_id, tr.gettext("This button is no longer valid."))]
    try:
        return await _act(update, ctx, member, campaign, key.value)
    except CampaignProblem as exc:
        return [Toast(update.callback_id),
                Send(update.chat.id, tr.gettext("Sorry: {problem}.").format(
                    problem=escape(str(exc))))]


async def _act(update: Update, ctx: Context, member: StaffMember, campaign: Campaign,
               action: str) -> list[Effect]:
    assert update.callback_id is not None and campaign.id is not None
    tr = ctx.tr(update.user.language_code)
    done = Toast(update.callback_id)
    if action == "test":
        values = {"first_name": update.user.first_name, "name": update.user.full_name,
                  "tier": "vip"}
        return [done, *await test_messages(ctx, campaigns.spec_of(campaign), campaign.id,
                                           update.chat.id, tr.language, values)]
    if action in ("start", "confirm"):
        started = await campaigns.start(ctx.uow, ctx.now, campaign,
                                        confirm_above=ctx.config.campaign_confirm_above,
                                        confirmed=action == "confirm",
                                        timezone=ctx.config.default_timezone,
                                        bot_username=ctx.config.bot_username)
        if started.first_run is None:
            label = tr.gettext("Yes, start it for {n}").format(n=tr.decimal(started.recipients))
            confirm = await ctx.button(label, ACTION, campaign.id, update.chat.id, "confirm")
            return [done, Send(update.chat.id, tr.gettext(
                "This campaign would reach {n} customers. Start it?").format(
                    n=tr.decimal(started.recipients)), keyboard=Keyboard.of([confirm]))]
        return [done, Send(update.chat.id, tr.gettext(
            "Started: {n} customers would get it now; the first run is planned for {when}."
        ).format(n=tr.decimal(started.recipients),
                 when=tr.datetime(started.first_run.plan_at, ctx.config.default_timezone)))]
    if action == "pause":
        held = await campaigns.pause(ctx.uow, campaign)
        return [done, Send(update.chat.id, tr.gettext(
            "Paused; {n} messages are held until you resume.").format(n=tr.decimal(held)))]
    if action == "resume":
        released = await campaigns.resume(ctx.uow, ctx.now, campaign,
                                          ctx.config.default_timezone)
        return [done, Send(update.chat.id, tr.gettext(
            "Resumed; {n} held messages go out again.").format(n=tr.decimal(released)))]
    if action == "cancel":
        stopped = await campaigns.cancel(ctx.uow, campaign)
        return [done, Send(update.chat.id, tr.gettext(
            "Cancelled; {n} messages not yet sent will not go out.").format(
                n=tr.decimal(stopped)))]
    return [done, *await card(update, ctx, campaign)]
