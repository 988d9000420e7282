"""/campaign: a campaign written in the chat, one question at a time. Each answer is checked
by the same rules as a campaign file and kept in the database; a bad answer is explained and
asked again. The finished campaign is a draft: tested, counted, then started."""

from __future__ import annotations

from html import escape

from careloop.campaigns import lifecycle as campaigns
from careloop.campaigns import message
from careloop.campaigns.loader import (
    BadValue,
    check_label,
    check_language,
    check_name,
    check_once,
    check_photo,
    check_time,
    check_url,
    segment_of,
)
from careloop.campaigns.spec import CampaignSpec, OfferButton, Schedule, Variant
from careloop.handlers.context import Context
from careloop.handlers.marketer import access, desk
from careloop.handlers.middleware import Press, Request
from careloop.kernel.effects import Effect, Send
from careloop.kernel.i18n import Translator
from careloop.kernel.numbers import whole_number
from careloop.kernel.updates import Keyboard
from careloop.storage.models import CampaignDraft, StaffMember

ACTION = "campaign_wizard"
# The buttons that answer a step: their value, and the step each answers.
CHOICES = {"all": "segment", "done": "languages", "no_photo": "photo", "no_button": "button",
           "now": "when"}
# Short names for the segment's filters, as a marketer types them.
FILTERS = {"tier": "tier", "tags": "tags", "language": "language",
           "joined": "joined_within_days", "purchased": "purchased_within_days",
           "birthday": "birthday_month", "community": "community",
           "community_joined": "community_joined_within_days", "rfm": "rfm"}


def parse_segment(text: str) -> dict[str, str]:
    """`tier=gold,vip joined=30` → the file's filter names and their values."""
    values: dict[str, str] = {}
    for token in text.split():
        key, sep, value = token.partition("=")
        if not sep or not value:
            raise BadValue(f"{token!r} must look like name=value, such as tier=gold")
        if key not in FILTERS:
            raise BadValue(f"{key!r} is not a filter; use {', '.join(FILTERS)}")
        values[FILTERS[key]] = value
    return values


def parse_when(text: str) -> Schedule:
    """"now", "2026-12-18 10:00" (local), or "monthly 18 10:00"."""
    words = text.lower().split()
    if words == ["now"]:
        return Schedule()
    if words and words[0] == "monthly":
        day = whole_number(words[1], max_digits=2) if len(words) == 3 else None
        if day is None or not 1 <= day <= 31:
            raise BadValue("write it as monthly DAY TIME, such as monthly 18 10:00")
        return Schedule(monthly_day=day, at=check_time(words[2]))
    return Schedule(once=check_once(text.strip()))


def _ask(tr: Translator, step: str) -> str:
    return {
        "name": tr.gettext("New campaign. What is its name? (Send /cancel at any time to stop.)"),
        "segment": tr.gettext(
            "Who should get it? Press Everyone, or send filters such as\n"
            "<code>tier=gold,vip tags=coffee language=ru joined=30 purchased=90 "
            "birthday=current community=member rfm=champions</code>\n"
            "Only customers who agreed to offers are ever reached."),
        "text": tr.gettext(
            "Now the message, as customers will see it. {first_name}, {name} and {tier} "
            "are filled in for each customer; bold and links are allowed, and {start_link} "
            "is this campaign's own link to the bot, whose starts are counted."),
        "languages": tr.gettext(
            "Customers in other languages get this text. To write it in another language "
            "too, send the language's code, a colon and the text, such as "
            "<code>ru: Здравствуйте, {first_name}!</code>; press Done when that is all."),
        "photo": tr.gettext(
            "A picture above the text? Send the photo (or an https link to it), or press "
            "No picture."),
        "button": tr.gettext(
            "A button under the message? Send its label and link, such as "
            "<code>Get the offer | https://example.com/offer</code>: each tap is counted, "
            "then answered with the link. Or press No button."),
        "when": tr.gettext(
            "When should it go? Press Now, or send a date and time such as "
            "<code>2026-12-18 10:00</code> (each customer's local time), or "
            "<code>monthly 18 10:00</code> for every month."),
    }[step]


async def _keyboard(ctx: Context, tr: Translator, step: str, member: StaffMember,
                    chat_id: int) -> Keyboard | None:
    labels = {"all": tr.gettext("Everyone"), "done": tr.gettext("Done"),
              "no_photo": tr.gettext("No picture"), "no_button": tr.gettext("No button"),
              "now": tr.gettext("Now")}
    value = next((v for v, answers in CHOICES.items() if answers == step), None)
    if value is None:
        return None
    return Keyboard.of([await ctx.button(labels[value], ACTION, member.id, chat_id, value)])


async def on_start(req: Request, member: StaffMember) -> list[Effect]:
    """/campaign: a new campaign from its first question; one being written starts over."""
    draft = await req.ctx.uow.campaigns.draft(member.id)
    if draft is None:
        draft = CampaignDraft(staff_id=member.id, step="name", data={}, updated_at=req.ctx.now)
    else:
        draft.step, draft.data, draft.updated_at = "name", {}, req.ctx.now
    await req.ctx.uow.campaigns.save_draft(draft)
    return [Send(req.chat_id, _ask(req.tr, "name"))]


