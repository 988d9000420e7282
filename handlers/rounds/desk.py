"""The case desk: new cases' cards reach the staff group one by one while the group's limit
(20 messages a minute) has room, and merge into one digest when it has not.

A case is opened with its card queued (storage: CardState). Whoever opens one, and the
desk's own tick, call `post_cards`; it runs inside the caller's unit of work, so the cards'
new states and the messages that show them commit together.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from html import escape

from careloop.handlers.context import Context
from careloop.handlers.views.case_card import case_card, case_parts, kind_mark
from careloop.handlers.views.labels import customer_name
from careloop.handlers.views.masking import mask_phones
from careloop.kernel.effects import CaseLink, Send
from careloop.kernel.messenger import clip
from careloop.storage.models import CardState, Case

# Cases listed in one digest: with a short line each it stays far inside 4096 characters.
DIGEST_MAX = 40
DIGEST_COMMENT = 60
# Queued cards looked at in one pass, over every team: a storm in one team's group does
# not hold back another's cards for long.
QUEUED_LOOKED_AT = 200
TOPIC_NAME = 128  # Telegram's limit for a forum topic's name


# What the desk's tick runs: decides in the caller's unit of work, returns what to send.
Decide = Callable[[Context], Awaitable[list[Send]]]


@dataclass(frozen=True, slots=True)
class CardPlan:
    cards: list[int]  # posted one by one
    digest: list[int]  # merged into one message


def plan(queued: Sequence[int], room: int) -> CardPlan:
    """Post cards one by one while a slot stays free for what comes next; when more wait
    than that, list them in one digest so none waits long and none is dropped. With no
    room at all, everything waits for the next tick."""
    if room <= 0 or not queued:
        return CardPlan([], [])
    if len(queued) <= max(room - 1, 1):
        return CardPlan(list(queued), [])
    return CardPlan([], list(queued[:DIGEST_MAX]))


async def post_cards(ctx: Context) -> list[Send]:
    """The messages that show the queued cases now, each in its team's group: cards, a
    digest, or nothing yet."""
    queued = await ctx.uow.cases.queued_cards(QUEUED_LOOKED_AT)
    by_chat: dict[int, list[Case]] = {}
    for case in queued:
        chat = ctx.config.chat_of(case)
        if chat is not None:
            by_chat.setdefault(chat, []).append(case)
    sends: list[Send] = []
    for chat, cases in by_chat.items():
        sends += await _post_in(ctx, chat, cases[:DIGEST_MAX + 1])
    return sends


async def _post_in(ctx: Context, chat: int, queued: Sequence[Case]) -> list[Send]:
    # Messages already waiting for the group take their slots first; customers' relayed
    # words wait behind cards, and the limiter keeps part of the minute from them.
    room = ctx.room(chat) - await ctx.uow.outbox.waiting_count(chat, chatter=False)
    chosen = plan([c.id for c in queued], room)
    by_id = {c.id: c for c in queued}
    sends = [await card_send(ctx, by_id[i])
             for i in await ctx.uow.cases.move_cards(chosen.cards, CardState.QUEUED,
                                                     CardState.POSTED)]
    listed = await ctx.uow.cases.move_cards(chosen.digest, CardState.QUEUED, CardState.DIGEST)
    if listed:
        cases = [by_id[i] for i in listed]
        sends.append(Send(chat, await digest_text(ctx, cases), lists_cases=tuple(listed),
                          about=tuple(sorted({c.customer_id for c in cases}))))
    return sends


async def card_send(ctx: Context, case: Case) -> Send:
    """The case's card, in its team's group; in a forum it opens the case's topic and is
    pinned at its top."""
    chat = ctx.config.chat_of(case)
    assert chat is not None
    text, keyboard = await case_card(ctx, case)
    forum = ctx.config.is_forum(chat)
    name = await topic_name(ctx, case) if forum and case.topic_id is None else None
    return Send(chat, text, keyboard=keyboard,
                case_link=CaseLink(case.id, "card"), open_topic=name, pin=forum)


async def topic_name(ctx: Context, case: Case) -> str:
    """"#12 · Ann Lee · CSAT 1": plain text, as Telegram shows topic names."""
    customer = await ctx.uow.customers.get(case.customer_id)
    answer = await ctx.uow.surveys.answer(case.answer_id) if case.answer_id else None
    parts = [f"#{case.id}", customer_name(ctx.staff_tr, customer)]
    if answer is not None:
        parts.append(f"{answer.survey_key.upper()} {answer.score}")
    elif case.question:
        parts.append(kind_mark(case))
    return clip(" · ".join(parts), TOPIC_NAME)


async def digest_text(ctx: Context, listed: Sequence[Case]) -> str:
    _ = ctx.staff_tr.gettext
    lines = [
        "<b>" + ctx.staff_tr.ngettext(
            "📥 {n} new case: more than the group takes at once",
            "📥 {n} new cases: more than the group takes at once", len(listed),
        ).format(n=len(listed)) + "</b>",
    ]
    customers = await ctx.uow.customers.many([c.customer_id for c in listed])
    for case in listed:
        customer = customers.get(case.customer_id)
        answer = await ctx.uow.surveys.answer(case.answer_id) if case.answer_id else None
        line = case_parts(ctx.staff_tr, case, customer, answer)
        said = answer.comment if answer is not None else case.question
        if said:
            line.append(escape(clip(mask_phones(" ".join(said.split())), DIGEST_COMMENT)))
        lines.append(" · ".join(line))
    lines.append("")
    lines.append(_("Open a case with /case and its number, for example /case {id}.").format(
        id=listed[0].id))
    return "\n".join(lines)
