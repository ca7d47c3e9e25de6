"""A course's persisted index: built once the course is large, queried by checks, equal to a full refit."""
import pytest
from sqlalchemy import select

from lms_plugin.services import accounts, cohorts, essays, similarity, similarity_index
from lms_plugin.services.catalog import load_catalog
from lms_plugin.services.content import import_catalog
from lms_plugin.store import models as m
from tests.services.test_similarity_service import BUDGET, DATA, LAND

FLOOD = ("Đêm mưa lớn, nước sông lên nhanh, xã phải quyết định sơ tán hai thôn ven suối. Thông tin từ cảm biến mực "
         "nước và báo cáo của trưởng thôn không khớp nhau, trong khi điện thoại ở vùng sâu mất sóng. Ban chỉ huy cần "
         "chọn nguồn tin đáng tin cậy, giao người trực bộ đàm và chuẩn bị điểm tập kết tại trường học trên đồi.")


@pytest.fixture
def course(session, tree, tmp_path, monkeypatch):
    monkeypatch.setenv("CASELAB_INDEX_DIR", str(tmp_path / "index"))
    monkeypatch.setenv("CASELAB_SIMILARITY_INDEX_AT", "3")
    import_catalog(session, load_catalog(["scenarios", "rubrics"]))
    cohort = cohorts.create_cohort(session, "Lớp lớn", "khoa-thu")
    group = cohorts.group_named(session, cohort, "Xã Tân Hòa")
    people = [accounts.create_user(session, f"hv{i}", "cadre", "mat-khau-123") for i in range(6)]
    for person in people:
        cohorts.add_member(session, cohort, person, group)
    assignment = cohorts.assign_scenario(session, cohort, "t1-mau")
    session.commit()
    return people, assignment


def submit(session, person, assignment, text):
    receipt = essays.submit_essay(session, person, assignment.id, text)
    session.commit()
    session.expire_all()
    return receipt.id


def report(session, essay_id):
    return session.scalar(select(m.SimilarityReport).where(m.SimilarityReport.essay_id == essay_id))


def test_the_index_is_built_when_the_course_grows_and_checks_use_it(session, course):
    people, assignment = course
    course_id = assignment.cohort.course_id
    first = submit(session, people[0], assignment, LAND + "\n\n" + BUDGET)
    submit(session, people[1], assignment, DATA)
    assert similarity_index.load(course_id) is None
    submit(session, people[2], assignment, FLOOD)
    index = similarity_index.load(course_id)
    assert index is not None and index.essays == 3 and index.last_essay_id == first + 2

    # one source in the index, one newer than it: both are found, overlaps counted once
    newer = submit(session, people[3], assignment, "Ý kiến của tôi: " + BUDGET)
    copier = submit(session, people[4], assignment, "Tóm lại: " + LAND + " " + BUDGET)
    found = {(s["kind"], s["id"]) for s in report(session, copier).sources}
    assert found == {("essay", first), ("essay", newer)}
    assert report(session, copier).score > 0.9


def test_a_check_through_the_index_reads_only_the_essays_it_does_not_hold(session, course, monkeypatch):
    people, assignment = course
    for person, text in zip(people, [LAND, DATA, FLOOD]):
        submit(session, person, assignment, text)
    index = similarity_index.load(assignment.cohort.course_id)
    read = []
    original = similarity.latest_essays

    def recording(session, course_id, after_id=None):
        rows = original(session, course_id, after_id)
        read.extend(e.id for e in rows)
        return rows
    monkeypatch.setattr(similarity, "latest_essays", recording)
    copier = submit(session, people[3], assignment, "Tóm lại: " + LAND)
    assert read and min(read) > index.last_essay_id          # no essay the index holds is loaded again
    assert {s["id"] for s in report(session, copier).sources} >= {index.last_essay_id - 2}


def test_a_check_through_the_index_agrees_with_a_full_refit(session, course, monkeypatch):
    people, assignment = course
    for person, text in zip(people, [LAND + " " + BUDGET, DATA, FLOOD]):
        submit(session, person, assignment, text)
    copier = submit(session, people[3], assignment, "Mở đầu. " + DATA + " Và " + LAND)
    via_index = report(session, copier)
    indexed = (via_index.score, sorted((s["id"], s["share"]) for s in via_index.sources))

    monkeypatch.setattr(similarity_index, "load", lambda course_id: None)
    similarity.check_essay(session, copier, recheck_matched=False)
    session.commit()
    refit = report(session, copier)
    assert refit.score == pytest.approx(indexed[0], abs=0.02)
    assert [i for i, _ in sorted((s["id"], s["share"]) for s in refit.sources)] == [i for i, _ in indexed[1]]


def test_an_authors_own_earlier_version_is_never_a_source(session, course):
    people, assignment = course
    for person, text in zip(people, [LAND, DATA, FLOOD]):
        submit(session, person, assignment, text)
    again = submit(session, people[0], assignment, LAND + " Bổ sung: " + BUDGET)
    assert report(session, again).sources == []


def test_workers_reload_the_index_only_when_it_was_rebuilt(session, course):
    people, assignment = course
    for person, text in zip(people, [LAND, DATA, FLOOD]):
        submit(session, person, assignment, text)
    course_id = assignment.cohort.course_id
    first = similarity_index.load(course_id)
    assert similarity_index.load(course_id) is first
    similarity.rebuild_index(session, course_id)
    rebuilt = similarity_index.load(course_id)
    assert rebuilt is not first and rebuilt.essays == 3
    assert len(list(similarity_index.index_dir().glob("*.npz"))) == 1
