"""The community group: joins and leaves, help requests, and commands sent there.

Everything said in the group is public, so nothing careloop posts there is about one
customer: answers that concern someone go to their private chat, and the group only sees
a generic pointer to it (with a button that opens the bot).
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from html import escape

from careloop.cases import lifecycle as cases
from careloop.cases.routing import CaseKind
from careloop.customers import community
from careloop.customers import directory as customers
from careloop.customers.timeline import record
from careloop.handlers import casework, customer
from careloop.handlers.context import Context
from careloop.handlers.middleware import Request
from careloop.handlers.rounds import desk
from careloop.handlers.routing import Router, command, member_change, message
from careloop.kernel import deeplink
from careloop.kernel.effects import Effect, LogAs, Send, Toast
from careloop.kernel.messenger import clip
from careloop.kernel.updates import Button, Chat, ChatKind, Keyboard, Update
from careloop.storage.models import Case, CommunityWelcome, Customer

QUESTION_LIMIT = 4000  # what a case keeps of a question (a Telegram message is 4096 at most)

# Everyone in the group reads their own Telegram language: a member may have no record.
Handler = Callable[[Request], Awaitable[list[Effect]]]


async def handle(update: Update, ctx: Context) -> list[Effect] | None:
    if update.callback_id is not None:
        # careloop's group messages carry only links, never callback keys: nothing to look
        # up, only the spinner to stop.
        return [Toast(update.callback_id)]
    route = await ROUTES.pick(update, ctx)
    return None if route is None else await route.handler(
        Request(update, ctx, ctx.tr(update.user.language_code)))


async def on_member_change(req: Request) -> list[Effect]:
    """A join, leave or removal (either report of it): into the member's record."""
    change = req.update.member_change
    assert change is not None
    for member in change.members:
        if not member.is_bot:  # bots added to the group are not customers
            await community.change(req.ctx.uow, req.ctx.now, member.id, change.status)
    return []


async def on_message(req: Request) -> list[Effect]:
    """A message to the bot is a help request; members talking among themselves are not."""
    update, config = req.update, req.ctx.config
    question = addressed_to_bot(update.text or update.caption or "", update.reply_to_user_id,
                                config.bot_id, config.bot_username)
    if question is None:
        return []
    return await on_help_request(req, question)


# --- help requests -----------------------------------------------------------------------


def addressed_to_bot(text: str, reply_to_user_id: int | None, bot_id: int | None,
                     bot_username: str | None) -> str | None:
    """The question in a group message meant for the bot (it mentions the bot, or replies
    to one of its messages), without the mention; None for a message meant for others."""
    mention = re.compile(rf"@{re.escape(bot_username)}\b", re.IGNORECASE) \
        if bot_username else None
    mentioned = mention is not None and mention.search(text) is not None
    if not mentioned and (reply_to_user_id is None or reply_to_user_id != bot_id):
        return None
    if mention is not None:
        text = mention.sub(" ", text)
    return " ".join(text.split())


def open_bot_button(ctx: Context, label: str) -> Keyboard | None:
    """A button that opens the bot's private chat (no record named: the link is plain)."""
    username = ctx.config.bot_username
    if not username:
        return None
    return Keyboard.of([Button(label, url=deeplink.url(deeplink.COMMUNITY, username))])


async def on_help_request(req: Request, question: str) -> list[Effect]:
    """A question to the bot in the group: staff get a case with the question, and the
    group a short public answer that moves the conversation to the private chat. A further
    question while the case is open joins the case; its asker, when the bot can reach
    them privately, is answered there alone, so the group is not filled with replies."""
    update, ctx, _ = req.update, req.ctx, req._
    button = open_bot_button(ctx, _("💬 Open a private chat"))
    chat = update.chat.id
    if not question:
        return [Send(chat, _("Hello! Ask me your question in a private chat, where only our "
                             "team can read it."), keyboard=button,
                     reply_to=update.message_id)]
    found = await ctx.uow.customers.by_telegram_user(update.user.id)
    person = found or await customers.register_unlinked(
        # A private chat's id is the user's id: staff answers go there once it is opened.
        ctx.uow, ctx.now, update.user, update.user.id, req.tr.language,
        ctx.config.default_timezone, secret=ctx.config.link_secret)
    reachable = found is not None and found.chat_id is not None and not found.unreachable
    open_case = await ctx.uow.cases.open_for(person.id)
    effects: list[Effect] = []
    if open_case is None or not reachable:
        effects.append(Send(chat, _(
            "Thank you! I have passed your question to our team. They will answer you in a "
            "private chat with me: tap below to open it."), keyboard=button,
            reply_to=update.message_id))
    effects += await _to_staff(update, ctx, person, open_case, clip(question, QUESTION_LIMIT))
    if reachable:
        assert found is not None and found.chat_id is not None
        mine = ctx.tr(found.language).gettext(
            "We have your question from the community group. Someone from our team will "
            "answer you here.")
        effects.append(Send(found.chat_id, mine, log=LogAs(person.id)))
    return effects


async def _to_staff(update: Update, ctx: Context, person: Customer, open_case: Case | None,
                    question: str) -> list[Effect]:
    """A new case with the question, or the question added to the case already open."""
    if open_case is not None:
        await record(ctx.uow, ctx.now, person.id, "help_request", "in", question,
                     case_id=open_case.id)
        return await casework.relay_to_staff(_in_private(update, person), ctx, person,
                                             open_case.id, question)
    team, priority = casework.routed(ctx, person, None, question)
    case = await cases.open_case(ctx.uow, ctx.now, person.id, priority, None,
                                 ctx.config.sla, question=question, kind=CaseKind.COMMUNITY,
                                 team=team.name)
    await record(ctx.uow, ctx.now, person.id, "help_request", "in", question, case_id=case.id)
    return list(await desk.post_cards(ctx))


