"""/s in a case's thread: the team's prepared replies (the script library) as buttons, or
/s KEYWORD for one. The chosen script, in the customer's language, reaches them as staff's
answer, exactly as if written in the thread."""

from __future__ import annotations

from html import escape

from careloop.care.scripts.library import Script, fill
from careloop.cases.states import is_active
from careloop.handlers.context import Context
from careloop.handlers.middleware import Press, Request
from careloop.handlers.staff.relay import answered
from careloop.handlers.staff.thread import answer_here, case_in_thread
from careloop.handlers.views.labels import customer_name
from careloop.kernel.effects import CaseLink, Effect, LogAs, Send
from careloop.kernel.messenger import TEXT_LIMIT, clip, text_length
from careloop.kernel.updates import Keyboard
from careloop.storage.models import Case, StaffMember

PER_ROW = 3
PREVIEW = 70  # characters of each script shown next to its keyword


async def on_script(req: Request, staff: StaffMember) -> list[Effect]:
    """/s: the scripts as buttons; /s KEYWORD: send that one."""
    update, ctx, _ = req.update, req.ctx, req._
    case = await case_in_thread(update, ctx)
    if case is None:
        return [answer_here(update, _(
            "Use /s in a case's topic or as a reply to its card: /s lists the prepared "
            "replies, /s and a keyword sends one to the customer."))]
    scripts = ctx.scripts.team(case.team)
    word = update.command_args.strip().lower()
    if word:
        script = scripts.get(word)
        if script is None:
            return [answer_here(update, _(
                "There is no script “{word}”. Send /s for the list.").format(
                    word=escape(word[:40])))]
        return await send_script(ctx, case, staff, script)
    if not scripts:
        return [answer_here(update, _(
            "There are no prepared replies yet: they are added to the script library "
            "(CARELOOP_SCRIPTS)."))]
    chat = update.chat.id
    buttons = [await ctx.button(key, "script", case.id, chat, key) for key in scripts]
    preview = [f"<b>{escape(key)}</b> — {escape(clip(_one_line(ctx, s), PREVIEW))}"
               for key, s in scripts.items()]
    text = "\n".join([_("Prepared replies for case #{id}: tap one to send it to the "
                        "customer in their language.").format(id=case.id), *preview])
    rows = [buttons[i:i + PER_ROW] for i in range(0, len(buttons), PER_ROW)]
    return [Send(chat, text, keyboard=Keyboard.of(*rows), reply_to=update.message_id,
                 topic_id=update.topic_id)]


async def on_script_button(press: Press, staff: StaffMember) -> list[Effect]:
    """A script's button under /s's list."""
    ctx, _ = press.ctx, press._
    case = await ctx.uow.cases.get(press.subject)
    if case is None:
        return press.no_longer_valid()
    script = ctx.scripts.team(case.team).get(press.value)
    if script is None:  # taken out of the library since the list was shown
        return [press.toast(_("That script is no longer in the library."))]
    return [press.toast(), *await send_script(ctx, case, staff, script)]


def _one_line(ctx: Context, script: Script) -> str:
    """The script as staff read it in the list: in their language, else the default."""
    text = script.text_in(ctx.config.staff_language, ctx.scripts.default_language)
    return " ".join(text.split())


async def send_script(ctx: Context, case: Case, member: StaffMember,
                      script: Script) -> list[Effect]:
    """The script, filled in for this case in the customer's language, sent to them as
    staff's answer; staff see in the case's thread what went out, or why nothing did."""
    tr = ctx.staff_tr
    _ = tr.gettext
    chat = ctx.config.chat_of(case)

    def notice(text: str) -> Send | None:
        return None if chat is None else Send(chat, text, case_link=CaseLink(case.id))

    def tell(text: str) -> list[Effect]:
        said = notice(text)
        return [] if said is None else [said]

    if not is_active(case.state):
        return tell(_("Case #{id} is already resolved; the script was not sent.").format(
            id=case.id))
    customer = await ctx.uow.customers.get(case.customer_id)
    if customer is None or customer.chat_id is None:
        return tell(_("This customer cannot be reached in Telegram."))
    promised = [p.due_on for p in await ctx.uow.promises.open_of_case(case.id)]
    values = script_values(case, customer.name, member,
                           ctx.tr(customer.language).date(min(promised)) if promised else None)
    lacking = sorted(script.placeholders - values.keys())
    if lacking:
        return tell(_("The script “{word}” needs {what}, which case #{id} does not have "
                      "yet.").format(word=escape(script.key), id=case.id,
                                     what=", ".join("{" + p + "}" for p in lacking)))
    heading = ctx.tr(customer.language).gettext("💬 Our support team:")
    filled = fill(script.text_in(customer.language, ctx.scripts.default_language), values)
    body = f"{heading}\n{filled}"
    if text_length(body) > TEXT_LIMIT:
        return tell(_("The script “{word}” is too long for one message once filled in.")
                    .format(word=escape(script.key)))
    failure = notice(_(
        "This message did not reach the customer (Telegram refused it, or they blocked the "
        "bot). Please try again later."))
    sent = Send(customer.chat_id, body, on_failure=failure,
                log=LogAs(customer.id, case_id=case.id,
                          data={"staff_id": member.id, "script": script.key}))
    effects: list[Effect] = [sent, *await answered(ctx, case, member)]
    return [*effects, *tell(_(
        "📤 “{word}” sent to {customer}:").format(
            word=escape(script.key), customer=escape(customer_name(tr, customer)))
        + "\n" + filled)]


def script_values(case: Case, customer_name: str, member: StaffMember,
                  promised_date: str | None = None) -> dict[str, str]:
    """What a script's placeholders stand for in this case (plain text; fill escapes it).
    {promised_date} is there while the case has a promise not yet kept: the soonest due,
    in the customer's language."""
    values = {"name": customer_name.split(" ", 1)[0], "case": str(case.id),
              "agent": member.name or member.username or ""}
    if promised_date is not None:
        values["promised_date"] = promised_date
    return values
