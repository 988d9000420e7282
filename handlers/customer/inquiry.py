"""A customer writing on their own: their first message opens an inquiry case for the team
its words and their record route it to, with an acknowledgement that says when to expect an
answer; a chat not linked to a record is asked to identify itself, or heard anonymously
(CARELOOP_UNLINKED_INQUIRIES)."""

from __future__ import annotations

from datetime import datetime
from html import escape

from careloop.cases import lifecycle as cases
from careloop.cases.routing import CaseKind
from careloop.customers import directory as customers
from careloop.handlers import casework
from careloop.handlers.middleware import Request
from careloop.handlers.rounds import desk
from careloop.kernel.effects import Effect, LogAs, Send
from careloop.kernel.i18n import Translator
from careloop.kernel.messenger import clip
from careloop.storage.models import Customer

FIRST_WORDS = 4000  # what a case keeps of the message it opened with
ANONYMOUS = "anonymous"


def acknowledgement(tr: Translator, due: datetime, timezone: str) -> str:
    """The one text that tells a customer when to expect an answer, from the case's due
    time (the SLA's, as the case records it) in the customer's own timezone."""
    return tr.gettext(
        "Thank you for your message! It has reached our team, and someone will answer you "
        "here by {due}.").format(due=escape(tr.datetime(due, timezone)))


def is_linked(customer: Customer) -> bool:
    """Bound to the business's record through a personal link (it has an external id)."""
    return customer.external_id is not None


async def open_inquiry(req: Request, customer: Customer, text: str) -> list[Effect]:
    """A new case with the message as its first line; the acknowledgement to the customer,
    the card to the team's group, and a photo or document after its card."""
    update, ctx = req.update, req.ctx
    first = clip(text, FIRST_WORDS) if text else "📎"
    team, priority = casework.routed(ctx, customer, None, text)
    case = await cases.open_case(ctx.uow, ctx.now, customer.id, priority, None, ctx.config.sla,
                                 question=first, kind=CaseKind.INQUIRY, team=team.name)
    tr = ctx.tr(customer.language)
    effects: list[Effect] = [Send(update.chat.id, acknowledgement(tr, case.sla_due_at,
                                                                  customer.timezone),
                                  log=LogAs(customer.id, case_id=case.id))]
    effects += await desk.post_cards(ctx)
    if update.media is not None:  # the file follows its card, into the case's thread
        effects += await casework.relay_to_staff(update, ctx, customer, case.id,
                                                 update.caption or "")
    return effects


async def from_unlinked(req: Request, customer: Customer | None, text: str) -> list[Effect]:
    """Someone the business does not know yet: told how to identify themselves, or (with
    CARELOOP_UNLINKED_INQUIRIES=anonymous) heard as an inquiry from their Telegram account."""
    update, ctx, _ = req.update, req.ctx, req._
    if ctx.config.unlinked_inquiries != ANONYMOUS:
        return [Send(update.chat.id, _(
            "Thank you for writing! So that our team knows who you are, please open the "
            "personal link the business sent you (by message or e-mail), then write to me "
            "again. If you have no link, ask the business for one."),
            log=LogAs(customer.id) if customer is not None else None)]
    if customer is None:
        customer = await customers.register_unlinked(
            ctx.uow, ctx.now, update.user, update.chat.id, req.tr.language,
            ctx.config.default_timezone, secret=ctx.config.link_secret)
    return await open_inquiry(req, customer, text)
