"""/move TEAM in a case's thread (or in reply to its card): the case goes to another team's
group, with a new card there; the old card says where it went."""

from __future__ import annotations

from html import escape

from careloop.cases import lifecycle as cases
from careloop.cases.states import is_active
from careloop.handlers.middleware import Request
from careloop.handlers.rounds import desk
from careloop.handlers.staff.thread import answer_here, case_in_thread
from careloop.kernel.effects import Edit, Effect, TopicState
from careloop.storage.models import StaffMember


async def on_move(req: Request, staff: StaffMember) -> list[Effect]:
    update, ctx, _ = req.update, req.ctx, req._
    routing = ctx.config.teams
    names = ", ".join(t.name for t in routing.teams)
    case = await case_in_thread(update, ctx)
    wanted = update.command_args.strip()
    if case is None or not wanted:
        return [answer_here(update, _(
            "Use /move and a team in the case's thread (or in reply to its card), for "
            "example /move {team}. Teams: {names}.").format(
                team=routing.teams[-1].name, names=names))]
    team = routing.named(wanted[:64])
    if team is None:
        return [answer_here(update, _("There is no team {name}. Teams: {names}.").format(
            name=escape(wanted[:64]), names=names))]
    if team == ctx.config.team_of(case):
        return [answer_here(update, _("Case #{id} is already with the {team} team.").format(
            id=case.id, team=team.name))]
    if not is_active(case.state):
        return [answer_here(update, _(
            "Case #{id} is already resolved; it stays with its team.").format(id=case.id))]
    if team.chat_id is None:
        return [answer_here(update, _("The {team} team has no group yet.").format(
            team=team.name))]
    old_card = await ctx.uow.cases.card_of(case.id)
    old_chat, old_topic = ctx.config.chat_of(case), case.topic_id
    await cases.move_to_team(ctx.uow, ctx.now, case, team.name, staff)
    moved = _("➡️ Case #{id} moved to the {team} team by {name}.").format(
        id=case.id, team=team.name, name=escape(staff.name or "?"))
    effects: list[Effect] = []
    if old_card is not None:
        effects.append(Edit(old_card.chat_id, old_card.message_id, moved))
    effects += await desk.post_cards(ctx)
    effects.append(answer_here(update, moved))
    if old_topic is not None and old_chat is not None:
        effects.append(TopicState(old_chat, old_topic, closed=True))
    return effects
