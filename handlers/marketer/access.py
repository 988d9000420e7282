"""Only marketers and admins create, test, start or stop campaigns."""

from __future__ import annotations

from careloop.handlers.middleware import Press, Request
from careloop.kernel.effects import Effect, Send

CAMPAIGN_ROLES = frozenset({"marketer", "admin"})


def refusal(req: Request) -> list[Effect]:
    text = req._("Sorry, only marketers and admins can work with campaigns.")
    if isinstance(req, Press):
        return [req.toast(text)]
    return [Send(req.chat_id, text)]
