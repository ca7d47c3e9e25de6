"""A course's persisted index: built once the course is large, queried by checks, equal to a full refit."""
import json

import pytest
from sqlalchemy import event, select

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


def test_a_check_through_the_index_reads_only_the_essays_it_does_not_hold(session, course, engine, monkeypatch):
    people, assignment = course
    for person, text in zip(people, [LAND, DATA, FLOOD]):
        submit(session, person, assignment, text)
    index = similarity_index.load(assignment.cohort.course_id)
    copier = submit(session, people[3], assignment, "Tóm lại: " + LAND)
    read, statements = [], []
    original = similarity_index.essay_texts

    def recording(session, ids):
        read.extend(ids)
        return original(session, ids)
    monkeypatch.setattr(similarity_index, "essay_texts", recording)
    similarity_index._tails.clear()               # a worker that has not met the newer essays yet

    def statement(conn, cursor, sql, *args):
        statements.append(sql.lower())
    event.listen(engine, "before_cursor_execute", statement)
    try:
        similarity.check_essay(session, copier)
        session.commit()
    finally:
        event.remove(engine, "before_cursor_execute", statement)
    assert read and min(read) > index.last_essay_id          # no essay the index holds is loaded again
    assert {s["id"] for s in report(session, copier).sources} >= {index.last_essay_id - 2}
    # nothing is counted or grouped over the course: the cost of a check does not grow with it
    assert statements and not [s for s in statements if "count(" in s or "group by" in s]


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


def test_workers_reload_the_index_only_when_an_index_job_replaced_it(session, course):
    people, assignment = course
    for person, text in zip(people, [LAND, DATA, FLOOD]):
        submit(session, person, assignment, text)
    course_id = assignment.cohort.course_id
    first = similarity_index.load(course_id)
    assert similarity_index.load(course_id) is first
    assert similarity.rebuild_index(session, course_id)["status"] == "current"     # nothing to do: kept
    assert similarity_index.load(course_id) is first
    submit(session, people[3], assignment, BUDGET)
    similarity.update_index(session, course_id)
    updated = similarity_index.load(course_id)
    assert updated is not first and updated.essays == 4


ROADS = ("Tuyến đường liên thôn dài bốn cây số đã xuống cấp sau mùa mưa, xe chở nông sản không qua được. Xã cần "
         "lập dự án sửa chữa, kêu gọi người dân hiến đất mở rộng lề đường và công khai từng khoản chi cho cộng đồng "
         "giám sát, tránh tình trạng công trình làm xong lại hỏng ngay trong năm đầu sử dụng.")
HEALTH = ("Trạm y tế xã thiếu bác sĩ, người bệnh phải lên tuyến huyện khám những bệnh thông thường. Tôi đề xuất "
          "liên kết với bệnh viện huyện để bác sĩ về khám định kỳ mỗi tuần, triển khai khám từ xa qua mạng và vận "
          "động người dân tham gia bảo hiểm y tế để giảm gánh nặng chi phí khi đau ốm.")


def manifest(course_id):
    return json.loads((similarity_index.index_dir() / f"course-{course_id}.json").read_text(encoding="utf-8"))


def small_idf_sample(monkeypatch):
    """An IDF taken from the first two essays: the index jobs then seal and merge as on a large course."""
    original = similarity.detector
    monkeypatch.setattr(similarity, "detector", lambda **params: original(**{"idf_sample": 2, **params}))


def test_the_index_jobs_seal_new_essays_into_segments_and_merge_them(session, course, monkeypatch):
    small_idf_sample(monkeypatch)
    people, assignment = course
    course_id = assignment.cohort.course_id
    land, data, _flood = [submit(session, p, assignment, t) for p, t in zip(people, [LAND, DATA, FLOOD])]
    assert [s["essays"] for s in manifest(course_id)["segments"]] == [3]
    budget = submit(session, people[3], assignment, BUDGET)                 # in the workers' tails
    copier = submit(session, people[4], assignment, "Tóm lại: " + DATA + " " + BUDGET)
    assert {s["id"] for s in report(session, copier).sources} == {data, budget}
    assert [s["essays"] for s in manifest(course_id)["segments"]] == [3]
    # a third essay after the index: the check asks for the tail to be sealed; 3 and 3 essays merge into one
    third = submit(session, people[5], assignment, "Ý kiến: " + LAND + " " + ROADS)
    assert {s["id"] for s in report(session, third).sources} == {land}
    segments = manifest(course_id)["segments"]
    assert [s["essays"] for s in segments] == [6] and manifest(course_id)["last_essay_id"] >= third
    assert similarity_index.load(course_id).essays == 6
    # every essay is found again, sealed before or after, none twice
    late = submit(session, people[1], assignment, HEALTH + " " + ROADS)      # a new version of the author's
    found = report(session, late).sources
    assert [(s["id"], s["kind"]) for s in found] == [(third, "essay")]


def test_a_version_replaced_by_a_newer_one_is_no_longer_a_source(session, course, monkeypatch):
    small_idf_sample(monkeypatch)
    people, assignment = course
    for person, text in zip(people, [LAND, DATA, FLOOD]):
        submit(session, person, assignment, text)
    first = submit(session, people[3], assignment, ROADS)
    second = submit(session, people[3], assignment, HEALTH)                # replaces the first
    copier = submit(session, people[4], assignment, "Tôi đồng ý: " + ROADS + " " + HEALTH)
    assert {s["id"] for s in report(session, copier).sources} == {second}
    assert first not in {s["id"] for s in report(session, copier).sources}


