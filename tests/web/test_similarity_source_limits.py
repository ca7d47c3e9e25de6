"""Finding 10: an examiner reads of another cohort's essay only the passages an essay they mark shares with it.

Essay B (cohort 2) is written first; essay A (cohort 1, marked by examiner1 and examiner2) copies one paragraph
of it. B carries a unique marker far from that paragraph: an examiner of A sees the shared passage with a
little context, never the marker, never who wrote B, and cannot open B itself. Staff read B whole, and a
reference text (course material) is shown whole to the examiner too.
"""
from __future__ import annotations

import json

import pytest

from lms_plugin.services import accounts, cohorts, essays, references
from lms_plugin.services.similarity import CONTEXT, excerpts
from tests.web.conftest import PASSWORD, first_assignment
from tests.web.test_similarity_views import COPIED, REFERENCE, copying_essay, marked, original_essay, signed_in, submit

MARKER = "KX7Q2ZW"                    # in B, four paragraphs after the copied one
REF_MARKER = "Điều 99 bí mật"         # in the reference text, away from the quoted paragraph
WRITER = ("hvlop2", "Nguyễn Thị Lớp Hai")


@pytest.fixture
def cross(demo, session):
    """(A, B): B by a cadre of a second cohort of the same course, A by cadre1 copying B's proposals and
    quoting a reference text."""
    assignment = first_assignment(session)
    lecturer = accounts.get_user(session, "lecturer1")
    references.add_reference(session, lecturer, assignment.cohort.course_id, "Nghị định về cơ chế một cửa",
                             "reference", f"{REF_MARKER}. Quy định chung về thủ tục và hồ sơ. " * 8 + "\n\n"
                             + REFERENCE + "\n\nĐiều 6. Trách nhiệm của cán bộ.")
    second = cohorts.create_cohort(session, "Lớp 2", assignment.cohort.course.slug)
    writer = accounts.create_user(session, WRITER[0], "cadre", PASSWORD, display_name=WRITER[1])
    cohorts.add_member(session, second, writer, cohorts.group_named(session, second, "Xã Đông Sơn"))
    examiner = accounts.create_user(session, "examiner7", "examiner", PASSWORD)
    accounts.create_user(session, "examiner9", "examiner", PASSWORD)
    other = cohorts.assign_scenario(session, second, assignment.scenario_version.scenario.slug, examiners=[examiner])
    session.commit()
    essay_b = original_essay().replace("\n\n# Kiến nghị", f" {MARKER}\n\n# Kiến nghị")
    assert essay_b.index(MARKER) - essay_b.index(COPIED) - len(COPIED) > 4 * CONTEXT
    b = essays.submit_essay(session, writer, other.id, essay_b).id
    session.commit()
    a = submit(session, "cadre1", copying_essay().replace("# Bài thu hoạch\n\n", f"# Bài thu hoạch\n\n{REFERENCE}\n\n"))
    return a, b


def source(report: dict, kind: str) -> dict:
    return next(s for s in report["sources"] if s["kind"] == kind)


def test_an_examiner_gets_only_passages_and_context_of_another_cohort_s_essay(app, cross):
    a, b = cross
    examiner = signed_in(app, "examiner1")
    answer = examiner.get(f"/api/v1/essays/{a}/similarity")
    assert answer.status_code == 200, answer.text
    theirs = source(answer.json, "essay")
    assert theirs["id"] == b and theirs["text"] is None and theirs["length"] > 3000
    assert any(COPIED[20:600] in part["text"] for part in theirs["excerpts"])
    shown = sum(len(part["text"]) for part in theirs["excerpts"])
    copied = sum(p[3] - p[2] for p in theirs["passages"])
    assert shown <= copied + 2 * CONTEXT * len(theirs["passages"]) and shown < theirs["length"] / 2
    readable = json.dumps(answer.json, ensure_ascii=False)
    assert MARKER not in readable and WRITER[0] not in readable and WRITER[1] not in readable
    # course material is shown whole
    assert REF_MARKER in source(answer.json, "reference")["text"]

    tab = next(i for i, s in enumerate(answer.json["sources"]) if s["kind"] == "essay")
    page = examiner.get(f"/similarity/essays/{a}?source={tab}")
    assert page.status_code == 200
    text = page.text
    assert 'data-test="excerpts-only"' in text and 'data-test="gap"' in text
    assert any(COPIED[20:600] in piece for piece in marked(text, "source-side"))
    assert len(marked(text, "source-side")) == len(marked(text, "essay-side"))     # numbered alike
    assert MARKER not in text and WRITER[0] not in text and WRITER[1] not in text
    for url in (f"/similarity/essays/{b}", f"/examiner/essays/{b}", f"/api/v1/essays/{b}",
                f"/api/v1/essays/{b}/similarity"):
        assert examiner.get(url).status_code == 404, url


def test_an_examiner_who_does_not_mark_the_essay_gets_404(app, cross):
    a, _b = cross
    for username in ("examiner7", "examiner9"):       # marks B only; marks nothing
        client = signed_in(app, username)
        assert client.get(f"/similarity/essays/{a}").status_code == 404
        assert client.get(f"/api/v1/essays/{a}/similarity").status_code == 404


def test_the_examiner_of_b_sees_only_excerpts_of_a_and_staff_read_both_whole(app, cross):
    a, b = cross
    of_b = signed_in(app, "examiner7").get(f"/api/v1/essays/{b}/similarity")
    assert of_b.status_code == 200
    theirs = source(of_b.json, "essay")
    assert theirs["id"] == a and theirs["text"] is None and theirs["excerpts"]
    for username in ("lecturer1", "admin1"):
        staff = signed_in(app, username)
        report = staff.get(f"/api/v1/essays/{a}/similarity").json
        assert MARKER in source(report, "essay")["text"]
        page = staff.get(f"/similarity/essays/{a}?source="
                         f"{next(i for i, s in enumerate(report['sources']) if s['kind'] == 'essay')}").text
        assert MARKER in page and 'data-test="excerpts-only"' not in page


def test_excerpts_keep_whole_words_and_merge_neighbours():
    text = " ".join(f"từ{i:03d}" for i in range(300))           # words of 5 characters and a space
    start = text.index("từ100")
    parts = excerpts(text, [(start, start + 5), (start + 60, start + 65)], context=30)
    [part] = parts                                               # the two windows overlap: one excerpt
    assert text[part["start"]:part["end"]] == part["text"]
    assert part["text"].split()[0] in text.split() and part["text"].split()[-1] in text.split()
    assert part["start"] >= start - 30 and part["end"] <= start + 65 + 30
    far = excerpts(text, [(0, 5), (len(text) - 5, len(text))], context=30)
    assert len(far) == 2 and far[0]["start"] == 0 and far[1]["end"] == len(text)
    assert excerpts(text, []) == [] and excerpts("", [(0, 4)]) == []
