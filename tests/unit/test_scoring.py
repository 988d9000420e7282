import pytest

from careloop.kernel.i18n import Catalogs
from careloop.surveys.loader import load_surveys
from careloop.surveys.scoring import InvalidScore, case_priority, is_negative, parse_score

SHIPPED = load_surveys(None)
CSAT, NPS = SHIPPED["csat"], SHIPPED["nps"]
EN = Catalogs().translator("en")


@pytest.mark.parametrize(("score", "negative"), [(1, True), (2, True), (3, False), (5, False)])
def test_csat_threshold(score: int, negative: bool) -> None:
    assert is_negative(CSAT, score) is negative


@pytest.mark.parametrize(("score", "negative"), [(0, True), (6, True), (7, False), (10, False)])
def test_nps_threshold(score: int, negative: bool) -> None:
    assert is_negative(NPS, score) is negative


@pytest.mark.parametrize("raw", ["0", "6", "-1", "abc", "", "3.5", "99999999999999999999"])
def test_csat_refuses_scores_off_its_scale(raw: str) -> None:
    with pytest.raises(InvalidScore):
        parse_score(CSAT, raw)


def test_nps_accepts_its_whole_scale() -> None:
    assert [parse_score(NPS, str(s)) for s in range(11)] == list(range(11))


def test_priority_vip_or_lowest_score_is_urgent() -> None:
    assert case_priority(CSAT, 2, "standard") == "important"
    assert case_priority(CSAT, 1, "standard") == "urgent"
    assert case_priority(CSAT, 2, "VIP") == "urgent"
    assert case_priority(NPS, 0, "standard") == "urgent"
    assert case_priority(NPS, 5, "gold") == "urgent"


def test_a_survey_since_removed_is_judged_by_tier_alone() -> None:
    assert case_priority(None, 1, "standard") == "important"
    assert case_priority(None, 1, "vip") == "urgent"


def test_buttons_rows_cover_the_scale_once() -> None:
    assert CSAT.rows() == [[1, 2, 3, 4, 5]]
    assert NPS.rows() == [[0, 1, 2, 3, 4, 5], [6, 7, 8, 9, 10]]
    assert CSAT.label(5, EN, "en") == "😍 5"
    assert NPS.label(7, EN, "en") == "7"


def test_unknown_survey_is_a_clear_error() -> None:
    assert SHIPPED.get("ces") is None
    with pytest.raises(KeyError, match="unknown survey 'ces'"):
        SHIPPED["ces"]
