"""Similarity checks in the product: run after submission, stored, shown to the right people."""
import os

import pytest
from sqlalchemy import func, select

from lms_plugin.services import accounts, cohorts, essays, jobs, similarity
from lms_plugin.services.catalog import load_catalog
from lms_plugin.services.content import import_catalog
from lms_plugin.services.errors import Forbidden, NotFound
from lms_plugin.store import models as m

LAND = ("Sau khi hợp nhất ba xã cũ, hồ sơ địa chính của xã Tân Hòa nằm rải rác ở ba trụ sở với ba cách đánh số "
        "thửa khác nhau. Nhiều thửa đất bị trùng số hiệu, một số hộ có giấy chứng nhận cấp từ năm 1998 nhưng bản "
        "đồ gốc đã thất lạc. Cán bộ địa chính phải đối chiếu thủ công từng hồ sơ, mỗi ngày chỉ xử lý được khoảng "
        "mười lăm bộ, trong khi người dân đến hỏi ngày càng đông. Tôi đề xuất lập tổ công tác liên ngành, số hóa "
        "toàn bộ sổ mục kê trong sáu tháng và công khai tiến độ trên cổng thông tin của xã để người dân theo dõi.")
BUDGET = ("Mục tiêu tăng trưởng hai con số đòi hỏi xã phải chọn đúng công trình đầu tư công. Với nguồn vốn khoảng "
          "mười hai tỷ đồng, xã nên ưu tiên tuyến đường nối vùng nguyên liệu chè với nhà máy chế biến, vì tuyến "
          "đường này giảm chi phí vận chuyển cho hơn bốn trăm hộ và thu hút thêm hợp tác xã. Việc nâng cấp trụ sở "
          "có thể lùi lại một năm. Cần họp dân công khai danh mục, lấy ý kiến Mặt trận và giám sát cộng đồng.")
DATA = ("Dữ liệu dân cư của xã đang nằm ở nhiều hệ thống: cơ sở dữ liệu quốc gia về dân cư, danh sách hộ nghèo "
        "trên tệp bảng tính của từng xã cũ và sổ theo dõi bảo trợ xã hội. Khi đối chiếu, có hơn hai trăm người "
        "xuất hiện ở hai danh sách với thông tin khác nhau. Trước khi chi trả hỗ trợ, xã cần làm sạch dữ liệu, "
        "xác minh tại thôn và thống nhất một nguồn dữ liệu gốc do công an xã và văn phòng cùng quản lý.")


@pytest.fixture
def setup(session, tree):
    import_catalog(session, load_catalog(["scenarios", "rubrics"]))
    people = {n: accounts.create_user(session, n, r, "mat-khau-123") for n, r in
              [("gv", "lecturer"), ("a", "cadre"), ("b", "cadre"), ("c", "cadre"), ("gk1", "examiner"),
               ("gk2", "examiner"), ("gk3", "examiner")]}
    cohort = cohorts.create_cohort(session, "Lớp 1", "khoa-thu")
    group = cohorts.group_named(session, cohort, "Xã Tân Hòa")
    for name in "abc":
        cohorts.add_member(session, cohort, people[name], group)
    assignment = cohorts.assign_scenario(session, cohort, "t1-mau", examiners=[people["gk1"], people["gk2"]])
    session.commit()
    return people, assignment


def report_of(session, essay_id):
    session.expire_all()
    return session.scalar(select(m.SimilarityReport).where(m.SimilarityReport.essay_id == essay_id))


def test_a_copied_passage_is_reported_with_offsets_into_both_essays(session, setup):
    people, assignment = setup
    first = essays.submit_essay(session, people["a"], assignment.id, LAND + "\n\n" + BUDGET)
    session.commit()
    assert report_of(session, first.id).score == 0
    copied = "Theo tôi, bài toán của xã là dữ liệu. " + DATA + "\n\nNgoài ra: " + LAND
    second = essays.submit_essay(session, people["b"], assignment.id, copied)
    session.commit()

    report = report_of(session, second.id)
    copied_share = len(LAND) / len(copied)
    assert report.status == "done" and abs(report.score - copied_share) < 0.1
    [source] = report.sources
    assert (source["kind"], source["id"]) == ("essay", first.id)
    a0, a1, b0, b1 = source["passages"][0]
    assert copied[a0:a1] in LAND and (LAND + "\n\n" + BUDGET)[b0:b1] in LAND and a1 - a0 > 300
    # the earlier essay's examiners see the pair too
    assert report_of(session, first.id).sources[0]["id"] == second.id


