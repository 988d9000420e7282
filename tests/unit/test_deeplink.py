import pytest

from careloop.kernel import deeplink


def test_round_trip() -> None:
    payload = deeplink.sign(42, "secret")
    assert deeplink.verify(payload, "secret") == 42
    assert len(payload) <= 64  # Telegram's limit for a start parameter
    assert all(c.isalnum() or c in "-_" for c in payload)


@pytest.mark.parametrize("payload", [
    "", "c", "c42", "c42-", "42-abc", "cabc-def", "c-1-xyz", "c" + "9" * 40 + "-x",
])
def test_malformed_payloads_are_refused(payload: str) -> None:
    assert deeplink.verify(payload, "secret") is None


def test_altered_id_or_signature_or_key_is_refused() -> None:
    payload = deeplink.sign(42, "secret")
    sig = payload.split("-", 1)[1]
    assert deeplink.verify(f"c43-{sig}", "secret") is None
    assert deeplink.verify(payload[:-1] + ("A" if payload[-1] != "A" else "B"), "secret") is None
    assert deeplink.verify(payload, "another secret") is None


def test_url() -> None:
    assert deeplink.url("c1-x", "shop_bot") == "https://t.me/shop_bot?start=c1-x"
