import pytest

from lms_plugin.core.grading import Mark, reconcile, round_to_step


def marks(*totals):
    return [Mark(f"e{i}", i, t) for i, t in enumerate(totals, start=1)]


def test_one_mark_is_not_enough():
    assert reconcile(marks(7.0)).status == "awaiting_marks"


def test_close_marks_average_to_the_nearest_quarter():
    result = reconcile(marks(7.0, 8.0))
    assert (result.status, result.final, result.gap) == ("final", 7.5, 1.0)
    assert reconcile(marks(7.0, 7.5)).final == 7.25
    assert reconcile(marks(6.6, 6.8)).final == 6.75


def test_the_threshold_itself_is_still_agreement():
    assert reconcile(marks(6.0, 7.5)).status == "final"


def test_a_wider_gap_calls_a_third_examiner():
    result = reconcile(marks(5.0, 8.0))
    assert result.status == "needs_third" and result.final is None and result.gap == 3.0


def test_the_third_mark_pairs_with_the_closer_first_mark():
    assert reconcile(marks(5.0, 8.0, 7.5)).final == 7.75
    assert reconcile(marks(5.0, 8.0, 5.0)).final == 5.0
    # equally close: the mean of both first marks stands in
    assert reconcile(marks(5.0, 8.0, 6.5)).final == 6.5


def test_the_threshold_is_configurable():
    assert reconcile(marks(5.0, 6.0), threshold=0.5).status == "needs_third"


@pytest.mark.parametrize("value, expected", [(7.125, 7.25), (7.12, 7.0), (9.875, 10.0), (0.1, 0.0)])
def test_rounding_half_up_to_quarters(value, expected):
    assert round_to_step(value) == expected