def test_the_scenario_text_never_counts_and_an_original_essay_scores_zero(session, setup):
    people, assignment = setup
    essays.submit_essay(session, people["a"], assignment.id, LAND)
    quoting = "Tình huống mẫu: Xã Tân Hòa vừa sáp nhập. Chọn hướng xử lý: Họp dân. " * 3 + BUDGET
    receipt = essays.submit_essay(session, people["b"], assignment.id, quoting)
    session.commit()
    assert report_of(session, receipt.id).score == 0


def test_reference_texts_are_sources_and_excluded_texts_never_count(session, setup):
    people, assignment = setup
    course_id = assignment.cohort.course_id
    session.add(m.ReferenceText(course_id=course_id, kind="reference", title="Bài giảng chuyên đề 4", body=DATA))
    session.add(m.ReferenceText(course_id=course_id, kind="exclude", title="Mẫu bài thu hoạch", body=BUDGET))
    session.commit()
    receipt = essays.submit_essay(session, people["a"], assignment.id, BUDGET + " " + DATA + " " + LAND)
    session.commit()
    report = report_of(session, receipt.id)
    assert [(s["kind"], s["title"]) for s in report.sources] == [("reference", "Bài giảng chuyên đề 4")]
    assert 0.25 < report.score < 0.45


def test_only_the_essays_examiners_and_lecturers_read_the_report(session, setup):
    people, assignment = setup
    receipt = essays.submit_essay(session, people["a"], assignment.id, LAND)
    session.commit()
    view = similarity.report_for(session, people["gk1"], receipt.id)
    assert view.status == "done" and view.body == LAND
    assert similarity.report_for(session, people["gv"], receipt.id).score == 0
    for outsider in ("gk3", "b", "a"):
        with pytest.raises(NotFound):
            similarity.report_for(session, people[outsider], receipt.id)


def test_the_cohort_view_ranks_pairs_and_clusters_copiers(session, setup):
    people, assignment = setup
    ids = [essays.submit_essay(session, people[n], assignment.id, text).id for n, text in
           [("a", LAND + " " + BUDGET), ("b", "Tôi cho rằng: " + LAND), ("c", DATA)]]
    session.commit()
    view = similarity.cohort_view(session, people["gv"], assignment.id, min_score=0.2)
    assert view.clusters == [sorted(ids[:2])]
    assert view.essays[0]["essay_id"] == ids[1] and view.essays[0]["score"] > 0.9
    assert {(p["a"], p["b"]) for p in view.pairs} == {(ids[0], ids[1]), (ids[1], ids[0])}
    with pytest.raises(Forbidden):
        similarity.cohort_view(session, people["gk1"], assignment.id, 0.2)


def test_a_failed_check_is_recorded_and_the_essay_is_kept(session, setup, monkeypatch):
    people, assignment = setup

    def broken(*args, **kwargs):
        raise MemoryError("no room")
    monkeypatch.setattr(similarity, "detector", broken)
    receipt = essays.submit_essay(session, people["a"], assignment.id, LAND)
    session.commit()
    report = report_of(session, receipt.id)
    assert report.status == "failed" and "MemoryError" in report.error
    assert session.get(m.Essay, receipt.id).body == LAND


def test_nothing_runs_when_the_submission_rolls_back(session, setup):
    people, assignment = setup
    essays.submit_essay(session, people["a"], assignment.id, LAND)
    session.rollback()
    assert session.scalar(select(m.SimilarityReport)) is None


REDIS_URL = os.environ.get("CASELAB_TEST_REDIS_URL")


@pytest.mark.skipif(not REDIS_URL, reason="set CASELAB_TEST_REDIS_URL (CI uses the local Redis)")
def test_checks_run_on_a_celery_worker_over_redis(session, setup, engine, monkeypatch):
    from celery.contrib.testing.worker import start_worker
    people, assignment = setup
    # the worker opens the database its own environment names; messages carry the essay id only
    monkeypatch.setenv("CASELAB_DATABASE_URL", engine.url.render_as_string(hide_password=False))
    monkeypatch.setenv("CASELAB_JOBS", "celery")
    monkeypatch.setenv("CASELAB_BROKER_URL", REDIS_URL)
    app = jobs.celery_app()
    with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=10):
        first = essays.submit_essay(session, people["a"], assignment.id, LAND)
        session.commit()
        second = essays.submit_essay(session, people["b"], assignment.id, "Mở đầu. " + LAND)
        session.commit()
        import time
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and (report_of(session, second.id).status != "done"):
            time.sleep(0.2)
    report = report_of(session, second.id)
    assert report.status == "done" and report.score > 0.9
    assert report.sources[0]["id"] == first.id


