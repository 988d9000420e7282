import pytest

from surveys.metrics import csat, nps, response_rate


def test_csat_by_hand() -> None:
    # 4 and 5 are satisfied: 3 of 5 answers → 60 %; mean (1+2+4+5+5)/5 = 3.4
    summary = csat([1, 2, 4, 5, 5])
    assert summary.answers == 5
    assert summary.satisfied_pct == pytest.approx(60.0)
    assert summary.mean == pytest.approx(3.4)


def test_csat_without_answers_is_empty_not_zero() -> None:
    summary = csat([])
    assert (summary.answers, summary.satisfied_pct, summary.mean) == (0, None, None)


def test_nps_by_hand() -> None:
    # promoters 9,10,10 (3); passives 7,8 (2); detractors 0,6 (2) of 7 → (3-2)/7 = 14.29
    summary = nps([9, 10, 10, 7, 8, 0, 6])
    assert (summary.promoters, summary.passives, summary.detractors) == (3, 2, 2)
    assert summary.score == pytest.approx(100 / 7)


def test_nps_all_passives_is_zero() -> None:
    assert nps([7, 8, 7, 8]).score == 0


def test_nps_extremes() -> None:
    assert nps([10, 9]).score == 100
    assert nps([0, 6, 3]).score == -100
    assert nps([]).score is None


def test_response_rate() -> None:
    assert response_rate(8, 6) == pytest.approx(75.0)
    assert response_rate(0, 0) is None
