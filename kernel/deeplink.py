"""/start payloads: signed ones for a customer's own link, so a deep link cannot be guessed
or altered, and the unsigned ones of the community group and of campaigns."""

from __future__ import annotations

import base64
import hashlib
import hmac

_PREFIX = "c"
# The unsigned payload of the community group's links: it names no one, so anyone who opens
# the bot with it is greeted as someone without a link (known by their Telegram account).
COMMUNITY = "community"
# A campaign's link, `m<campaign id>`: it names no one either; starts through it are counted
# for the campaign's recipients.
_CAMPAIGN = "m"
_SIG_BYTES = 12  # 96 bits: unguessable, and the payload stays inside Telegram's 64 characters


def sign(customer_id: int, secret: str) -> str:
    return f"{_PREFIX}{customer_id}-{_signature(customer_id, secret)}"


def verify(payload: str, secret: str) -> int | None:
    """The customer id a payload was signed for, or None for anything forged or malformed."""
    if not payload.startswith(_PREFIX) or "-" not in payload:
        return None
    raw_id, _, sig = payload[len(_PREFIX) :].partition("-")
    if not raw_id.isdigit() or len(raw_id) > 18:
        return None
    customer_id = int(raw_id)
    if not hmac.compare_digest(sig, _signature(customer_id, secret)):
        return None
    return customer_id


def url(payload: str, bot_username: str) -> str:
    return f"https://t.me/{bot_username}?start={payload}"


def _signature(customer_id: int, secret: str) -> str:
    mac = hmac.new(secret.encode(), f"link:{customer_id}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(mac[:_SIG_BYTES]).decode().rstrip("=")


def campaign_payload(campaign_id: int) -> str:
    return f"{_CAMPAIGN}{campaign_id}"


def campaign_of(payload: str) -> int | None:
    rest = payload[len(_CAMPAIGN):]
    return int(rest) if payload.startswith(_CAMPAIGN) and rest.isdigit() \
        and len(rest) < 10 else None
