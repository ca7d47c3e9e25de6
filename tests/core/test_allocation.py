"""The pure allocation rules: where a submission's marking stands, who marks next, what an appeal decides."""
import pytest

from lms_plugin.core.allocation import Round, appeal_outcome, choose_examiners, marking_state


def rounds(*specs):
    """(round, examiner or None, total or None, finalised)"""
    return [Round(*spec) for spec in specs]


# marking_state

def test_a_new_submission_with_both_examiners_named_awaits_its_first_mark():
    state = marking_state(rounds((1, 11, None, False), (2, 12, None, False)))
    assert (state.status, state.stage, state.marks_done) == ("awaiting_marks", "awaiting_first", 0)
    assert (state.waiting, state.unstaffed, state.needs_examiner) == ((1, 2), (), False)
    assert state.final is None and state.gap is None


def test_a_submission_nobody_can_mark_is_listed_as_needing_an_examiner():
    state = marking_state([])
    assert (state.stage, state.unstaffed, state.needs_examiner) == ("awaiting_first", (1, 2), True)
    one = marking_state(rounds((1, 11, None, False)))
    assert (one.waiting, one.unstaffed, one.needs_examiner) == ((1,), (2,), True)


def test_one_finalised_mark_awaits_the_second():
    state = marking_state(rounds((1, 11, 7.5, True), (2, 12, 6.0, False)))
    assert (state.status, state.stage, state.marks_done) == ("awaiting_marks", "awaiting_second", 1)
    assert (state.waiting, state.unstaffed) == ((2,), ())


def test_a_draft_total_does_not_count_as_a_mark():
    state = marking_state(rounds((1, 11, 7.5, False), (2, 12, 5.0, False)))
    assert (state.stage, state.marks_done, state.waiting) == ("awaiting_first", 0, (1, 2))


def test_two_marks_within_the_threshold_are_final():
    # 7.5 and 6.0 differ by exactly 1.5: still agreement; mean 6.75
    state = marking_state(rounds((1, 11, 7.5, True), (2, 12, 6.0, True)))
    assert (state.status, state.stage, state.final, state.gap, state.marks_done) == ("final", "final", 6.75, 1.5, 2)
    assert (state.waiting, state.unstaffed, state.needs_examiner) == ((), (), False)


def test_a_wider_gap_needs_a_third_mark_waiting_for_its_examiner():
    state = marking_state(rounds((1, 11, 8.0, True), (2, 12, 5.0, True), (3, 13, None, False)))
    assert (state.status, state.stage, state.gap, state.final) == ("needs_third", "needs_third", 3.0, None)
    assert (state.waiting, state.unstaffed, state.needs_examiner) == ((3,), (), False)


def test_a_wider_gap_without_a_third_examiner_needs_one():
    state = marking_state(rounds((1, 11, 8.0, True), (2, 12, 6.25, True)))
    assert (state.status, state.gap, state.unstaffed, state.needs_examiner) == ("needs_third", 1.75, (3,), True)
    # a row with nobody named is not staffed either
    assert marking_state(rounds((1, 11, 8.0, True), (2, 12, 6.25, True), (3, None, None, False))).unstaffed == (3,)


def test_the_third_mark_settles_it():
    # 8.0 and 5.0; the third 7.0 is closer to 8.0: (7.0 + 8.0) / 2 = 7.5
    state = marking_state(rounds((1, 11, 8.0, True), (2, 12, 5.0, True), (3, 13, 7.0, True)))
    assert (state.status, state.final, state.marks_done, state.waiting, state.unstaffed) == ("final", 7.5, 3, (), ())


def test_a_custom_threshold_is_used():
    state = marking_state(rounds((1, 11, 8.0, True), (2, 12, 7.0, True)), threshold=0.5)
    assert (state.status, state.unstaffed) == ("needs_third", (3,))


def test_an_open_appeal_requires_a_fourth_round_named_by_the_chief():
    marked = ((1, 11, 8.0, True), (2, 12, 7.0, True))
    filed = marking_state(rounds(*marked), appeal_open=True)
    assert (filed.status, filed.stage, filed.final) == ("final", "final", 7.5)
    assert (filed.unstaffed, filed.needs_examiner) == ((4,), True)
    assigned = marking_state(rounds(*marked, (4, 13, None, False)), appeal_open=True)
    assert (assigned.waiting, assigned.unstaffed, assigned.needs_examiner) == ((4,), (), False)
    # the re-mark never enters the reconciliation; once decided the appeal is no longer open
    decided = marking_state(rounds(*marked, (4, 13, 2.0, True)))
    assert (decided.final, decided.marks_done, decided.waiting, decided.unstaffed) == (7.5, 2, (), ())


# choose_examiners

def test_the_least_loaded_are_chosen():
    assert choose_examiners([1, 2, 3], {1: 4, 2: 1, 3: 2}, [], 2) == [2, 3]


def test_ties_go_to_the_earlier_pool_member_and_missing_loads_count_as_zero():
    assert choose_examiners([3, 1, 2], {1: 1}, [], 2) == [3, 2]
    assert choose_examiners([5, 4], {}, [], 2) == [5, 4]


def test_examiners_who_marked_it_are_excluded_and_duplicates_count_once():
    assert choose_examiners([1, 2, 3, 2], {3: 9}, {1, 2}, 1) == [3]


def test_fewer_free_examiners_than_wanted_gives_only_those():
    assert choose_examiners([1, 2], {}, [1], 2) == [2]
    assert choose_examiners([1, 2], {}, [1, 2], 1) == []
    assert choose_examiners([], {}, [], 2) == []


# appeal_outcome

@pytest.mark.parametrize("previous, remark, expected", [
    (7.0, 7.25, 7.25),      # exactly one step up: replaces
    (7.0, 6.75, 6.75),      # exactly one step down: replaces
    (7.0, 9.0, 9.0),
    (7.0, 3.5, 3.5),
    (7.0, 7.125, 7.25),     # rounds half up to 7.25, one step away: replaces
    (7.0, 6.875, 7.0),      # rounds half up to 7.0: confirms
    (7.0, 6.87, 6.75),      # rounds to 6.75: replaces
    (7.0, 7.12, 7.0),       # rounds to 7.0: confirms
    (7.0, 7.0, 7.0),
])
def test_an_appeal_remark_replaces_the_mark_when_a_step_apart(previous, remark, expected):
    outcome, rule = appeal_outcome(previous, remark)
    assert outcome == expected
    assert rule == ("appeal re-mark confirms the released mark" if expected == previous
                    else "appeal re-mark replaces the released mark")
