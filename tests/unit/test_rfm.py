"""RFM scoring: quintiles over the base, segments by score ranges."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from careloop.care.rfm import DEFAULT_SEGMENTS, OTHER, Purchases, SegmentRule, quintiles, score

NOW = datetime(2026, 12, 1, tzinfo=UTC)


def test_quintiles_split_the_base_in_five_and_ties_share_a_score() -> None:
    assert quintiles(list(range(10))) == [1, 1, 2, 2, 3, 3, 4, 4, 5, 5]
    assert quintiles([7, 7, 7]) == [3, 3, 3]  # everyone alike: the middle
    assert quintiles([1]) == [3]
    assert quintiles([0, 0, 0, 0, 100]) == [3, 3, 3, 3, 5]


def test_each_buyer_gets_scores_and_the_first_segment_that_fits() -> None:
    rows = [Purchases(i + 1, NOW - timedelta(days=10 * (10 - i)), purchases=1 + i // 2,
                      cents=1000 * (i + 1)) for i in range(10)]
    scored = {s.customer_id: s for s in score(rows, DEFAULT_SEGMENTS)}
    best, worst = scored[10], scored[1]
    assert (best.r, best.f, best.m, best.segment) == (5, 5, 5, "champions")
    assert (worst.r, worst.f, worst.m, worst.segment) == (1, 1, 1, "lost")
    # Every combination of scores has a name among the usual segments.
    assert all(any(s.fits(r, f, 3) for s in DEFAULT_SEGMENTS)
               for r in range(1, 6) for f in range(1, 6))
    assert score(rows[:1], (SegmentRule("big", m=(5, 5)),))[0].segment == OTHER
    assert score([], DEFAULT_SEGMENTS) == []


def test_staff_read_the_segment_in_their_language() -> None:
    from careloop.handlers.views.labels import rfm_line, segment_name
    from careloop.kernel.i18n import Catalogs
    from careloop.storage.models import Customer

    ann = Customer(name="Ann", rfm_segment="at_risk", rfm_recency=1, rfm_frequency=4,
                   rfm_monetary=5)
    catalogs = Catalogs(default="en")
    assert rfm_line(catalogs.translator("en"), ann) == "RFM: at risk (R 1 · F 4 · M 5)"
    assert rfm_line(catalogs.translator("ru"), ann) == (
        "RFM: под угрозой ухода (R 1 · F 4 · M 5)")
    assert segment_name(catalogs.translator("en"), "big_spenders") == "big spenders"
    assert rfm_line(catalogs.translator("en"), Customer(name="Bo")) is None


def test_a_campaign_segment_takes_rfm_segments() -> None:
    from careloop.campaigns.loader import BadValue, segment_of
    from careloop.campaigns.segment import in_segment
    from careloop.handlers.marketer.wizard import parse_segment
    from careloop.storage.models import Customer

    segment = segment_of(parse_segment("tier=gold rfm=champions,loyal"))
    assert segment.rfm == ("champions", "loyal")
    assert segment.describe() == "tier=gold rfm=champions,loyal"
    best = Customer(name="A", tier="gold", rfm_segment="loyal")
    assert in_segment(segment, best, NOW, 12, None)
    assert not in_segment(segment, Customer(name="B", tier="gold"), NOW, 12, None)
    with pytest.raises(BadValue) as bad:
        segment_of({"rfm": "Big Spenders"})
    assert str(bad.value) == ("rfm: 'Big Spenders' is not an RFM segment name (lowercase "
                              "letters, digits and _)")