def test_a_worker_that_starts_afresh_reports_alike(session, course):
    people, assignment = course
    for person, text in zip(people, [LAND + " " + BUDGET, DATA, FLOOD]):
        submit(session, person, assignment, text)
    submit(session, people[3], assignment, ROADS)
    copier = submit(session, people[4], assignment, "Mở đầu. " + ROADS + " Và " + LAND)
    before = report(session, copier)
    seen = (before.score, before.sources)
    for cache in (similarity_index._loaded, similarity_index._segments, similarity_index._tails,
                  similarity_index._references):
        cache.clear()
    similarity.check_essay(session, copier, recheck_matched=False)
    session.commit()
    after = report(session, copier)
    assert (after.score, after.sources) == seen and len(seen[1]) == 2


def test_an_index_saved_before_segments_still_answers_and_asks_for_a_rebuild(session, course, monkeypatch):
    people, assignment = course
    course_id = assignment.cohort.course_id
    monkeypatch.setenv("CASELAB_SIMILARITY_INDEX_AT", "100")
    ids = [submit(session, p, assignment, t) for p, t in zip(people, [LAND, DATA, FLOOD])]
    sources = similarity.course_sources(session, course_id)
    folder = similarity_index.index_dir()
    folder.mkdir(parents=True)
    similarity.detector().fit(sources.essays, exclude=sources.exclude).save(folder / f"course-{course_id}-1.npz")
    (folder / f"course-{course_id}.json").write_text(json.dumps(
        {"file": f"course-{course_id}-1.npz", "last_essay_id": max(ids), "essays": 3, "built_at": "1"}))
    assert similarity_index.load(course_id).current is False
    copier = submit(session, people[3], assignment, "Tóm lại: " + LAND)
    assert [s["id"] for s in report(session, copier).sources] == [ids[0]]
    # the check asked for a rebuild, which ran (inline here): segments, and the old file gone
    index = similarity_index.load(course_id)
    assert index.current and index.essays == 4
    assert not list(folder.glob("*.npz"))


def test_a_failed_check_writes_failed_through_the_index_too(session, course, monkeypatch):
    people, assignment = course
    for person, text in zip(people, [LAND, DATA, FLOOD]):
        submit(session, person, assignment, text)

    def broken(*args, **kwargs):
        raise MemoryError("no room")
    monkeypatch.setattr(similarity_index, "query_segments", broken)
    monkeypatch.setattr(similarity_index, "report_segments", broken)
    failed = submit(session, people[3], assignment, "Tóm lại: " + LAND)
    assert report(session, failed).status == "failed" and "MemoryError" in report(session, failed).error


def test_a_check_that_meets_a_database_error_still_writes_failed(session, course, monkeypatch):
    """On PostgreSQL an error aborts the transaction: the report is written after rolling back to before the
    check, not lost with it."""
    people, assignment = course
    for person, text in zip(people, [LAND, DATA, FLOOD]):
        submit(session, person, assignment, text)

    def broken(session, course_id, after, upto=None):
        session.execute(select(m.Essay.id).where(m.Essay.id == "không phải số"))
        raise AssertionError("the query above fails first")
    monkeypatch.setattr(similarity_index, "tail_rows", broken)
    failed = submit(session, people[3], assignment, "Tóm lại: " + LAND)
    assert report(session, failed).status == "failed"


def test_a_long_tail_is_kept_in_parts_and_every_part_is_searched(session, course, monkeypatch):
    """While an index job is busy the tail grows: it is fitted in parts of TAIL_AT essays (adding one costs the
    same however long it is), and a check searches them all."""
    monkeypatch.setattr(similarity_index, "TAIL_AT", 2)
    monkeypatch.setattr(similarity_index, "tail_limit", lambda: 1000)       # no job seals them meanwhile
    people, assignment = course
    for person, text in zip(people, [LAND, DATA, FLOOD]):
        submit(session, person, assignment, text)
    newer = [submit(session, p, assignment, t) for p, t in zip(people[3:5], [ROADS, HEALTH])]
    budget = submit(session, people[5], assignment, BUDGET)
    index = similarity_index.load(assignment.cohort.course_id)
    assert [p.n_essays_ for p in similarity_index.fresh(session, index).parts] == [2, 1]
    copier = submit(session, people[0], assignment, "Ý kiến khác: " + HEALTH + " " + BUDGET)
    assert {s["id"] for s in report(session, copier).sources} == {newer[1], budget}


def test_an_essay_committed_after_a_newer_one_was_read_is_compared_by_the_next_check(session, course, monkeypatch):
    """On PostgreSQL an essay's id is handed out before it commits, so a worker may read a newer essay while an
    older one is still being stored: the worker's next check compares with the older one all the same, without
    waiting for its next whole read of the tail."""
    monkeypatch.setattr(similarity_index, "RESCAN", 3600.0)
    people, assignment = course
    for person, text in zip(people, [LAND, DATA, FLOOD]):
        submit(session, person, assignment, text)
    original = similarity_index.tail_rows
    storing = people[3].id        # the author whose essay is not committed yet when the worker reads

    def racing(session, course_id, after, upto=None, *, gaps=(), seen=None):
        read: set[int] = set()
        rows = original(session, course_id, after, upto, gaps=gaps, seen=read)
        hidden = {row[0] for row in rows if row[2] == storing}
        if seen is not None:
            seen.update(read - hidden)
        return [row for row in rows if row[0] not in hidden]
    monkeypatch.setattr(similarity_index, "tail_rows", racing)
    older = submit(session, people[3], assignment, "Ý kiến riêng. " + BUDGET)
    newer = submit(session, people[4], assignment, "Một ý kiến khác hẳn về việc sơ tán. " + FLOOD)
    assert older < newer
    monkeypatch.setattr(similarity_index, "tail_rows", original)      # the older essay has committed now
    copier = submit(session, people[5], assignment, "Tóm lại: " + BUDGET)
    assert older in {s["id"] for s in report(session, copier).sources}
