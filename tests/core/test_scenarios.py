import pytest

from lms_plugin.core.scenarios import Choice, DecisionError, Scenario, Stage, walk


def make(stages, **kw):
    return Scenario(id="x", version=1, topic=1, title="T", stages=tuple(stages), **kw)


def stage(id, *choices, prompt="?"):
    return Stage(id, prompt, tuple(Choice(c[0], "text", f"fb {c[0]}", c[1], c[2]) for c in choices))


BRANCHING = make([
    stage("s1", ("a", 2, "s2"), ("b", 0, "s3")),
    stage("s2", ("a", 3, "good"), ("b", 1, "bad")),
    stage("s3", ("a", 1, "bad")),
    stage("good"), stage("bad"),
])


def test_best_path_total_is_the_longest_weighted_path():
    assert BRANCHING.max_points() == 5


def test_walk_scores_the_path_and_stops_at_an_ending():
    path = walk(BRANCHING, [("s1", "a"), ("s2", "a")])
    assert path.points == 5 and path.finished and path.current.id == "good"
    assert path.ratio == 1.0
    assert [s.feedback for s in path.steps] == ["fb a", "fb a"]


def test_walk_on_a_weaker_path_scores_a_share_of_the_best():
    path = walk(BRANCHING, [("s1", "b"), ("s3", "a")])
    assert path.points == 1 and path.ratio == pytest.approx(0.2)


@pytest.mark.parametrize("decisions, message", [
    ([("s2", "a")], "not the current stage"),
    ([("s1", "z")], "has no choice 'z'"),
    ([("s1", "a"), ("s2", "a"), ("good", "a")], "has ended"),
])
def test_walk_refuses_decisions_the_graph_does_not_allow(decisions, message):
    with pytest.raises(DecisionError, match=message):
        walk(BRANCHING, decisions)


def test_a_sound_graph_has_no_problems():
    assert BRANCHING.problems() == []


def test_problems_name_the_field_path():
    broken = make([
        stage("s1", ("a", 1, "s9"), ("a", 1, "s2")),
        stage("s2", ("a", 0, "s1")),
        stage("s2"),
        stage("lonely"),
    ])
    found = {(p.path, p.message.split(" (")[0]) for p in broken.problems()}
    assert (("stages", 0, "choices", 0, "next"), "unknown stage 's9'") in found
    assert (("stages", 0, "choices", 1, "id"), "duplicate choice id 'a' in stage 's1'") in found
    assert (("stages", 2, "id"), "duplicate stage id 's2'") in found
    assert (("stages", 3, "id"), "stage 'lonely' cannot be reached from 's1'") in found
    assert any(p.message.startswith("cycle s1 -> s2 -> s1") for p in broken.problems())


def test_a_graph_without_an_ending_is_refused():
    looped = make([stage("s1", ("a", 1, "s2")), stage("s2", ("a", 1, "s1"))], allow_cycles=True)
    assert [p.message for p in looped.problems()] == ["no ending: at least one stage must have no choices"]


def test_allowed_cycles_score_a_revisited_stage_once():
    looped = make([stage("s1", ("again", 1, "s2"), ("on", 1, "end")), stage("s2", ("back", 2, "s1")),
                   stage("end")], allow_cycles=True)
    assert looped.problems() == []
    path = walk(looped, [("s1", "again"), ("s2", "back"), ("s1", "on")])
    assert path.finished and path.points == 3
    assert looped.max_points() == 3
