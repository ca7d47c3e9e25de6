"""A model answer copied into more essays than ``max_postings`` is still
found in every copy, linked to its earliest holder (and to a reference
text holding it), with work linear in the number of copies."""
import re

import pytest
from vietnamese_samples import OWN_VIEWS, SCENARIO, SOURCE, UNRELATED

from lms_plugin.core.similarity import ReuseDetector

OWN_SENTENCES = [s for text in [*UNRELATED, *OWN_VIEWS, SCENARIO] for s in re.split(r"(?<=\.)\s+", text)]
LEAKED = " ".join(re.split(r"(?<=\.)\s+", SOURCE)[1:6])
COPIES = 12


def cohort():
    """Twelve essays, each one own sentence plus the leaked answer."""
    return [(f"e{i}", OWN_SENTENCES[i] + " " + LEAKED) for i in range(COPIES)]


def detector(max_postings=4, **params):
    # the leaked text is in every essay: not boilerplate here, by choice
    return ReuseDetector(n_jobs=1, max_postings=max_postings, boilerplate_share=1.0, boilerplate_min_docs=100,
                         **params)


def test_every_copy_is_linked_to_the_earliest_holder():
    found = {(m.a, m.b): m for m in detector().fit(cohort()).pairs(0.1)}
    for i in range(1, COPIES):
        match = found[(f"e{i}", "e0")]
        assert match.score > 0.5
    # linear work: each copy pairs with the first and the last holder only
    assert set(found) <= {(f"e{i}", f"e{j}") for i in range(COPIES) for j in range(COPIES)
                          if i != j and {0, COPIES - 1} & {i, j}}


def test_a_reference_holding_the_text_is_a_source_of_every_copy():
    fitted = detector().fit(cohort(), references=[("model-answer", LEAKED)])
    found = {(m.a, m.b) for m in fitted.pairs(0.5)}
    assert all((f"e{i}", "model-answer") in found for i in range(COPIES))


def test_a_new_copy_is_found_against_the_fitted_cohort():
    fitted = detector().fit(cohort())
    own = OWN_SENTENCES[COPIES + 3]  # a sentence no fitted essay has
    result = fitted.query(own + " " + LEAKED)
    assert {m.b for m in result.matches if m.score > 0.3} == {"e0", f"e{COPIES - 1}"}
    assert result.score == pytest.approx(len(LEAKED.rstrip(".")) / len(own + " " + LEAKED.rstrip(".")), abs=1e-9)


def test_under_the_limit_every_pair_is_compared():
    found = {(m.a, m.b) for m in detector(max_postings=COPIES).fit(cohort()).pairs(0.1)}
    assert len(found) == COPIES * (COPIES - 1)


def test_a_holder_s_own_report_names_the_first_and_last_of_the_others():
    fitted = detector().fit(cohort())
    for essay, expected in [("e5", {"e0", f"e{COPIES - 1}"}), ("e0", {"e1", f"e{COPIES - 1}"}),
                            (f"e{COPIES - 1}", {"e0", f"e{COPIES - 2}"})]:
        assert {m.b for m in fitted.report(essay).matches if m.score > 0.3} == expected, essay
