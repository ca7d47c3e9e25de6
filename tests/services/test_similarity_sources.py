"""Similarity sources (caselab_similarity_sources): the check gathers every candidate text through them."""
from __future__ import annotations

import pytest

from lms_plugin.services import essays, similarity, similarity_sources
from lms_plugin.services.similarity_sources import ESSAY, EXCLUDE, REFERENCE, Candidate, Document, Source
from lms_plugin.store import models as m
from tests.plugged import plugged
from tests.services.test_similarity_service import BUDGET, DATA, LAND, report_of, setup  # noqa: F401

LAW = ("Điều 12. Những hành vi bị nghiêm cấm trong quản lý đất đai: lấn đất, chiếm đất, hủy hoại đất; vi phạm quy "
       "định của pháp luật về quản lý nhà nước về đất đai; vi phạm chính sách về đất đai đối với đồng bào dân tộc "
       "thiểu số; lợi dụng chức vụ, quyền hạn để làm trái quy định của pháp luật về quản lý đất đai; không cung "
       "cấp hoặc cung cấp thông tin về đất đai không chính xác, không đáp ứng yêu cầu về thời hạn theo quy định.")
OATH = ("Tôi xin cam đoan bài thu hoạch này do tôi tự viết, không sao chép của người khác, các số liệu và trích dẫn "
        "đều ghi rõ nguồn, nếu sai tôi xin chịu hoàn toàn trách nhiệm trước hội đồng chấm và lãnh đạo lớp học.")


class LawLibrary(Source):
    """A source another package could bring: a law database (references) and a declaration every essay
    carries (never counted)."""
    name = "law"
    title = "thư viện văn bản pháp luật"

    def __init__(self) -> None:
        self.scopes: list[similarity_sources.Scope] = []

    def candidates(self, session, scope):
        self.scopes.append(scope)
        yield Candidate(12, LAW, REFERENCE, "Luật Đất đai 2024, Điều 12")
        yield Candidate(1, OATH, EXCLUDE)

    def document(self, session, ident):
        return Document(LAW) if ident == 12 else None


def test_the_built_in_sources_are_the_course_essays_the_reference_texts_and_the_scenario():
    assert list(similarity_sources.sources()) == ["essay", "ref", "scenario"]


def test_a_plugged_source_is_found_as_the_source_of_a_copied_essay_and_shown_in_full(session, setup):
    people, assignment = setup
    library = LawLibrary()
    with plugged(caselab_similarity_sources=[library]):
        receipt = essays.submit_essay(session, people["a"], assignment.id,
                                      "Theo tôi, cần nhắc lại quy định: " + LAW + "\n\n" + BUDGET)
        session.commit()
        report = report_of(session, receipt.id)
        view = similarity.report_for(session, people["gv"], receipt.id)
    [found] = report.sources
    assert (found["kind"], found["source"], found["id"], found["title"]) == (
        "reference", "law", 12, "Luật Đất đai 2024, Điều 12")
    assert 0.4 < report.score < 0.8
    assert view.sources[0]["text"] == LAW                     # no store row guards it: shown in full
    assert library.scopes[0].essay.id == receipt.id and library.scopes[0].course_id == assignment.cohort.course_id


def test_text_a_plugged_source_excludes_never_counts(session, setup):
    people, assignment = setup
    with plugged(caselab_similarity_sources=[LawLibrary()]):
        first = essays.submit_essay(session, people["a"], assignment.id, LAND + "\n\n" + OATH)
        second = essays.submit_essay(session, people["b"], assignment.id, DATA + "\n\n" + OATH)
        session.commit()
        assert report_of(session, first.id).score == 0 and report_of(session, second.id).score == 0


def test_a_source_that_claims_to_give_essays_or_has_a_bad_name_is_refused(session, setup):
    people, assignment = setup

    class Impostor(LawLibrary):
        name = "impostor"

        def candidates(self, session, scope):
            yield Candidate(99, LAW, ESSAY)

    with plugged(caselab_similarity_sources=[Impostor()]):
        receipt = essays.submit_essay(session, people["a"], assignment.id, LAND)
        session.commit()
        report = report_of(session, receipt.id)
    assert report.status == "failed" and "only the 'essay' source gives essays" in report.error

    class Dashed(LawLibrary):
        name = "law-2"
    with plugged(caselab_similarity_sources=[Dashed()]):
        with pytest.raises(similarity_sources.SourceError, match="name must be"):
            similarity_sources.sources()
    with plugged(caselab_similarity_sources=[LawLibrary(), LawLibrary()]):
        with pytest.raises(similarity_sources.SourceError, match="two similarity sources claim the name 'law'"):
            similarity_sources.sources()


def test_a_report_stored_before_sources_were_named_still_shows_its_reference(session, setup):
    people, assignment = setup
    ref = m.ReferenceText(course_id=assignment.cohort.course_id, kind="reference", title="Bài giảng", body=DATA)
    session.add(ref)
    receipt = essays.submit_essay(session, people["a"], assignment.id, LAND)
    session.commit()
    report = report_of(session, receipt.id)
    report.sources = [{"kind": "reference", "id": ref.id, "title": "Bài giảng", "share": 0.5, "score": 0.5,
                       "paraphrase": 0.0, "passages": [[0, 10, 0, 10]]}]
    session.commit()
    view = similarity.report_for(session, people["gv"], receipt.id)
    assert view.sources[0]["text"] == DATA and view.sources[0]["excerpts"][0]["start"] == 0
