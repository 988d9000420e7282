"""A marketer's campaigns in the chat: the list, one campaign's card with its audience or
its numbers, and its buttons (test to me, start, pause, resume, cancel)."""

from __future__ import annotations

from html import escape

from careloop.campaigns import lifecycle as campaigns
from careloop.campaigns.lifecycle import CampaignProblem
from careloop.handlers.marketer import views
from careloop.handlers.middleware import Press, Request
from careloop.handlers.views.campaign_message import test_messages
from careloop.kernel.effects import Effect, Send
from careloop.kernel.numbers import whole_number
from careloop.kernel.updates import Keyboard
from careloop.storage.models import Campaign, CampaignState, StaffMember

ACTION = "campaign"
LIST_LIMIT = 20
SHOWN_LIMIT = 20  # of what was typed after /campaign, quoted back in the answer


async def on_list(req: Request, member: StaffMember) -> list[Effect]:
    """/campaigns: the latest campaigns, one line each."""
    rows = await req.ctx.uow.campaigns.listing(LIST_LIMIT)
    if not rows:
        return [Send(req.chat_id, req._("No campaigns yet. Send /campaign to write one."))]
    lines = [views.summary(req.tr, c, html=True) for c in rows]
    lines.append(req._("Send /campaign N to see one, /campaign to write a new one."))
    return [Send(req.chat_id, "\n".join(lines))]


async def on_card(req: Request, member: StaffMember) -> list[Effect]:
    """/campaign N: the campaign's card. N is whatever was typed: anything but a campaign's
    number is answered that there is no such campaign."""
    typed = req.update.command_args.strip()
    campaign_id = whole_number(typed, max_digits=9)
    campaign = None if campaign_id is None else await req.ctx.uow.campaigns.get(campaign_id)
    if campaign is None:
        shown = typed if len(typed) <= SHOWN_LIMIT else typed[:SHOWN_LIMIT] + "…"
        return [Send(req.chat_id, req._("There is no campaign {id}.").format(
            id=escape(shown)))]
    return await card(req, campaign)


async def card(req: Request, campaign: Campaign, *, created: bool = False) -> list[Effect]:
    """A draft shows who it would reach; a started campaign shows what it did."""
    ctx, tr = req.ctx, req.tr
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
    row = [await ctx.button(label, ACTION, campaign.id, req.chat_id, value)
           for value, label in buttons]
    return [Send(req.chat_id, body, keyboard=Keyboard.of(row))]


async def on_button(press: Press, member: StaffMember) -> list[Effect]:
    campaign = await press.ctx.uow.campaigns.get(press.subject)
    if campaign is None:
        return press.no_longer_valid()
    try:
        return await _act(press, member, campaign)
    except CampaignProblem as exc:
        return [press.toast(),
                Send(press.chat_id, press._("Sorry: {problem}.").format(
                    problem=escape(str(exc))))]


async def _act(press: Press, member: StaffMember, campaign: Campaign) -> list[Effect]:
    ctx, tr, chat, action = press.ctx, press.tr, press.chat_id, press.value
    done = press.toast()
    if action == "test":
        user = press.update.user
        values = {"first_name": user.first_name, "name": user.full_name, "tier": "vip"}
        return [done, *await test_messages(ctx, campaigns.spec_of(campaign), campaign.id,
                                           chat, tr.language, values)]
    if action in ("start", "confirm"):
        started = await campaigns.start(ctx.uow, ctx.now, campaign,
                                        confirm_above=ctx.config.campaign_confirm_above,
                                        confirmed=action == "confirm",
                                        timezone=ctx.config.default_timezone,
                                        bot_username=ctx.config.bot_username)
        if started.first_run is None:
            label = tr.gettext("Yes, start it for {n}").format(n=tr.decimal(started.recipients))
            confirm = await ctx.button(label, ACTION, campaign.id, chat, "confirm")
            return [done, Send(chat, tr.gettext(
                "This campaign would reach {n} customers. Start it?").format(
                    n=tr.decimal(started.recipients)), keyboard=Keyboard.of([confirm]))]
        return [done, Send(chat, tr.gettext(
            "Started: {n} customers would get it now; the first run is planned for {when}."
        ).format(n=tr.decimal(started.recipients),
                 when=tr.datetime(started.first_run.plan_at, ctx.config.default_timezone)))]
    if action == "pause":
        held = await campaigns.pause(ctx.uow, campaign)
        return [done, Send(chat, tr.gettext(
            "Paused; {n} messages are held until you resume.").format(n=tr.decimal(held)))]
    if action == "resume":
        released = await campaigns.resume(ctx.uow, ctx.now, campaign,
                                          ctx.config.default_timezone)
        return [done, Send(chat, tr.gettext(
            "Resumed; {n} held messages go out again.").format(n=tr.decimal(released)))]
    if action == "cancel":
        stopped = await campaigns.cancel(ctx.uow, campaign)
        return [done, Send(chat, tr.gettext(
            "Cancelled; {n} messages not yet sent will not go out.").format(
                n=tr.decimal(stopped)))]
    return [done, *await card(press, campaign)]
