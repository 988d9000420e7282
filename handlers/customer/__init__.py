"""The customer's private chat: linking, consent, survey answers, comments and case replies."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from html import escape

from careloop.customers import consent, languages
from careloop.customers import directory as customers
from careloop.customers.timeline import record
from careloop.handlers import casework, marketer
from careloop.handlers.buttons import resolve
from careloop.handlers.context import Context
from careloop.handlers.customer import consent_settings, language, my_data, offers
from careloop.handlers.views import campaign_message
from careloop.handlers.views.render import (
    consent_keyboard,
    reason_prompt,
    said,
    survey_answered,
    survey_closed,
    thanks_message,
)
from careloop.kernel import deeplink
from careloop.kernel.effects import Edit, Effect, LogAs, Send, Toast
from careloop.kernel.i18n import N_, Translator
from careloop.kernel.messenger import TEXT_LIMIT, text_length
from careloop.kernel.updates import Keyboard, Update
from careloop.storage.models import CommentState, Customer
from careloop.surveys import answers
from careloop.surveys.scoring import InvalidScore, parse_score

Handler = Callable[[Update, Context, Customer | None], Awaitable[list[Effect]]]


async def handle(update: Update, ctx: Context) -> list[Effect]:
    customer = await ctx.uow.customers.by_telegram_user(update.user.id)
    if customer is not None:
        await customers.note_reachable(ctx.uow, ctx.now, customer)
    if update.is_button:
        return await on_button(update, ctx, customer)
    if customer is not None:
        await record(ctx.uow, ctx.now, customer.id, "message", "in",  # type: ignore[arg-type]
                     update.text or update.caption, message_id=update.message_id,
                     media=update.media.kind if update.media else None)
    if update.command:
        return await COMMANDS.get(update.command, on_unknown_command)(update, ctx, customer)
    return await on_message(update, ctx, customer)


def _reply(update: Update, customer: Customer | None, text: str,
           keyboard: Keyboard | None = None) -> Send:
    log = LogAs(customer.id) if customer is not None and customer.id is not None else None
    return Send(update.chat.id, text, keyboard=keyboard, log=log)


async def on_start(update: Update, ctx: Context, customer: Customer | None) -> list[Effect]:
    """/start [payload]: bind the chat to a customer record, then ask for consent."""
    payload = update.command_args
    if (campaign_id := deeplink.campaign_of(payload)) is not None:
        if customer is not None:
            await offers.count_start(ctx, customer, campaign_id)
        payload = ""  # then a start like any other
    if payload and payload != deeplink.COMMUNITY:
        return await _start_with_link(update, ctx, customer, payload)
    if customer is None:
        tr = ctx.tr(update.user.language_code)
        customer = await customers.register_unlinked(
            ctx.uow, ctx.now, update.user, update.chat.id, tr.language,
            ctx.config.default_timezone,
        )
    return await _welcome(update, ctx, customer)


async def _start_with_link(
    update: Update, ctx: Context, current: Customer | None, payload: str
) -> list[Effect]:
    _ = ctx.tr(current.language if current else update.user.language_code).gettext
    customer_id = deeplink.verify(payload, ctx.config.link_secret)
    if customer_id is None:
        return [_reply(update, current, _(
            "Sorry, this link is not valid. Please open the link exactly as the business "
            "sent it to you."))]
    link = await customers.bind(ctx.uow, ctx.now, customer_id, update.user, update.chat.id)
    if link.outcome is customers.LinkOutcome.UNKNOWN:
        return [_reply(update, current, _(
            "Sorry, this link is no longer valid. Please ask the business for a new one."))]
    if link.outcome is customers.LinkOutcome.OTHER_RECORD:
        return [_reply(update, current, _(
            "Your Telegram account is already connected to another customer record. Please "
            "contact the business to have them merged."))]
    if link.outcome is customers.LinkOutcome.TAKEN:
        return [_reply(update, current, _(
            "This link is already connected to another Telegram account. If that is a "
            "mistake, please contact the business."))]
    assert link.customer is not None
    if link.outcome is customers.LinkOutcome.LINKED:  # first contact: speak their language
        await languages.adopt_telegram_language(
            ctx.uow, ctx.now, link.customer, ctx.catalogs.normalize(link.customer.language),
            ctx.catalogs.normalize(update.user.language_code), ctx.catalogs.default)
    return await _welcome(update, ctx, link.customer)


async def _welcome(update: Update, ctx: Context, customer: Customer) -> list[Effect]:
    _ = ctx.tr(customer.language).gettext
    name = escape(customer.name)
    if customer.service_consent:
        return [_reply(update, customer, _(
            "Welcome back, {name}! You will get care messages and short surveys here. "
            "Send /stop at any time to stop them.").format(name=name))]
    text = _(
        "Hello, {name}! We would like to check in with you here after your purchases and "
        "services: care tips and short one-tap surveys.\n\nMay we message you? You can say "
        "stop at any time with /stop."
    ).format(name=name)
    return [_reply(update, customer, text, await consent_keyboard(ctx, customer))]


async def on_stop(update: Update, ctx: Context, customer: Customer | None) -> list[Effect]:
    """/stop: withdraw consent to every proactive message."""
    _ = ctx.tr(customer.language if customer else update.user.language_code).gettext
    if customer is None or not await consent.withdraw_all(ctx.uow, ctx.now, customer, "/stop"):
        return [_reply(update, customer, _(
            "You are not receiving any messages from us. Send /start if you change your mind."))]
    return [_reply(update, customer, _(
        "Done: we will not send you any more messages. Send /start if you change your mind."))]


async def on_help(update: Update, ctx: Context, customer: Customer | None) -> list[Effect]:
    """/help: what this bot does and the commands a customer has."""
    tr = ctx.tr(customer.language if customer else update.user.language_code)
    intro = tr.gettext(
        "I keep you in touch with the business after your purchases: care tips, short "
        "surveys, and a direct line to the support team.")
    menu = "\n".join(f"/{name} — {about}" for name, about in command_menu(tr))
    return [_reply(update, customer, f"{intro}\n\n{menu}")]


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


async def on_unknown_command(
    update: Update, ctx: Context, customer: Customer | None
) -> list[Effect]:
    _ = ctx.tr(customer.language if customer else update.user.language_code).gettext
    return [_reply(update, customer, _("Sorry, I don't know that command. Send /help to see "
                                       "what I can do."))]


COMMANDS: dict[str, Handler] = {
    "start": on_start, "stop": on_stop, "language": language.on_language, "help": on_help,
    "settings": consent_settings.on_settings, "mydata": my_data.on_mydata,
    "forget": my_data.on_forget,
}


async def on_message(update: Update, ctx: Context, customer: Customer | None) -> list[Effect]:
    """Plain text or media: a survey comment, a message for an open case, or a hint."""
    _ = ctx.tr(customer.language if customer else update.user.language_code).gettext
    if customer is None:
        return [_reply(update, None, _("Hello! Send /start to connect with us."))]
    text = update.text or update.caption or ""
    if text_length(text) > TEXT_LIMIT:  # no real client sends more: a forged update
        return [_reply(update, customer, _(
            "Sorry, that message is too long for me. Please keep it under 4096 characters."))]
    awaiting = await ctx.uow.surveys.awaiting_comment(customer.id)  # type: ignore[arg-type]
    if awaiting is not None and (text or update.media):
        # A photo answers "what went wrong?" too: its caption (or a mark) is the comment,
        # and the photo itself follows the card into the case.
        await answers.close_comment(ctx.uow, ctx.now, awaiting, text or "📷")
        return await casework.open_case(update, ctx, customer, awaiting)
    case = await ctx.uow.cases.open_for(customer.id)  # type: ignore[arg-type]
    if case is not None:
        return await casework.relay_to_staff(update, ctx, customer, case.id, text)  # type: ignore[arg-type]
    return [_reply(update, customer, _(
        "Thank you for your message! I am an automated assistant. If you need help, answer "
        "one of our surveys or send /help."))]


async def on_button(update: Update, ctx: Context, customer: Customer | None) -> list[Effect]:
    assert update.callback_id is not None
    _ = ctx.tr(customer.language if customer else update.user.language_code).gettext
    key = await resolve(ctx.uow, update.callback_data, update.chat.id)
    if key is not None and key.action == campaign_message.TEST:  # a marketer's test send
        return await offers.on_test_button(update, ctx, customer, key.subject_id, key.value)
    if key is not None and key.action in marketer.ACTIONS:  # in a marketer's own chat
        return await marketer.on_button(update, ctx, key)
    if key is None or customer is None:
        return [Toast(update.callback_id, _("This button is no longer valid."))]
    await record(ctx.uow, ctx.now, customer.id, "button", "in",  # type: ignore[arg-type]
                 action=key.action, value=key.value)
    action = BUTTONS.get(key.action)
    if action is None:
        return [Toast(update.callback_id, _("This button is no longer valid."))]
    return await action(update, ctx, customer, key.subject_id, key.value)


async def on_consent(
    update: Update, ctx: Context, customer: Customer, subject: int, value: str
) -> list[Effect]:
    _ = ctx.tr(customer.language).gettext
    assert update.callback_id is not None and update.message_id is not None
    if subject != customer.id:
        return [Toast(update.callback_id, _("This button is not for you."))]
    granted = value == "yes"
    await customers.set_service_consent(ctx.uow, ctx.now, customer, granted, "button")
    text = (_("Thank you! We will keep in touch here. Send /stop at any time to stop.")
            if granted else
            _("All right, we will not message you. Send /start if you change your mind."))
    return [Edit(update.chat.id, update.message_id, text), Toast(update.callback_id)]


async def on_survey(
    update: Update, ctx: Context, customer: Customer, subject: int, value: str
) -> list[Effect]:
    """A score button: take the answer, then ask what went wrong or say thank you."""
    tr = ctx.tr(customer.language)
    _ = tr.gettext
    assert update.callback_id is not None and update.message_id is not None
    invitation = await ctx.uow.surveys.invitation(subject)
    definition = ctx.surveys.get(invitation.survey_key) if invitation else None
    if invitation is None or definition is None:
        return [Toast(update.callback_id, _("This button is no longer valid."))]
    try:
        score = parse_score(definition, value)
    except InvalidScore:
        return [Toast(update.callback_id, _("This button is no longer valid."))]
    result = await answers.answer(ctx.uow, ctx.now, invitation, customer, definition, score)
    if result.outcome is answers.Outcome.NOT_YOURS:
        return [Toast(update.callback_id, _("This button is not for you."))]
    if result.outcome is answers.Outcome.ALREADY_ANSWERED:
        return [Toast(update.callback_id, _("You have already answered this survey. Thank you!"))]
    if result.outcome is answers.Outcome.CLOSED:
        # Its buttons should be gone already; taking them off again costs nothing.
        return [Edit(update.chat.id, update.message_id, survey_closed(ctx, tr, definition)),
                Toast(update.callback_id, _("Sorry, this survey has closed."))]
    assert result.answer is not None
    effects: list[Effect] = [
        Edit(update.chat.id, update.message_id, survey_answered(ctx, tr, definition, score)),
        Toast(update.callback_id, _("Thank you!")),
    ]
    if result.answer.negative:
        text, keyboard = await reason_prompt(ctx, customer, result.answer, definition)
        effects.append(_reply(update, customer, text, keyboard))
    elif (thanks := definition.thanks_for(score)) is not None:
        text, link = thanks_message(ctx, tr, thanks)
        effects.append(_reply(update, customer, text, link))
    return effects


async def on_reason(
    update: Update, ctx: Context, customer: Customer, subject: int, value: str
) -> list[Effect]:
    """A reason chip after a low score: kept on the answer; the comment is still welcome."""
    tr = ctx.tr(customer.language)
    _ = tr.gettext
    assert update.callback_id is not None and update.message_id is not None
    answer = await ctx.uow.surveys.answer(subject)
    definition = ctx.surveys.get(answer.survey_key) if answer else None
    reason = definition.reason(value) if definition else None
    if answer is None or answer.customer_id != customer.id or reason is None:
        return [Toast(update.callback_id, _("This button is no longer valid."))]
    if not await answers.set_reason(ctx.uow, ctx.now, answer, reason.key):
        return [Toast(update.callback_id, _("Already done. Thank you!"))]
    chosen = escape(said(ctx, tr, reason.text))
    if answer.comment_state != CommentState.AWAITING:  # the case is open already
        return [Edit(update.chat.id, update.message_id,
                     _("Noted: {reason}. Thank you!").format(reason=chosen)),
                Toast(update.callback_id, _("Thank you!"))]
    skip = await ctx.button(_("Skip"), "comment_skip", answer.id, update.chat.id)
    text = _("Noted: {reason}. Would you like to tell us more? Write it in a message, or "
             "press Skip.").format(reason=chosen)
    return [Edit(update.chat.id, update.message_id, text, Keyboard.of([skip])),
            Toast(update.callback_id, _("Thank you!"))]


async def on_comment_skip(
    update: Update, ctx: Context, customer: Customer, subject: int, value: str
) -> list[Effect]:
    """Skip after a low score: no comment; the case opens now."""
    tr = ctx.tr(customer.language)
    _ = tr.gettext
    assert update.callback_id is not None and update.message_id is not None
    answer = await ctx.uow.surveys.answer(subject)
    if answer is None or answer.customer_id != customer.id:
        return [Toast(update.callback_id, _("This button is no longer valid."))]
    if not await answers.close_comment(ctx.uow, ctx.now, answer, None):
        return [Toast(update.callback_id, _("Already done. Thank you!"))]
    definition = ctx.surveys.get(answer.survey_key)
    reason = definition.reason(answer.reason) if definition and answer.reason else None
    text = (_("Noted: {reason}. Thank you!").format(reason=escape(said(ctx, tr, reason.text)))
            if reason else _("We are sorry to hear that."))
    edit = Edit(update.chat.id, update.message_id, text)
    opened = await casework.open_case(update, ctx, customer, answer)
    return [edit, Toast(update.callback_id), *opened]


ButtonHandler = Callable[[Update, Context, Customer, int, str], Awaitable[list[Effect]]]
BUTTONS: dict[str, ButtonHandler] = {
    "consent": on_consent,
    "survey": on_survey,
    "survey_reason": on_reason,
    "comment_skip": on_comment_skip,
    "case_confirm": casework.on_case_confirm,
    "language": language.on_choice,
    campaign_message.OFFER: offers.on_offer,
    campaign_message.UNSUBSCRIBE: offers.on_unsubscribe,
    "consent_set": consent_settings.on_consent_set,
    "forget": my_data.on_forget_answer,
}
