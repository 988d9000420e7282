"""Deep-link payloads: whatever text follows /start is a valid link or refused, never an
error."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from careloop.kernel import deeplink
from careloop.kernel.numbers import whole_number


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


# What someone types after /start: digits int() refuses ("²"), digits int() reads in another
# script ("٣"), letters beyond ASCII where the signature goes, numbers past 64 bits.
TYPED = ["c1-é", "c²-x", "c٣-x", "c1-\udcff", "c\x00-x", "c01-x", "c+1-x", "c 1-x", "c1 -x",
         "c99999999999999999999-x", "c1-" + "é" * 16]


@pytest.mark.parametrize("payload", TYPED)
def test_typed_payloads_are_refused_not_raised(payload: str) -> None:
    assert deeplink.verify(payload, "secret") is None


@pytest.mark.parametrize("payload", ["m²", "m٣", "m", "m-1", "m+1", "m 1", "m01",
                                     "m1234567890", "m1\n", "m१"])
def test_a_campaign_payload_is_m_and_the_number_as_written(payload: str) -> None:
    assert deeplink.campaign_of(payload) is None


def test_campaign_round_trip() -> None:
    assert deeplink.campaign_of(deeplink.campaign_payload(7)) == 7
    assert deeplink.campaign_of(deeplink.campaign_payload(999_999_999)) == 999_999_999


# Any text, and text shaped like a link: digits of any script where the id goes.
DIGITS = st.text(alphabet=st.one_of(st.sampled_from("0123456789"),
                                    st.characters(categories=["Nd", "No"])), max_size=6)
PAYLOADS = st.one_of(
    st.text(max_size=80),
    st.builds(lambda n, sig: f"c{n}-{sig}", DIGITS, st.text(max_size=20)),
    st.builds(lambda n: f"m{n}", DIGITS),
)


@given(PAYLOADS)
def test_any_text_is_a_valid_link_or_refused(payload: str) -> None:
    customer_id = deeplink.verify(payload, "secret")
    assert customer_id is None or deeplink.sign(customer_id, "secret") == payload


@given(st.integers(min_value=1, max_value=10**18 - 1), st.text(max_size=20))
def test_a_signed_link_with_anything_appended_or_changed_is_refused(
        customer_id: int, tail: str) -> None:
    payload = deeplink.sign(customer_id, "secret")
    assert deeplink.verify(payload, "secret") == customer_id
    if tail:
        assert deeplink.verify(payload + tail, "secret") is None
        assert deeplink.verify(tail + payload, "secret") is None


@given(PAYLOADS)
def test_any_text_is_a_campaign_payload_or_not(payload: str) -> None:
    campaign_id = deeplink.campaign_of(payload)
    assert campaign_id is None or deeplink.campaign_payload(campaign_id) == payload


@given(st.one_of(st.text(max_size=30),
                 st.text(alphabet=st.characters(categories=["Nd", "No"]), max_size=30)))
def test_whole_number_reads_ascii_digits_only(text: str) -> None:
    number = whole_number(text, max_digits=20)
    if number is None:
        assert not (text.isascii() and text.isdigit() and 0 < len(text) <= 20)
    else:
        assert text.isascii() and int(text) == number and 0 <= number < 10**20
