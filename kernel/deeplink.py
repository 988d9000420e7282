"""/start payloads: signed ones for a customer's own link, so a deep link cannot be guessed
or altered, and the unsigned ones of the community group and of campaigns."""

from __future__ import annotations

import base64
import hashlib
import hmac

from careloop.kernel.numbers import ID_DIGITS, whole_number

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
    """The customer id a payload was signed for, or None for anything forged or malformed.

    A payload is whatever someone typed after /start: any text at all. compare_digest
    refuses a str with a character beyond ASCII (TypeError), so only ASCII gets that far;
    the id must be written as `sign` writes it (no leading zero), so one id has one link."""
    if not payload.isascii() or not payload.startswith(_PREFIX):
        return None
    raw_id, dash, sig = payload[len(_PREFIX) :].partition("-")
    customer_id = whole_number(raw_id, ID_DIGITS)
    if not dash or customer_id is None or str(customer_id) != raw_id:
        return None
    if not hmac.compare_digest(sig.encode(), _signature(customer_id, secret).encode()):
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
    """The campaign a payload names (`m12`, as `campaign_payload` writes it), or None for any
    other text."""
    if not payload.startswith(_CAMPAIGN):
        return None
    campaign_id = whole_number(payload[len(_CAMPAIGN) :], max_digits=9)
    if campaign_id is None or campaign_payload(campaign_id) != payload:
        return None
    return campaign_id