async def on_cancel(req: Request, member: StaffMember) -> list[Effect]:
    """/cancel while writing a campaign: the draft is dropped."""
    await req.ctx.uow.campaigns.drop_draft(member.id)
    return [Send(req.chat_id, req._("Stopped; nothing was saved."))]


async def on_answer(req: Request, member: StaffMember) -> list[Effect]:
    """Text or a photo while writing a campaign: the answer to the current question."""
    draft = await req.ctx.uow.campaigns.draft(member.id)
    if draft is None:  # dropped since the route took the message
        return await on_start(req, member)
    update = req.update
    return await _answer(req, member, draft, update.text or update.caption or "",
                         photo=update.media.file_id if update.media and
                         update.media.kind == "photo" else None)


async def on_button(press: Press, member: StaffMember) -> list[Effect]:
    if member.id != press.subject:
        return access.refusal(press)
    draft = await press.ctx.uow.campaigns.draft(press.subject)
    if draft is None or draft.step != CHOICES.get(press.value):
        return press.no_longer_valid()
    return [press.toast(), *await _answer(press, member, draft, press.value)]


async def _answer(req: Request, member: StaffMember, draft: CampaignDraft, text: str, *,
                  photo: str | None = None) -> list[Effect]:
    """Check the answer to the current step; ask again with the reason, or go on."""
    ctx, tr = req.ctx, req.tr
    data = dict(draft.data)
    try:
        step = take_answer(draft.step, text.strip(), data, photo)
    except (BadValue, message.BadMessage) as exc:
        again = tr.gettext("Sorry, that does not work: {problem}. Please try again.").format(
            problem=escape(str(exc)))
        return [Send(req.chat_id, again,
                     keyboard=await _keyboard(ctx, tr, draft.step, member, req.chat_id))]
    if step is None:
        await ctx.uow.campaigns.drop_draft(member.id)
        return await _finish(req, member, data)
    ask = _ask(tr, step)
    if step == draft.step:  # one more language: say which the text is in so far
        ask = tr.gettext("Added. Written in: {languages}.").format(
            languages=", ".join(dict.fromkeys([ctx.catalogs.default, *_texts(data)]))
        ) + "\n\n" + ask
    draft.step, draft.data, draft.updated_at = step, data, ctx.now
    await ctx.uow.campaigns.save_draft(draft)
    return [Send(req.chat_id, ask,
                 keyboard=await _keyboard(ctx, tr, step, member, req.chat_id))]


def take_answer(step: str, text: str, data: dict[str, object], photo: str | None = None
                ) -> str | None:
    """Store a checked answer; returns the next step (the same one while languages are
    added), None when the campaign is complete."""
    if step == "name":
        data["name"] = check_name(text)
        return "segment"
    if step == "segment":
        values = {} if text == "all" else parse_segment(text)
        segment_of(values)  # checked now; kept as typed, for the campaign's definition
        data["segment"] = values
        return "text"
    if step == "text":
        message.check(text)
        data["text"] = text
        return "languages"
    if step == "languages":
        if text == "done":
            return "photo"
        code, colon, translated = text.partition(":")
        if not colon or not translated.strip():
            raise BadValue("write the language's code, a colon and the text, such as ru: ...")
        translated = translated.strip()
        message.check(translated)
        data["texts"] = {**_texts(data), check_language(code.strip()): translated}
        return "languages"
    if step == "photo":
        if text == "no_photo":
            data["photo"] = None
            return "button"
        picture = photo or check_photo(text)
        for written in [str(data["text"]), *_texts(data).values()]:
            message.check(written, caption=True)  # under a photo, a text is a caption
        data["photo"] = picture
        return "button"
    if step == "button":
        if text == "no_button":
            data["button"] = None
            return "when"
        label, bar, url = (part.strip() for part in text.partition("|"))
        if not bar:
            raise BadValue("write the label, a | and the link, such as "
                           "Get the offer | https://example.com/offer")
        check_label(label)
        data["button"] = [label, check_url(url)]
        return "when"
    parse_when(text)
    data["when"] = text
    return None


def _texts(data: dict[str, object]) -> dict[str, str]:
    """The texts added in other languages, by language."""
    texts = data.get("texts")
    return {str(k): str(v) for k, v in texts.items()} if isinstance(texts, dict) else {}


def spec_of_answers(data: dict[str, object], language: str) -> CampaignSpec:
    answered = data["segment"]
    segment = segment_of(dict(answered) if isinstance(answered, dict) else {})
    button = data.get("button")
    offer = OfferButton(text={"*": str(button[0])}, url=str(button[1]), tracked=True) \
        if isinstance(button, list) else None
    photo = data.get("photo")
    variant = Variant(name="A", share=100, text={language: str(data["text"]), **_texts(data)},
                      photo=photo if isinstance(photo, str) and photo else None,
                      button=offer)
    return CampaignSpec(name=str(data["name"]), segment=segment, variants=(variant,),
                        schedule=parse_when(str(data["when"])))


async def _finish(req: Request, member: StaffMember, data: dict[str, object]) -> list[Effect]:
    # The marketer writes in the business's language: customers in others get that text.
    ctx = req.ctx
    spec = spec_of_answers(data, ctx.catalogs.default)
    campaign = await campaigns.create(ctx.uow, ctx.now, spec, created_by=member.id)
    return await desk.card(req, campaign, created=True)
