"""A campaign's message as a customer (or, for a test, the marketer) sees it: their language,
their name filled in safely, the offer's button and the unsubscribe button every marketing
message carries."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from html import escape

from careloop.campaigns import lifecycle as campaigns
from careloop.campaigns import message
from careloop.campaigns.spec import CampaignSpec, Variant
from careloop.handlers.context import Context
from careloop.handlers.views.labels import tier_name
from careloop.kernel import deeplink
from careloop.kernel.effects import Send
from careloop.kernel.updates import Button, Keyboard, Media
from careloop.storage.models import Customer

# Button actions. A test send's buttons only say that it was a test.
OFFER = "offer"
UNSUBSCRIBE = "unsubscribe"
TEST = "campaign_test"


@dataclass(frozen=True, slots=True)
class CampaignMessage:
    text: str
    photo: str | None
    keyboard: Keyboard
    language: str  # the language it is written in: the reader's, or the fallback's


def values_of(customer: Customer) -> dict[str, str]:
    return {"first_name": customer.name.split(" ", 1)[0], "name": customer.name,
            "tier": customer.tier}


def link_values(campaign_id: int, bot_username: str | None) -> dict[str, str]:
    """{start_link}: starting the bot through it is counted for the campaign. Without a
    username there is no link (campaigns.check_link keeps such a text from being sent)."""
    if not bot_username:
        return {}
    return {message.START_LINK: deeplink.url(deeplink.campaign_payload(campaign_id), bot_username)}


def written_in(texts: Mapping[str, str], language: str, default: str) -> str:
    """Which of a campaign's texts the reader gets: their language, else the business's,
    else the one for every language ("*"), else the first written."""
    for key in (language, default, "*"):
        if key in texts:
            return key
    return next(iter(texts))


def in_language(texts: Mapping[str, str], language: str, default: str) -> str:
    """The text in the reader's language, else the business's, else the first written."""
    return texts[written_in(texts, language, default)]


def message_language(variant: Variant, language: str, default: str) -> str:
    """The language a variant's message reaches a reader of `language` in. A campaign
    without the reader's language falls back to another text, and then its buttons
    follow that text: one message, one language."""
    key = written_in(variant.text, language, default)
    return language if key == "*" else key


async def campaign_message(ctx: Context, campaign_id: int, variant: Variant, language: str,
                           values: Mapping[str, str], chat_id: int, subject_id: int, *,
                           test: bool = False) -> CampaignMessage:
    """`subject_id` is the touch the buttons count against (for a test: the campaign)."""
    default = ctx.catalogs.default
    tr = ctx.tr(message_language(variant, ctx.tr(language).language, default))
    values = {**values, **link_values(campaign_id, ctx.config.bot_username)}
    if "tier" in values:  # careloop's own tiers in the message's language
        values["tier"] = tier_name(tr, values["tier"])
    text = message.render(in_language(variant.text, tr.language, default), values)
    rows: list[list[Button]] = []
    if (offer := variant.button) is not None:
        label = in_language(offer.text, tr.language, default)
        rows.append([await ctx.button(label, TEST if test else OFFER, subject_id, chat_id)
                     if offer.tracked else Button(label, url=offer.url)])
    rows.append([await ctx.button(tr.gettext("Unsubscribe from offers"),
                                  TEST if test else UNSUBSCRIBE, subject_id, chat_id)])
    return CampaignMessage(text, variant.photo, Keyboard.of(*rows), tr.language)


async def test_messages(ctx: Context, spec: CampaignSpec, campaign_id: int, chat_id: int,
                        language: str, values: Mapping[str, str]) -> list[Send]:
    """The campaign as a recipient would get it, one message per variant, for the marketer's
    own chat: their name in the placeholders, buttons that only say it is a test."""
    campaigns.check_link(spec, ctx.config.bot_username)
    sends = []
    for variant in spec.variants:
        shown = await campaign_message(ctx, campaign_id, variant, language, values, chat_id,
                                       campaign_id, test=True)
        text = shown.text
        if len(spec.variants) > 1:
            label = ctx.tr(language).gettext("Test of variant {name}:").format(name=variant.name)
            text = f"<i>{escape(label)}</i>\n{text}"
        sends.append(Send(chat_id, text, keyboard=shown.keyboard,
                          media=Media("photo", shown.photo) if shown.photo else None))
    return sends
