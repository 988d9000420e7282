"""Which case a staff-group message is about: its forum topic, or the case message it
replies to, or a number given with the command."""

from __future__ import annotations

from careloop.handlers.context import Context
from careloop.kernel.effects import Send
from careloop.kernel.numbers import whole_number
from careloop.kernel.updates import Update
from careloop.storage.models import Case


async def case_in_thread(update: Update, ctx: Context) -> Case | None:
    if update.topic_id is not None:
        # Two teams' forums number their topics each on their own: the group tells which.
        for case in await ctx.uow.cases.by_topic(update.topic_id):
            if ctx.config.chat_of(case) == update.chat.id:
                return case
    if update.reply_to_message_id is not None:
        return await ctx.uow.cases.by_message(update.chat.id, update.reply_to_message_id)
    return None


def case_number(word: str) -> int | None:
    """"12" or "#12"; anything else is not a case number."""
    return whole_number(word.removeprefix("#"), max_digits=12)


def answer_here(update: Update, text: str, about: tuple[int, ...] = ()) -> Send:
    """A reply to a staff member's message, in the topic it was written in; `about`: the
    customers it names (see Send.about)."""
    return Send(update.chat.id, text, reply_to=update.message_id, topic_id=update.topic_id,
                about=about)


def other_team(ctx: Context, case: Case, update: Update) -> Send | None:
    """Staff in one team's group act on that team's cases: a case held by another team's
    group is named, not touched."""
    if ctx.config.chat_of(case) == update.chat.id:
        return None
    team = ctx.config.team_of(case)
    text = ctx.staff_tr.gettext("Case #{id} belongs to the {team} team; it is handled in their "
                                "group.").format(id=case.id, team=team.name)
    return answer_here(update, text)


async def case_and_args(update: Update, ctx: Context) -> tuple[Case | None, str, int | None]:
    """The case a command is about, and the rest of its arguments: the case of the thread
    it was sent in, else the number its arguments start with ("/promise 12 2026-12-10 …").
    The number is given back when no case has it."""
    args = update.command_args.strip()
    case = await case_in_thread(update, ctx)
    if case is not None:
        return case, args, None
    first, _sep, rest = args.partition(" ")
    number = case_number(first)
    if number is None:
        return None, args, None
    return await ctx.uow.cases.get(number), rest.strip(), number
