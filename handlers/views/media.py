"""What careloop cannot pass on between a customer and staff, named for the one who sent it."""

from __future__ import annotations

from careloop.kernel.i18n import N_, Translator

# By the Bot API's field name (kernel.updates.Update.unsupported).
KINDS = {
    "sticker": N_("a sticker"),
    "voice": N_("a voice message"),
    "video": N_("a video"),
    "video_note": N_("a video message"),
    "audio": N_("an audio file"),
    "animation": N_("a GIF"),
    "location": N_("a location"),
    "venue": N_("a place"),
    "contact": N_("a contact"),
    "poll": N_("a poll"),
    "dice": N_("a dice roll"),
}


def refused(tr: Translator, kind: str | None) -> str:
    """"Sorry, I cannot pass on a sticker: please send text, a photo or a document." """
    what = tr.gettext(KINDS[kind]) if kind in KINDS else tr.gettext("this kind of message")
    return tr.gettext("Sorry, I cannot pass on {what}. Please send text, a photo or a "
                      "document instead.").format(what=what)
