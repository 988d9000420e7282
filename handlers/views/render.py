"""Texts and keyboards shown in more than one place: surveys, care messages, case cards.

Every name or free text from outside goes through html.escape: messages are sent as HTML.
"""

from __future__ import annotations

from html import escape

from careloop.handlers.context import Context
from careloop.kernel.i18n import Translator
from careloop.kernel.updates import Button, Keyboard
from careloop.storage.models import Customer, SurveyAnswer, SurveyInvitation
from careloop.surveys.definitions import Survey, Text, Thanks

RECENT_HISTORY = 5
CARD_COMMENT = 1000  # keeps the whole card inside Telegram's limit whatever was written


def care_text(ctx: Context, template: str, customer: Customer) -> str | None:
    """A care message from the script library in the customer's language (or the library's
    default one); None for a template since taken out of the library."""
    if template not in ctx.scripts.care:
        return None
    return ctx.scripts.care_text(template, customer.language,
                                 name=customer.name.split(" ", 1)[0])


def said(ctx: Context, tr: Translator, text: Text) -> str:
    """A survey file's text in the reader's language, as plain text (not HTML)."""
    return text.show(tr, ctx.catalogs.default)


async def survey_prompt(
    ctx: Context, customer: Customer, invitation: SurveyInvitation, definition: Survey
) -> tuple[str, Keyboard]:
    tr = ctx.tr(customer.language)
    rows = [
        [
            await ctx.button(definition.label(score, tr, ctx.catalogs.default), "survey",
                             invitation.id, customer.chat_id or 0, str(score))
            for score in row
        ]
        for row in definition.rows()
    ]
    return escape(said(ctx, tr, definition.question)), Keyboard.of(*rows)


def callback_intro(tr: Translator, question: str) -> str:
    """The call-back survey after a resolution says what it asks about."""
    return tr.gettext("A few days ago we sorted out your request. How did we handle it?"
                      "\n\n{question}").format(question=question)


def survey_answered(ctx: Context, tr: Translator, definition: Survey, score: int) -> str:
    return tr.gettext("{question}\n\nYour answer: <b>{score}</b>. Thank you!").format(
        question=escape(said(ctx, tr, definition.question)),
        score=escape(definition.label(score, tr, ctx.catalogs.default)),
    )


def survey_closed(ctx: Context, tr: Translator, definition: Survey | None) -> str:
    """What an expired invitation reads once its buttons are gone."""
    closed = tr.gettext("This survey has closed. Thank you for your time!")
    if definition is None:  # a survey since removed from the definitions
        return closed
    return f"{escape(said(ctx, tr, definition.question))}\n\n{closed}"


def survey_reminder(tr: Translator) -> str:
    return tr.gettext("A gentle reminder: we would love to hear how it went. One tap on the "
                      "survey above is all it takes.")


async def reason_prompt(
    ctx: Context, customer: Customer, answer: SurveyAnswer, definition: Survey
) -> tuple[str, Keyboard]:
    """After a low score: what went wrong, as one-tap reasons, a comment, or Skip."""
    tr = ctx.tr(customer.language)
    _ = tr.gettext
    chat = customer.chat_id or 0
    chips = [await ctx.button(said(ctx, tr, r.text), "survey_reason", answer.id, chat, r.key)
             for r in definition.reasons]
    skip = await ctx.button(_("Skip"), "comment_skip", answer.id, chat)
    if not chips:
        text = _("We are sorry to hear that. What went wrong? Please tell us in a message, "
                 "and our team will follow up.")
        return text, Keyboard.of([skip])
    text = _("We are sorry to hear that. What went wrong? Tap what fits, and tell us more in "
             "a message if you like, or press Skip.")
    rows = [chips[i:i + 2] for i in range(0, len(chips), 2)]
    return text, Keyboard.of(*rows, [skip])


def thanks_message(ctx: Context, tr: Translator, thanks: Thanks) -> tuple[str, Keyboard | None]:
    """The thank-you after a high score, with its link when it has one."""
    text = escape(said(ctx, tr, thanks.text))
    if thanks.button is None:
        return text, None
    return text, Keyboard.of([Button(said(ctx, tr, thanks.button.text), url=thanks.button.url)])


async def consent_keyboard(ctx: Context, customer: Customer) -> Keyboard:
    _ = ctx.tr(customer.language).gettext
    chat = customer.chat_id or 0
    return Keyboard.of(
        [await ctx.button(_("✅ Yes, keep in touch"), "consent", customer.id, chat, "yes")],
        [await ctx.button(_("No, thanks"), "consent", customer.id, chat, "no")],
    )
