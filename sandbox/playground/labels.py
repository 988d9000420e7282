"""The page's own words, translated like every other text and handed to the page as data:
the page draws no word of its own. The keys name a place on the page; only the texts are
shown."""

from __future__ import annotations

from careloop.care.contact import DO_NOT_CONTACT, UNREACHABLE
from careloop.handlers.marketer.preview import NOT_IN_SEGMENT
from careloop.kernel.i18n import N_, Translator

NOT_LINKED = "not linked to a Telegram chat"
NO_MARKETING = "no marketing consent"
NO_SERVICE = "no service consent"

TEXTS = {
    "title": N_("careloop playground"),
    "you_are": N_("You are"),
    "customers": N_("Customers"),
    "staff": N_("Staff"),
    "role_customer": N_("customer {id}"),
    "role_lead": N_("lead"),
    "role_agent": N_("agent"),
    "role_marketer": N_("marketer"),
    "role_outsider": N_("in the group, not registered as staff"),
    "clock_simulated": N_("simulated clock"),
    "clock_real": N_("real clock"),
    "plus_hour": N_("+1 hour"),
    "plus_day": N_("+1 day"),
    "local_time": N_("{name}'s local time: {time}"),
    "chats": N_("Chats"),
    "bot_chat": N_("{bot} (private chat)"),
    "staff_group": N_("Staff group"),
    "community_group": N_("Community group"),
    "general_topic": N_("General"),
    "all_topics": N_("All topics"),
    "topic_closed": N_("closed"),
    "bot": N_("bot"),
    "edited": N_("edited"),
    "topic_created": N_("topic created: {name}"),
    "pinned": N_("pinned"),
    "photo": N_("[photo]"),
    "document": N_("[file: {name}]"),
    "reply": N_("Reply"),
    "replying_to": N_("Replying to: {text}"),
    "cancel": N_("Cancel"),
    "write": N_("Write a message…"),
    "send": N_("Send"),
    "in_topic": N_("Writing in topic: {name}"),
    "personal_link": N_("The shop sent you a personal link to its bot:"),
    "open_link": N_("Open my personal link"),
    "join": N_("Join the group"),
    "leave": N_("Leave the group"),
    "not_member": N_("You are not a member of this group."),
    "no_messages": N_("No messages here yet."),
    "link_opens": N_("This button opens {url}"),
    "shop": N_("The shop"),
    "report_event": N_("Report an event"),
    "event_for": N_("for"),
    "report": N_("Report"),
    "reported": N_("Reported. Messages scheduled: {count}"),
    "campaign_preview": N_("Campaign preview"),
    "preview": N_("Preview for each customer"),
    "no_campaigns": N_("No campaigns yet."),
    "variant": N_("variant {name}, language {language}"),
    "would_not_get": N_("Would not get it now: {reason}"),
    "toast": N_("The bot says: {text}"),
    "failed": N_("That did not work: {reason}"),
    "offline": N_("The playground has stopped."),
}


def texts(tr: Translator) -> dict[str, str]:
    return {key: tr.gettext(text) for key, text in TEXTS.items()}


# Why a customer would not get a campaign now, as care.contact states it, in the page's words.
REASONS = {
    NOT_IN_SEGMENT: N_("not in the campaign's segment"),
    NOT_LINKED: N_("not linked to a Telegram chat yet"),
    NO_MARKETING: N_("has not agreed to offers"),
    NO_SERVICE: N_("has not agreed to messages"),
    DO_NOT_CONTACT: N_("on the do-not-contact list"),
    UNREACHABLE: N_("cannot be reached (blocked the bot, or the chat is gone)"),
}


def reason(tr: Translator, problem: str) -> str:
    """A contact problem in the reader's words; one the page has no words for is shown as
    care.contact states it."""
    text = REASONS.get(problem)
    return tr.gettext(text) if text is not None else problem