def test_a_model_answer_most_of_a_course_copied_counts_when_the_boilerplate_share_is_raised(
        session, setup, monkeypatch):
    people, assignment = setup
    group = session.scalar(select(m.Group))
    own = [LAND, BUDGET, DATA, LAND[::-1], BUDGET[::-1], DATA[::-1], "Ý kiến riêng của tôi về việc này."]
    model = ("Bài mẫu: xã cần rà soát toàn bộ quy trình một cửa, công khai thời hạn giải quyết, tập huấn kỹ năng "
             "số cho công chức và lấy ý kiến người dân sau mỗi lần giao dịch để điều chỉnh kịp thời cách làm.")
    writers = []
    for i in range(7):
        cadre = accounts.create_user(session, f"hv{i}", "cadre", "mat-khau-123")
        cohorts.add_member(session, assignment.cohort, cadre, group)
        writers.append(cadre)
    session.commit()

    def submit_all():
        ids = []
        for cadre, text in zip(writers, own):
            ids.append(essays.submit_essay(session, cadre, assignment.id, text + "\n\n" + model).id)
            session.commit()
        return ids

    last = submit_all()[-1]
    assert report_of(session, last).score == 0        # in 7 of 7 essays (more than 5): boilerplate
    monkeypatch.setenv("CASELAB_SIMILARITY_BOILERPLATE_SHARE", "1")
    last = submit_all()[-1]                             # resubmitted: checked again
    assert report_of(session, last).score > 0.5


def test_the_cohort_view_reads_the_stored_reports_and_counts_the_unchecked(session, setup, monkeypatch):
    people, assignment = setup
    ids = [essays.submit_essay(session, people[n], assignment.id, text).id for n, text in
           [("a", LAND + " " + BUDGET), ("b", "Tôi cho rằng: " + LAND)]]
    session.commit()

    def no_new_comparison(*args, **kwargs):
        raise AssertionError("the cohort view compared the essays again")
    monkeypatch.setattr(similarity, "detector", no_new_comparison)
    view = similarity.cohort_view(session, people["gv"], assignment.id, min_score=0.2)
    assert view.clusters == [sorted(ids)] and view.unchecked == 0
    report_of(session, ids[0]).status = "pending"              # its check is running again
    session.commit()
    view = similarity.cohort_view(session, people["gv"], assignment.id, min_score=0.2)
    assert view.unchecked == 1 and {(p["a"], p["b"]) for p in view.pairs} == {(ids[1], ids[0])}


def test_essays_a_check_matches_are_checked_again_by_jobs_of_their_own_waiting_once_each(session, setup, engine,
                                                                                         monkeypatch):
    """A popular source is copied by many: each copier's check asks for it to be checked again, in a job of
    its own (never inside the copier's check), and one such job waits at a time however many ask."""
    people, assignment = setup
    monkeypatch.setattr(jobs, "hand_off", lambda *args, **kwargs: None)       # jobs wait for a worker

    def waiting():
        return [(j.name, j.args) for j in session.scalars(select(m.Job).where(m.Job.state == "queued")
                                                          .order_by(m.Job.id)) if j.name.startswith("similarity.")]

    def work():
        while ids := [j.id for j in session.scalars(select(m.Job).where(m.Job.state == "queued").order_by(m.Job.id))]:
            for job_id in ids:
                assert jobs.run_job(job_id, engine) == "done"
            session.expire_all()

    first = essays.submit_essay(session, people["a"], assignment.id, LAND + "\n\n" + BUDGET)
    session.commit()
    work()
    copies = [essays.submit_essay(session, people[n], assignment.id, f"Ý kiến {n}: " + LAND) for n in "bc"]
    session.commit()
    for copy in copies:
        [check] = [j for j in session.scalars(select(m.Job).where(m.Job.state == "queued",
                                                                  m.Job.name == similarity.CHECK))
                   if j.args == {"essay_id": copy.id}]
        assert jobs.run_job(check.id, engine) == "done"
    session.expire_all()
    # both copiers asked for ``first``: it waits once. They copy each other too: b's check found c, whose own
    # check still waited (it compares the two itself), and c's check found b, whose report names c already
    assert waiting() == [(similarity.RECHECK, {"essay_id": first.id})]
    assert {s["id"] for s in report_of(session, copies[1].id).sources} >= {copies[0].id}
    assert {s["id"] for s in report_of(session, copies[0].id).sources} >= {copies[1].id}
    assert report_of(session, first.id).sources == []           # not checked again inside the copiers' checks
    work()
    assert {s["id"] for s in report_of(session, first.id).sources} == {c.id for c in copies}
    assert waiting() == []                                         # a recheck asks for no further check
    # running a check again replaces its report: still one per essay
    similarity.check_essay(session, copies[0].id)
    session.commit()
    assert session.scalar(select(func.count()).select_from(m.SimilarityReport)
                          .where(m.SimilarityReport.essay_id == copies[0].id)) == 1
