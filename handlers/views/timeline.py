"""A timeline entry as a sentence staff and operators read in their own language.

The log keeps keys and values (`state=claimed, action=claim, staff_id=2`) for programs and
exports; a person reads "Case claimed by Max". Each kind has its sentence here, so no
caller ever prints the stored values. A key without a name (an event type or a purpose a
playbook added later) is shown as words, never as an identifier.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from careloop.handlers.views.labels import PRIORITIES, not_sent_reason, priority_name
from careloop.kernel.i18n import N_, Translator
from careloop.kernel.languages import own_name
from careloop.storage.models import Interaction


def one_line(text: str) -> str:
    """`text` on one line, for a list: its line breaks and runs of spaces become one space,
    except after a wide character (Chinese writes "团队：非常", not "团队： 非常")."""
    joined = ""
    for line in text.splitlines():
        line = " ".join(line.split())
        if not line:
            continue
        if joined and unicodedata.east_asian_width(joined[-1]) not in ("W", "F"):
            joined += " "
        joined += line
    return joined


def as_words(key: str) -> str:
    """A stored key that has no translated name, shown as words: "warranty_expiry" →
    "warranty expiry", "purchase.care" → "purchase care"."""
    return " ".join(key.replace("_", " ").replace(".", " ").replace("-", " ").split())


@dataclass(frozen=True)
class Names:
    """What the log keeps by key and only the caller can name: the survey reasons (from
    the surveys file) and staff members (from the staff table)."""

    reason: Callable[[str], str] = as_words
    staff: Mapping[int, str] = field(default_factory=dict)


EVENTS = {
    "purchase": N_("purchase"),
    "service_completed": N_("service completed"),
    "birthday": N_("birthday"),
    "warranty_expiry": N_("warranty expiry"),
    "inactivity": N_("no contact for a while"),
}

MEDIA = {"photo": N_("a photo"), "document": N_("a file")}

CATEGORIES = {"service": N_("care messages and surveys"), "marketing": N_("offers and news")}


def _event(tr: Translator, key: object) -> str:
    text = str(key)
    return tr.gettext(EVENTS[text]) if text in EVENTS else as_words(text)


def _category(tr: Translator, key: object) -> str:
    text = str(key)
    return tr.gettext(CATEGORIES[text]) if text in CATEGORIES else as_words(text)


def _survey(key: object) -> str:
    return str(key or "").upper()  # CSAT, NPS: how every report and card names a survey


def _staff(tr: Translator, names: Names, staff_id: object) -> str:
    if isinstance(staff_id, int) and staff_id in names.staff:
        return names.staff[staff_id]
    return tr.gettext("staff member #{id}").format(id=staff_id)


def _yes(value: object) -> bool:
    return value in (True, "yes", "on", "true", "True")


def _button(tr: Translator, d: Mapping[str, Any], names: Names) -> str:
    _ = tr.gettext
    action, value = d.get("action"), d.get("value")
    if action == "survey":
        return _("Tapped score {score}").format(score=value)
    if action == "survey_reason":
        return _("Tapped the reason “{reason}”").format(reason=names.reason(str(value)))
    if action == "comment_skip":
        return _("Tapped Skip instead of writing a comment")
    if action == "consent":
        return _("Agreed to be contacted") if _yes(value) else _("Declined to be contacted")
    if action == "case_confirm":
        return (_("Confirmed the request is resolved") if _yes(value)
                else _("Said the request is not resolved"))
    if action == "language":
        return _("Chose the language {language}").format(language=own_name(str(value)))
    if action == "offer":
        return _("Tapped the offer's button")
    if action == "unsubscribe":
        return _("Unsubscribed from offers")
    if action == "consent_set":
        category, _sep, state = str(value).partition(":")
        turned = _("Turned on {category}") if state == "on" else _("Turned off {category}")
        return turned.format(category=_category(tr, category))
    if action == "preference":
        return _("Changed a preference in the settings")
    if action == "forget":
        return (_("Confirmed erasing their data") if _yes(value)
                else _("Chose to keep their data"))
    return _("Tapped a button")


def _case(tr: Translator, d: Mapping[str, Any], names: Names) -> str:
    _ = tr.gettext
    action = d.get("action")
    staff = d.get("staff_id")
    if action == "assign":
        return _("Case assigned to {name} by {by}").format(
            name=_staff(tr, names, staff), by=_staff(tr, names, d.get("by_staff_id")))
    if action == "claim":
        return _("Case claimed by {name}").format(name=_staff(tr, names, staff))
    if action == "resolve":
        return _("Case resolved by {name}").format(name=_staff(tr, names, staff))
    if action == "reopen":
        return _("Case reopened: the customer says it is not resolved")
    if action == "confirm":
        return _("Case closed: the customer confirmed it is resolved")
    if action == "move":
        return _("Case moved from the {before} team to the {team} team by {name}").format(
            before=d.get("from_team") or "?", team=d.get("team") or "?",
            name=_staff(tr, names, staff))
    if action == "write":
        return _("Case opened by {name} writing to the customer").format(
            name=_staff(tr, names, staff))
    if action == "priority":
        return _("Priority changed from {before} to {after} by {name}").format(
            before=priority_name(tr, str(d.get("before"))),
            after=priority_name(tr, str(d.get("priority"))), name=_staff(tr, names, staff))
    priority = str(d.get("priority"))
    if priority in PRIORITIES:
        return _("Case opened, {priority}").format(priority=_(PRIORITIES[priority]))
    return _("Case opened")


def _promise(tr: Translator, d: Mapping[str, Any], names: Names, text: str | None) -> str:
    _ = tr.gettext
    if d.get("kept"):
        said = (_("Promise #{n} kept on time: {text}") if _yes(d.get("on_time"))
                else _("Promise #{n} kept late: {text}"))
        return said.format(n=d.get("promise_id"), text=text or "")
    return _("Promise #{n} made by {name}, due {date}: {text}").format(
        n=d.get("promise_id"), name=_staff(tr, names, d.get("staff_id")),
        date=_day(tr, d.get("due_on")), text=text or "")


def _day(tr: Translator, value: object) -> str:
    try:
        return tr.date(date.fromisoformat(str(value)))
    except ValueError:
        return str(value)


def _owner(tr: Translator, d: Mapping[str, Any], names: Names) -> str:
    _ = tr.gettext
    owner, by = d.get("staff_id"), d.get("by_staff_id")
    if owner is None:
        if d.get("via") == "removed":
            return _("No owner any more: the owner left the staff")
        if by is not None:
            return _("No owner any more (by {by})").format(by=_staff(tr, names, by))
        return _("No owner any more")
    if by is not None:
        return _("Owner set to {name} by {by}").format(
            name=_staff(tr, names, owner), by=_staff(tr, names, by))
    return _("Owner set to {name}").format(name=_staff(tr, names, owner))


def _community(tr: Translator, d: Mapping[str, Any]) -> str:
    _ = tr.gettext
    action = d.get("action")
    if action == "joined":
        said = _("Joined the community group")
    elif action == "removed":
        said = _("Removed from the community group by an administrator")
    else:
        said = _("Left the community group")
    if d.get("carried"):
        said = _("{what} (before linking their chat)").format(what=said)
    return said


def _message(tr: Translator, e: Interaction, text: str | None) -> str:
    _ = tr.gettext
    if text:
        if e.direction == "out":
            return _("Sent: {text}").format(text=text)
        return _("Wrote: {text}").format(text=text)
    media = e.data.get("media")
    what = tr.gettext(MEDIA[media]) if media in MEDIA else _("a message")
    return (_("Sent {what}") if e.direction == "out" else _("Wrote {what}")).format(what=what)


def sentence(tr: Translator, e: Interaction, names: Names | None = None,
             text: str | None = None) -> str:
    """Entry `e` as one plain-text sentence in `tr`'s language. `text` stands for the
    entry's own text (a message, a note, a question) once the caller has clipped, masked or
    withheld it; by default the text as stored."""
    _ = tr.gettext
    names = names or Names()
    d: Mapping[str, Any] = e.data or {}
    text = e.text if text is None else text
    kind = e.kind
    if kind in ("message", "export"):
        return _message(tr, e, text)
    if kind == "button":
        return _button(tr, d, names)
    if kind == "answer":
        return _("Answered {survey} with {score}").format(
            survey=_survey(d.get("survey")), score=d.get("score"))
    if kind == "reason":
        return _("Gave the reason “{reason}” ({survey})").format(
            reason=names.reason(str(d.get("reason"))), survey=_survey(d.get("survey")))
    if kind == "comment":
        if d.get("timed_out"):
            return _("Wrote no comment on {survey} in time").format(
                survey=_survey(d.get("survey")))
        if d.get("skipped"):
            return _("Skipped the comment on {survey}").format(survey=_survey(d.get("survey")))
        return _("Commented on {survey}").format(survey=_survey(d.get("survey")))
    if kind == "expired":
        return _("{survey} survey closed unanswered").format(survey=_survey(d.get("survey")))
    if kind == "case":
        return _case(tr, d, names)
    if kind == "promise":
        return _promise(tr, d, names, text)
    if kind == "owner":
        return _owner(tr, d, names)
    if kind == "note":
        return _("Internal note by {name}: {text}").format(
            name=_staff(tr, names, d.get("staff_id")), text=text or "")
    if kind == "event":
        return _("Event reported: {event}").format(event=_event(tr, d.get("event_type")))
    if kind == "campaign":
        if d.get("response") == "unsubscribe":
            return _("Unsubscribed from offers (campaign #{id})").format(
                id=d.get("campaign_id"))
        return _("Tapped the offer of campaign #{id}").format(id=d.get("campaign_id"))
    if kind == "consent":
        category = _category(tr, d.get("category"))
        return (_("Agreed to {category}") if _yes(d.get("granted"))
                else _("Declined {category}")).format(category=category)
    if kind == "linked":
        if d.get("moved_to"):
            return _("Their chat moved to customer record #{id}").format(id=d["moved_to"])
        return _("Connected their Telegram chat")
    if kind == "preferences":
        if "quiet_hours" in d:
            window = d.get("quiet_hours")
            return (_("Chose their own quiet hours: {window}").format(window=window) if window
                    else _("Chose to keep only the business's quiet hours"))
        most = d.get("max_messages")
        return (tr.ngettext("Chose to get at most {n} message in {days} days",
                            "Chose to get at most {n} messages in {days} days",
                            int(most)).format(n=most, days=d.get("days", "?")) if most
                else _("Chose to get messages as often as the business allows"))
    if kind == "registered":
        return _("Started a chat with the bot without a customer record")
    if kind == "language":
        return _("Language set to {language}").format(
            language=own_name(str(d.get("language"))))
    if kind in ("skipped", "failed"):
        said = (_("Not sent: {purpose}") if kind == "skipped"
                else _("Could not be sent: {purpose}")).format(
            purpose=as_words(str(d.get("purpose"))))
        why = not_sent_reason(tr, str(d.get("reason")))
        return _("{what} ({why})").format(what=said, why=why) if why else said
    if kind == "unreachable":
        return _("Unreachable: they blocked the bot or their chat is gone")
    if kind == "reachable":
        return _("Reachable again")
    if kind == "community":
        return _community(tr, d)
    if kind == "help_request":
        return _("Asked in the community group: {text}").format(text=text or "")
    if kind == "erased":
        return _("Their data was erased")
    if kind == "do_not_contact":
        return _("Put on the do-not-contact list")
    if kind == "contactable":
        return _("Taken off the do-not-contact list")
    if kind == "muted":
        return _("Muted: their messages are no longer shown to staff")
    if kind == "unmuted":
        return _("Unmuted")
    # A kind added later without a sentence: its text, or its name as words.
    return text or as_words(kind)


def staff_ids(entries: list[Interaction]) -> set[int]:
    """The staff members the entries name, to look up once for `Names.staff`."""
    found: set[int] = set()
    for e in entries:
        for key in ("staff_id", "by_staff_id"):
            value = (e.data or {}).get(key)
            if isinstance(value, int):
                found.add(value)
    return found
