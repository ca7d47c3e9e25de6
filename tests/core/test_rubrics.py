import pytest

from lms_plugin.core.rubrics import Criterion, Level, Rubric, RubricError

LEVELS = (Level(0, "Chưa đạt"), Level(1, "Đạt"), Level(2, "Khá"), Level(3, "Tốt"))
RUBRIC = Rubric("r", 1, "Thu hoạch", (Criterion("a", "Nắm tình hình", 2, LEVELS),
                                      Criterion("b", "Kiến nghị", 1, LEVELS)))


def test_total_is_the_weighted_share_of_best_levels_on_the_ten_point_scale():
    assert RUBRIC.score({"a": 3, "b": 3}).total == 10
    assert RUBRIC.score({"a": 0, "b": 0}).total == 0
    # a weighs twice b: (2*2/3 + 1*1/3) / 3 * 10 = 5.56
    assert RUBRIC.score({"a": 2, "b": 1}).total == pytest.approx(5.56)


def test_each_criterion_keeps_its_points_and_comment():
    score = RUBRIC.score({"a": 2, "b": 1}, {"b": " Cần cụ thể hơn "})
    assert score.points() == {"a": 2, "b": 1}
    assert score.criteria[1].comment == "Cần cụ thể hơn"


@pytest.mark.parametrize("selections, message", [
    ({"a": 3}, "no level chosen for: b"),
    ({"a": 3, "b": 3, "c": 1}, "unknown criteria: c"),
    ({"a": 2.5, "b": 3}, "2.5 is not a level"),
])
def test_selections_that_do_not_fit_are_refused(selections, message):
    with pytest.raises(RubricError, match=message):
        RUBRIC.score(selections)


def test_required_feedback_needs_a_comment_per_criterion():
    strict = Rubric("r", 1, "T", RUBRIC.criteria, feedback="required")
    with pytest.raises(RubricError, match="requires a comment"):
        strict.score({"a": 3, "b": 3}, {"a": "tốt"})
    assert strict.score({"a": 3, "b": 3}, {"a": "tốt", "b": "rõ"}).total == 10


def test_rubric_problems():
    bad = Rubric("r", 1, "T", (Criterion("a", "A", 0, (Level(0, "x"), Level(0, "y"))),
                                Criterion("a", "B", 1, ())))
    messages = [p.message for p in bad.problems()]
    assert "weight must be greater than 0" in messages
    assert "two levels have the same points" in messages
    assert "duplicate criterion id 'a'" in messages
    assert "a criterion needs at least one level" in messages