def _in_private(update: Update, person: Customer) -> Update:
    """The update as if sent in the person's private chat: whatever answers it goes there."""
    chat_id = person.chat_id if person.chat_id is not None else update.user.id
    return replace(update, chat=Chat(chat_id, ChatKind.PRIVATE), reply_to_message_id=None,
                   reply_to_user_id=None, topic_id=None)


# --- commands ----------------------------------------------------------------------------


def command_for_bot(text: str, bot_username: str | None) -> bool:
    """"/stop" and "/stop@thisbot" are for this bot; "/stop@otherbot" is not."""
    head = text.split(maxsplit=1)[0] if text else ""
    _, at, name = head.partition("@")
    return not at or (bot_username is not None and name.lower() == bot_username.lower())


async def on_command(req: Request) -> list[Effect]:
    """A private command (/stop, /language, ...) sent in the group: answered in the
    sender's private chat when they have one with the bot, else a public hint to use it.
    Either way the group sees nothing about them."""
    update, ctx, _ = req.update, req.ctx, req._
    if not command_for_bot(update.text or "", ctx.config.bot_username):
        return []
    person = await ctx.uow.customers.by_telegram_user(update.user.id)
    if person is not None and person.chat_id is not None and not person.unreachable:
        return await customer.handle(_in_private(update, person), ctx) or []
    return [Send(update.chat.id, _("Please send me commands in a private chat: tap below to "
                                   "open it."),
                 keyboard=open_bot_button(ctx, _("💬 Open a private chat")),
                 reply_to=update.message_id)]


# --- the routes --------------------------------------------------------------------------

ROUTES: Router[Handler] = Router(
    member_change(on_member_change),
    command(None, on_command),
    message(on_message),
)


# --- the welcome -------------------------------------------------------------------------
#
# Joins close together share one welcome: it is posted once the first joiner not yet
# welcomed has waited WELCOME_WINDOW (others may follow), and no sooner than WELCOME_GAP
# after the previous welcome, which it then deletes. So a burst of any size costs the
# group at most two messages a minute (of the 20 Telegram allows), and every joiner is
# counted in exactly one welcome (the group sees the latest); only someone who left before
# their welcome was posted is left out of it.

WELCOME_WINDOW = timedelta(seconds=10)
WELCOME_GAP = timedelta(seconds=30)


@dataclass(frozen=True, slots=True)
class WelcomePlan:
    greets: tuple[int, ...]  # the joiners (Telegram user ids) this welcome counts
    delete: int | None  # the previous welcome's message, to take down once this is posted


def plan_welcome(waiting: Sequence[tuple[int, datetime]], now: datetime,
                 last_posted: datetime | None, last_message: int | None,
                 room: int) -> WelcomePlan | None:
    """Whether to post a welcome now and whom it counts. `waiting`: (user id, joined at)
    of the joiners not yet welcomed; `last_*`: the previous welcome; `room`: how many
    more messages the group takes this minute. None: not yet."""
    if not waiting or room <= 0:
        return None
    if now - min(at for _, at in waiting) < WELCOME_WINDOW:
        return None  # more may be on their way
    if last_posted is not None and now - last_posted < WELCOME_GAP:
        return None
    return WelcomePlan(tuple(user for user, _ in waiting), last_message)


@dataclass(frozen=True, slots=True)
class Welcome:
    send: Send
    greets: int
    delete: int | None


async def welcome(ctx: Context) -> Welcome | None:
    """The welcome to post now, its joiners marked welcomed in the caller's unit of work;
    None when there is none to post yet."""
    chat = ctx.config.community_chat_id
    if chat is None:
        return None
    waiting = [(m.telegram_user_id, m.joined_at) for m in
               await ctx.uow.community.awaiting_welcome() if m.joined_at is not None]
    if not waiting:
        return None  # the tick's usual case: one indexed read and done
    last = await ctx.uow.community.last_welcome()
    room = ctx.room(chat) - await ctx.uow.outbox.waiting_count(chat)
    plan = plan_welcome(waiting, ctx.now, last[0].posted_at if last else None,
                        last[1] if last else None, room)
    if plan is None:
        return None
    greeted = await ctx.uow.community.take_welcomed(plan.greets)
    if not greeted:
        return None  # another worker posted it
    tr = ctx.tr(None)
    send = Send(chat, welcome_text(ctx, len(greeted)),
                keyboard=open_bot_button(ctx, tr.gettext("💬 Chat with us privately")))
    return Welcome(send, len(greeted), plan.delete)


def welcome_row(outbound_id: int, welcome: Welcome, now: datetime) -> CommunityWelcome:
    return CommunityWelcome(outbound_id=outbound_id, members=welcome.greets, posted_at=now)


def welcome_text(ctx: Context, joined: int) -> str:
    """The combined welcome: how many joined, never who (the group is public)."""
    tr = ctx.tr(None)  # the business's language: the group is everyone's
    text = tr.ngettext(
        "👋 A warm welcome to {n} new member!",
        "👋 A warm welcome to {n} new members!", joined).format(n=joined)
    return "<b>" + escape(text) + "</b>\n\n" + escape(tr.gettext(
        "Tap the button below to chat with us privately: connect your customer record and "
        "choose which messages you would like from us."))
