"""``caselab_essay``: the essay (bài thu hoạch). Autosaved draft, submission with a receipt, the mark.

Marking happens in the CaseLab console: two examiners mark blind with the
rubric (a third when they disagree), ``services.grading`` reconciles. The
block publishes the final mark to the LMS the next time the learner opens it
or calls one of its handlers, once the chief examiner has released it in the
console: it sees an ``EssayResult`` that is final, released and has no
``published_at``, publishes the grade and stamps ``published_at`` in the same
unit of work (a corrected or appealed mark is sent again).
"""
from __future__ import annotations

from typing import Any

from marshmallow import Schema, fields, validate
from xblock.fields import Float, Integer, Scope, String

from ..sanitize import render_markdown
from ..services import essays, grading, lms
from ..services.errors import Forbidden, ServiceError
from ..services.essays import MAX_ESSAY_CHARS
from ..units.essay import SCALE
from .base import N_, CaseLabBlock, Empty, json_call, when

STATUS = {"awaiting_marks": N_("Đang chờ chấm"), "needs_third": N_("Đang chấm vòng ba"),
          "final": N_("Đã có điểm")}


class BodySchema(Schema):
    body = fields.String(required=True, validate=validate.Length(max=MAX_ESSAY_CHARS))


class EssayBlock(CaseLabBlock):
    UNIT = "essay"
    EDITABLE = ("display_name", "scenario", "version", "weight", "deadline")
    STRINGS = {
        "prompt": N_("Đề bài"), "words": N_("chữ"), "min_words": N_("Tối thiểu"), "max_words": N_("Tối đa"),
        "recommendations": N_("Bài cần có mục"), "rubric": N_("Tiêu chí chấm"), "draft": N_("Bài làm"),
        "autosave": N_("Bản nháp được lưu tự động"), "save_draft": N_("Lưu nháp"), "submit": N_("Nộp bài"),
        "confirm": N_("Nộp bài thu hoạch? Bài đã nộp không sửa được; nộp lại sẽ tạo phiên bản mới."),
        "receipt": N_("Biên nhận nộp bài"), "submitted_at": N_("Nộp lúc"), "fingerprint": N_("Mã kiểm tra (SHA-256)"),
        "status": N_("Tình trạng"), "mark": N_("Điểm"), "staff": N_("Dành cho giảng viên: bài đã nộp"),
        "learner": N_("Học viên"), "similarity": N_("Trùng lặp"), "paraphrase": N_("Diễn đạt lại"),
        "sources": N_("Nguồn trùng nhiều nhất"), "no_submissions": N_("Chưa có bài nộp"),
        "not_checked": N_("chưa kiểm tra"), "version_n": N_("Phiên bản bài"), "comments": N_("Nhận xét"),
    }
    has_score = True
    has_custom_completion = True
    completion_mode = "completable"
    icon_class = "problem"

    display_name = String(display_name=N_("Tên hiển thị"), default=N_("Bài thu hoạch"), scope=Scope.settings,
                          help="The block's title in the course outline.")
    weight = Float(display_name=N_("Trọng số điểm"), default=1.0, scope=Scope.settings, values={"min": 0},
                   help="Points this essay is worth in the course grade (the final mark out of 10 times this "
                        "weight, divided by 10).")
    published_essay = Integer(default=None, scope=Scope.user_state,
                              help="Id of the CaseLab essay whose final mark was last published to the LMS.")

    def max_score(self) -> float:
        return SCALE

    # --- grades -------------------------------------------------------------------------------

    def _sync_grade(self, session, placed) -> None:
        """Publish the final mark of the learner's latest essay when it is due and not yet sent."""
        due = lms.grade_to_publish(session, placed.user, placed.assignment.id)
        if due is not None:
            scale = due.scale or SCALE
            self.runtime.publish(self, "grade", {"value": round(due.final * SCALE / scale, 4), "max_value": SCALE})
            lms.mark_published(session, due.essay_id)
            self.published_essay = due.essay_id

    # --- views --------------------------------------------------------------------------------

    def student_view(self, context=None):
        try:
            page = self.run(self._page)
        except ServiceError as exc:
            return self.notice(exc.translated(self.gettext))
        page["receipt_html"] = self.render_html("essay_receipt.html", **page["receipt"])
        t = self.strings()
        return self.fragment(self.render_html("essay.html", **page), "essay", "CaseLabEssay", {
            "autosave_seconds": self.caselab_settings().autosave_seconds,
            "confirm": t["confirm"], "saved": t["saved"], "words": t["words"]})

    def _page(self, session) -> dict[str, Any]:
        placed = self.place(session)
        spec = placed.scenario.essay
        assert spec is not None  # the block plays a scenario with an essay
        draft = essays.get_draft(session, placed.user, placed.assignment.id)
        rubric = lms.essay_rubric(session, placed.assignment.id)
        return {"scenario": placed.scenario, "prompt": render_markdown(spec.prompt), "spec": spec,
                "criteria": [c.title for c in rubric.criteria], "draft": draft, "saved_at": when(draft.saved_at),
                "closed": self.past_due(), "receipt": self._receipt(session, placed),
                "staff": self._overview(session, placed) if self.is_staff() else None}

    def _receipt(self, session, placed) -> dict[str, Any]:
        essay = essays.latest_essay(session, placed.user, placed.assignment.id)
        self._sync_grade(session, placed)          # publishes the mark to the LMS when it is due
        if essay is None:
            return {"essay": None}
        # Blind both ways, as on the console's grade page: nothing of the marking shows before this mark's
        # release (not even that a third examiner is marking); then the mark and the comments, without names.
        try:
            report = grading.grade_for_author(session, placed.user, essay.id)
        except Forbidden:
            report = None
        shown = {"essay": essays.receipt_of(essay), "submitted_at": when(essay.submitted_at),
                 "status": self.gettext(STATUS["final" if report else "awaiting_marks"]), "mark": None}
        if report is not None and report.final is not None:
            shown.update(mark=f"{report.final:g}/{report.scale:g}",
                         criteria=[{"title": c["title"], "comments": c["comments"]}
                                   for c in report.criteria if c["comments"]],
                         comments=list(report.comments), annotations=list(report.annotations))
        return shown

    def _overview(self, session, placed) -> list[dict[str, Any]]:
        rows = lms.submissions_overview(session, placed.assignment.id)
        for row in rows:
            row["submitted_at"] = when(row["submitted_at"])
            row["status"] = self.gettext(STATUS.get(row["status"], row["status"]))
            row["similarity"] = None if row["similarity"] is None else f"{row['similarity'] * 100:.0f}%"
            row["paraphrase"] = None if row["paraphrase"] is None else f"{row['paraphrase'] * 100:.0f}%"
            for source in row["sources"]:
                source["share"] = f"{(source['share'] or 0) * 100:.0f}%"
        return rows

    def facts(self, scenario):
        spec = scenario.essay
        return [(N_("Đề bài"), spec.prompt[:300]), (N_("Tối thiểu"), spec.min_words),
                (N_("Tối đa"), spec.max_words or "—"), (N_("Tiêu chí chấm"), spec.rubric),
                (N_("Trọng số điểm"), self.weight)]

    # --- handlers -----------------------------------------------------------------------------

    @json_call(BodySchema)
    def save_draft(self, body: str):
        """Autosave: keep the draft as typed."""
        self.require_open()
        def work(session):
            placed = self.place(session)
            draft = essays.save_draft(session, placed.user, placed.assignment.id, body)
            self._sync_grade(session, placed)
            return draft
        draft = self.run(work)
        return {"words": draft.words, "saved_at": when(draft.saved_at)}

    @json_call(BodySchema)
    def submit(self, body: str):
        """Submit the essay as sent; the answer is the receipt."""
        self.require_open()

        def work(session):
            placed = self.place(session)
            receipt = essays.submit_essay(session, placed.user, placed.assignment.id, body)
            return receipt, self._receipt(session, placed)
        receipt, shown = self.run(work)
        self.runtime.publish(self, "completion", {"completion": 1.0})
        return {"id": receipt.id, "version": receipt.version, "words": receipt.words, "sha256": receipt.sha256,
                "submitted_at": receipt.submitted_at, "html": self.render_html("essay_receipt.html", **shown)}

    @json_call(Empty)
    def status(self):
        """The receipt and the mark (published to the LMS here when it has become final)."""
        shown = self.run(lambda session: self._receipt(session, self.place(session)))
        return {"status": shown.get("status"), "mark": shown.get("mark"),
                "html": self.render_html("essay_receipt.html", **shown)}

    @json_call(Empty)
    def staff_report(self):
        """Staff: every learner's latest essay with its mark and similarity report."""
        if not self.is_staff():
            raise Forbidden("Chỉ giảng viên được xem báo cáo này")
        return {"submissions": self.run(lambda session: self._overview(session, self.place(session)))}

    @staticmethod
    def workbench_scenarios():
        found = [s for s in CaseLabBlock.store_scenarios() if s["essay"]][:1]
        return [(f"CaseLab: bài thu hoạch, chuyên đề {s['topic']}", f'<caselab_essay scenario="{s["id"]}"/>')
                for s in found]
