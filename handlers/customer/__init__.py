"""The customer's private chat: linking, consent, survey answers, comments and case replies.

The routes at the end are the chat as data; `handle` is its middleware: the customer (if
known) is fetched once and noted reachable, every handler reads their language, what they
write lands in their timeline, and a button's key is checked before any handler sees it."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from html import escape

from sqlmodel import SQLModel

from careloop.customers import consent, languages
from careloop.customers import directory as customers
from careloop.customers.timeline import record
from careloop.handlers import casework, marketer
from careloop.handlers.buttons import KEY_LIMIT
from careloop.handlers.context import Context
from careloop.handlers.customer import (
    consent_settings,
    inquiry,
    language,
    my_data,
    offers,
    preferences,
)
from careloop.handlers.middleware import Press, Request, check_press
from careloop.handlers.routing import Kind, Router, command, message, pressed
from careloop.handlers.views import campaign_message
from careloop.handlers.views.media import refused
from careloop.handlers.views.render import (
    consent_keyboard,
    reason_prompt,
    said,
    survey_answered,
    survey_closed,
    thanks_message,
)
from careloop.kernel import deeplink
from careloop.kernel.effects import Edit, Effect, LogAs, Send
from careloop.kernel.i18n import N_, Translator
from careloop.kernel.messenger import TEXT_LIMIT, text_length
from careloop.kernel.updates import Keyboard, Update
from careloop.storage.models import CommentState, Customer, SurveyInvitation
from careloop.surveys import answers
from careloop.surveys.scoring import InvalidScore, parse_score

# A message or command, with the customer when the chat is linked to one.
Handler = Callable[[Request, Customer | None], Awaitable[list[Effect]]]
# A press on a button careloop sent the customer.
ButtonHandler = Callable[[Press, Customer], Awaitable[list[Effect]]]
# A press on a button that needs no customer record (a marketer's, in their own chat).
AnyonesButton = Callable[[Press], Awaitable[list[Effect]]]


# The row a button's key names, read with the key and its presser (the survey buttons are
# the ones pressed at volume, after a broadcast).
PRESS_SUBJECTS: dict[str, type[SQLModel]] = {"survey": SurveyInvitation}


async def handle(update: Update, ctx: Context) -> list[Effect] | None:
    customer = await _customer(update, ctx)
    if customer is not None:
        await customers.note_reachable(ctx.uow, ctx.now, customer)
    tr = ctx.tr(customer.language if customer else update.user.language_code)
    if update.is_button:
        return await _on_press(update, ctx, tr, customer)
    if customer is not None:
        await record(ctx.uow, ctx.now, customer.id, "message", "in",
                     update.text or update.caption, message_id=update.message_id,
                     media=update.media.kind if update.media else None)
    route = await ROUTES.pick(update, ctx)
    return None if route is None else await route.handler(Request(update, ctx, tr), customer)


async def _customer(update: Update, ctx: Context) -> Customer | None:
    """The customer writing or pressing. A press's key (and what it names) is read in the
    same query, for check_press to find in the session."""
    data = update.callback_data
    if update.is_button and data and len(data) <= KEY_LIMIT:
        pressed = await ctx.uow.callbacks.pressed(data, update.user.id, PRESS_SUBJECTS)
        if pressed is not None:
            return pressed[1]
    return await ctx.uow.customers.by_telegram_user(update.user.id)


async def _on_press(update: Update, ctx: Context, tr: Translator, customer: Customer | None
                    ) -> list[Effect]:
    press = await check_press(update, ctx, tr)
    if not isinstance(press, Press):
        return press
    anyones = ANYONES_BUTTONS.first(Kind.BUTTON, press.key.action)
    if anyones is not None:
        return await anyones.handler(press)
    if customer is None:
        return press.no_longer_valid()
    await record(ctx.uow, ctx.now, customer.id, "button", "in",
                 action=press.key.action, value=press.value)
    route = BUTTONS.first(Kind.BUTTON, press.key.action)
    if route is None:
        return press.no_longer_valid()
    return await route.handler(press, customer)


def _reply(req: Request, customer: Customer | None, text: str,
           keyboard: Keyboard | None = None) -> Send:
    log = LogAs(customer.id) if customer is not None else None
    return Send(req.chat_id, text, keyboard=keyboard, log=log)


async def on_start(req: Request, customer: Customer | None) -> list[Effect]:
    """/start [payload]: bind the chat to a customer record, then ask for consent."""
    update, ctx = req.update, req.ctx
    payload = update.command_args
    if (campaign_id := deeplink.campaign_of(payload)) is not None:
        if customer is not None:
            await offers.count_start(ctx, customer, campaign_id)
        payload = ""  # then a start like any other
    if payload and payload != deeplink.COMMUNITY:
        return await _start_with_link(req, customer, payload)
    if customer is None:
        customer = await customers.register_unlinked(
            ctx.uow, ctx.now, update.user, update.chat.id, req.tr.language,
            ctx.config.default_timezone, secret=ctx.config.link_secret,
        )
    return await _welcome(req, customer)


async def _start_with_link(req: Request, current: Customer | None, payload: str
                           ) -> list[Effect]:
    update, ctx, _ = req.update, req.ctx, req._
    customer_id = deeplink.verify(payload, ctx.config.link_secret)
    if customer_id is None:
        return [_reply(req, current, _(
            "Sorry, this link is not valid. Please open the link exactly as the business "
            "sent it to you."))]
    link = await customers.bind(ctx.uow, ctx.now, customer_id, update.user, update.chat.id,
                                secret=ctx.config.link_secret)
    if link.outcome is customers.LinkOutcome.UNKNOWN:
        return [_reply(req, current, _(
            "Sorry, this link is no longer valid. Please ask the business for a new one."))]
    if link.outcome is customers.LinkOutcome.OTHER_RECORD:
        return [_reply(req, current, _(
            "Your Telegram account is already connected to another customer record. Please "
            "contact the business to have them merged."))]
    if link.outcome is customers.LinkOutcome.TAKEN:
        return [_reply(req, current, _(
            "This link is already connected to another Telegram account. If that is a "
            "mistake, please contact the business."))]
    assert link.customer is not None
    if link.outcome is customers.LinkOutcome.LINKED:  # first contact: speak their language
        await languages.adopt_telegram_language(
            ctx.uow, ctx.now, link.customer, ctx.catalogs.normalize(link.customer.language),
            ctx.catalogs.normalize(update.user.language_code), ctx.catalogs.default)
    return await _welcome(req, link.customer)


async def _welcome(req: Request, customer: Customer) -> list[Effect]:
    # The record just linked or made may speak another language than the one asking.
    _ = req.ctx.tr(customer.language).gettext
    name = escape(customer.name)
    if customer.service_consent:
        return [_reply(req, customer, _(
            "Welcome back, {name}! You will get care messages and short surveys here. "
            "Send /stop at any time to stop them.").format(name=name))]
    text = _(
        "Hello, {name}! We would like to check in with you here after your purchases and "
        "services: care tips and short one-tap surveys.\n\nMay we message you? You can say "
        "stop at any time with /stop."
    ).format(name=name)
    return [_reply(req, customer, text, await consent_keyboard(req.ctx, customer))]


async def on_stop(req: Request, customer: Customer | None) -> list[Effect]:
    """/stop: withdraw consent to every proactive message."""
    _, ctx = req._, req.ctx
    if customer is None or not await consent.withdraw_all(ctx.uow, ctx.now, customer, "/stop"):
        return [_reply(req, customer, _(
            "You are not receiving any messages from us. Send /start if you change your mind."))]
    return [_reply(req, customer, _(
        "Done: we will not send you any more messages. Send /start if you change your mind."))]


async def on_help(req: Request, customer: Customer | None) -> list[Effect]:
    """/help: what this bot does and the commands a customer has."""
    intro = req._(
        "I keep you in touch with the business after your purchases: care tips, short "
        "surveys, and a direct line to the support team.")
    menu = "\n".join(f"/{name} — {about}" for name, about in command_menu(req.tr))
    return [_reply(req, customer, f"{intro}\n\n{menu}")]


# The commands a customer has, for /help and for Telegram's command menu.
MENU = (
    ("start", N_("connect and choose whether we may message you")),
    ("stop", N_("stop all messages from us")),
    ("settings", N_("see and change what we may send you")),
    ("language", N_("choose the language I write to you in")),
    ("mydata", N_("get everything we keep about you")),
    ("forget", N_("erase your data")),
    ("help", N_("what this bot can do")),
)


def command_menu(tr: Translator) -> list[tuple[str, str]]:
    return [(name, tr.gettext(about)) for name, about in MENU]


async def on_unknown_command(req: Request, customer: Customer | None) -> list[Effect]:
    return [_reply(req, customer, req._("Sorry, I don't know that command. Send /help to see "
                                        "what I can do."))]


async def on_message(req: Request, customer: Customer | None) -> list[Effect]:
    """Plain text or media: a survey comment, a message for an open case, or a new
    inquiry."""
    update, ctx, _ = req.update, req.ctx, req._
    text = update.text or update.caption or ""
    if update.unsupported is not None or not (text or update.media):
        # A sticker, a voice message, a location...: nothing reaches staff empty.
        return [_reply(req, customer, refused(req.tr, update.unsupported))]
    if text_length(text) > TEXT_LIMIT:  # no real client sends more: a forged update
        return [_reply(req, customer, _(
            "Sorry, that message is too long for me. Please keep it under 4096 characters."))]
    if customer is None:
        return await inquiry.from_unlinked(req, None, text)
    awaiting = await ctx.uow.surveys.awaiting_comment(customer.id)
    if awaiting is not None and (text or update.media):
        # A photo answers "what went wrong?" too: its caption (or a mark) is the comment,
        # and the photo itself follows the card into the case.
        await answers.close_comment(ctx.uow, ctx.now, awaiting, text or "📷")
        return await casework.open_case(update, ctx, customer, awaiting)
    case = await ctx.uow.cases.open_for(customer.id)
    if case is not None:  # follow-ups join the open case
        return await casework.relay_to_staff(update, ctx, customer, case.id, text)
    if not inquiry.is_linked(customer):
        return await inquiry.from_unlinked(req, customer, text)
    return await inquiry.open_inquiry(req, customer, text)


async def on_consent(press: Press, customer: Customer) -> list[Effect]:
    _ = press._
    if press.subject != customer.id:
        return [press.toast(_("This button is not for you."))]
    granted = press.value == "yes"
    await customers.set_service_consent(press.ctx.uow, press.ctx.now, customer, granted,
                                        "button")
    text = (_("Thank you! We will keep in touch here. Send /stop at any time to stop.")
            if granted else
            _("All right, we will not message you. Send /start if you change your mind."))
    return [Edit(press.chat_id, press.message_id, text), press.toast()]


async def on_survey(press: Press, customer: Customer) -> list[Effect]:
    """A score button: take the answer, then ask what went wrong or say thank you."""
    ctx, tr, _ = press.ctx, press.tr, press._
    invitation = await ctx.uow.surveys.invitation(press.subject)
    definition = ctx.surveys.get(invitation.survey_key) if invitation else None
    if invitation is None or definition is None:
        return press.no_longer_valid()
    try:
        score = parse_score(definition, press.value)
    except InvalidScore:
        return press.no_longer_valid()
    result = await answers.answer(ctx.uow, ctx.now, invitation, customer, definition, score)
    if result.outcome is answers.Outcome.NOT_YOURS:
        return [press.toast(_("This button is not for you."))]
    if result.outcome is answers.Outcome.ALREADY_ANSWERED:
        return [press.toast(_("You have already answered this survey. Thank you!"))]
    if result.outcome is answers.Outcome.CLOSED:
        # Its buttons should be gone already; taking them off again costs nothing.
        return [Edit(press.chat_id, press.message_id, survey_closed(ctx, tr, definition)),
                press.toast(_("Sorry, this survey has closed."))]
    assert result.answer is not None
    effects: list[Effect] = [
        Edit(press.chat_id, press.message_id, survey_answered(ctx, tr, definition, score)),
        press.toast(_("Thank you!")),
    ]
    if result.answer.negative:
        text, keyboard = await reason_prompt(ctx, customer, result.answer, definition)
        effects.append(_reply(press, customer, text, keyboard))
    elif (thanks := definition.thanks_for(score)) is not None:
        text, link = thanks_message(ctx, tr, thanks)
        effects.append(_reply(press, customer, text, link))
    return effects


async def on_reason(press: Press, customer: Customer) -> list[Effect]:
    """A reason chip after a low score: kept on the answer; the comment is still welcome."""
    ctx, tr, _ = press.ctx, press.tr, press._
    answer = await ctx.uow.surveys.answer(press.subject)
    definition = ctx.surveys.get(answer.survey_key) if answer else None
    reason = definition.reason(press.value) if definition else None
    if answer is None or answer.customer_id != customer.id or reason is None:
        return press.no_longer_valid()
    if not await answers.set_reason(ctx.uow, ctx.now, answer, reason.key):
        return [press.toast(_("Already done. Thank you!"))]
    chosen = escape(said(ctx, tr, reason.text))
    if answer.comment_state != CommentState.AWAITING:  # the case is open already
        return [Edit(press.chat_id, press.message_id,
                     _("Noted: {reason}. Thank you!").format(reason=chosen)),
                press.toast(_("Thank you!"))]
    skip = await ctx.button(_("Skip"), "comment_skip", answer.id, press.chat_id)
    text = _("Noted: {reason}. Would you like to tell us more? Write it in a message, or "
             "press Skip.").format(reason=chosen)
    return [Edit(press.chat_id, press.message_id, text, Keyboard.of([skip])),
            press.toast(_("Thank you!"))]


async def on_comment_skip(press: Press, customer: Customer) -> list[Effect]:
    """Skip after a low score: no comment; the case opens now."""
    ctx, tr, _ = press.ctx, press.tr, press._
    answer = await ctx.uow.surveys.answer(press.subject)
    if answer is None or answer.customer_id != customer.id:
        return press.no_longer_valid()
    if not await answers.close_comment(ctx.uow, ctx.now, answer, None):
        return [press.toast(_("Already done. Thank you!"))]
    definition = ctx.surveys.get(answer.survey_key)
    reason = definition.reason(answer.reason) if definition and answer.reason else None
    text = (_("Noted: {reason}. Thank you!").format(reason=escape(said(ctx, tr, reason.text)))
            if reason else _("We are sorry to hear that."))
    edit = Edit(press.chat_id, press.message_id, text)
    opened = await casework.open_case(press.update, ctx, customer, answer)
    return [edit, press.toast(), *opened]


# --- the routes -------------------------------------------------------------------------

ROUTES: Router[Handler] = Router(
    command("start", on_start),
    command("stop", on_stop),
    command("language", language.on_language),
    command("help", on_help),
    command("settings", consent_settings.on_settings),
    command("mydata", my_data.on_mydata),
    command("forget", my_data.on_forget),
    command(None, on_unknown_command),
    message(on_message),
)

# Buttons that reach someone without a customer record too: a marketer's test message and
# campaign desk, in the marketer's own chat. Not written into any customer's timeline.
ANYONES_BUTTONS: Router[AnyonesButton] = Router(
    pressed(campaign_message.TEST, offers.on_test_button),
    pressed(marketer.ACTIONS, marketer.on_press),
)

# The customer's own buttons, by the action their key was made for.
BUTTONS: Router[ButtonHandler] = Router(
    pressed("consent", on_consent),
    pressed("survey", on_survey),
    pressed("survey_reason", on_reason),
    pressed("comment_skip", on_comment_skip),
    pressed("case_confirm", casework.on_case_confirm),
    pressed("language", language.on_choice),
    pressed(campaign_message.OFFER, offers.on_offer),
    pressed(campaign_message.UNSUBSCRIBE, offers.on_unsubscribe),
    pressed("consent_set", consent_settings.on_consent_set),
    pressed(preferences.ACTION, consent_settings.on_preference),
    pressed("forget", my_data.on_forget_answer),
)
