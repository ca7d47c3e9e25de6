"""Examiner (giám khảo) pages: the blind marking queue and the marking form.

Blind: nothing here reads the essay's author; the essay is looked up through
services.essays.readable_essay, which tells an examiner only what they may see.
"""
from __future__ import annotations

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext
from flask_login import current_user
from wtforms import RadioField, TextAreaField
from wtforms.form import BaseForm
from wtforms.validators import DataRequired, InputRequired, Length, Optional

try:                                    # WTForms 3.3 names choices; older releases take (value, label)
    from wtforms import SelectChoice as _choice
except ImportError:                     # pragma: no cover
    def _choice(value, label):
        return (value, label)

from ..services import essays, grading, marking, similarity
from ..services.content import scenario_data
from ..services.errors import NotFound
from .access import role_required
from .session import commit, db_session

bp = Blueprint("examiner", __name__, url_prefix="/examiner")

MAX_COMMENT = 5000


def _me():
    return current_user.row


def _threshold() -> float:
    return float(current_app.config["GRADING_THRESHOLD"])


@bp.route("/", endpoint="queue")
@role_required("examiner")
def queue_page():
    items = grading.grading_queue(db_session(), _me())
    results = marking.result_statuses(db_session(), _me(), [i.essay_id for i in items])
    return render_template("examiner/queue.html", items=items, results=results)


def grade_form(rubric: dict, formdata=None, grade=None) -> BaseForm:
    """One radio group per criterion (its levels) and a comment each, plus the overall comment."""
    need_comment = rubric["feedback"] == "required"
    fields = []
    for c in rubric["criteria"]:
        fields.append((f"score-{c['id']}", RadioField(
            c["title"], coerce=float, choices=[_choice(lv["points"], lv["label"]) for lv in c["levels"]],
            validators=[InputRequired(lazy_gettext("Hãy chọn một mức cho tiêu chí này"))])))
        fields.append((f"comment-{c['id']}", TextAreaField(validators=[
            DataRequired(lazy_gettext("Tiêu chí chấm yêu cầu nhận xét cho tiêu chí này")) if need_comment
            else Optional(), Length(max=MAX_COMMENT)])))
    fields.append(("comment", TextAreaField(validators=[Optional(), Length(max=MAX_COMMENT)])))
    form = BaseForm(fields)
    if formdata is not None:
        form.process(formdata)
    elif grade is not None:
        data = {f"score-{cid}": points for cid, points in (grade.scores or {}).items()}
        data.update({f"comment-{cid}": text for cid, text in (grade.comments or {}).items()})
        data["comment"] = grade.comment or ""
        form.process(data=data)
    else:
        form.process()
    return form


def _context(essay_id: int):
    session = db_session()
    essay, _named = essays.readable_essay(session, _me(), essay_id)    # blind: the author is never read
    grade = grading.my_grade(session, _me(), essay_id)
    rubric = grading.rubric_view(grading.essay_rubric(essay.assignment))
    title = scenario_data(essay.assignment.scenario_version).title
    return essay, grade, rubric, title


def _render(essay, grade, rubric, title, form, *, confirm: bool = False, status: int = 200):
    result = marking.result_statuses(db_session(), _me(), [essay.id]).get(essay.id)
    try:
        similarity_report = similarity.report_for(db_session(), _me(), essay.id)
    except NotFound:                    # not checked yet: the slot says so
        similarity_report = None
    return render_template("examiner/essay.html", essay=essay, grade=grade, rubric=rubric, title=title,
                           form=form, confirm=confirm, result=result,
                           similarity_report=similarity_report), status


@bp.route("/essays/<int:essay_id>")
@role_required("examiner")
def essay(essay_id: int):
    essay_row, grade, rubric, title = _context(essay_id)
    return _render(essay_row, grade, rubric, title, grade_form(rubric, grade=grade))


@bp.route("/essays/<int:essay_id>", methods=["POST"])
@role_required("examiner")
def mark(essay_id: int):
    essay_row, grade, rubric, title = _context(essay_id)
    action = request.form.get("action", "save")
    if action == "confirm":
        marking.finalise_saved(db_session(), _me(), essay_id, threshold=_threshold())
        commit()
        flash(_("Đã chốt điểm bài này."), "success")
        return redirect(url_for(".essay", essay_id=essay_id))
    form = grade_form(rubric, formdata=request.form)
    if not form.validate():
        flash(_("Chưa lưu: hãy xem các mục được đánh dấu."), "error")
        return _render(essay_row, grade, rubric, title, form, status=422)
    criteria = [c["id"] for c in rubric["criteria"]]
    scores = {cid: form[f"score-{cid}"].data for cid in criteria}
    comments = {cid: (form[f"comment-{cid}"].data or "").strip() for cid in criteria}
    grading.grade_essay(db_session(), _me(), essay_id, scores, comments, form["comment"].data or "",
                        final=False, threshold=_threshold())
    commit()
    if action == "final":        # saved; now ask before locking it
        return _render(essay_row, grade, rubric, title, grade_form(rubric, grade=grade), confirm=True)
    flash(_("Đã lưu bản chấm nháp."), "success")
    return redirect(url_for(".essay", essay_id=essay_id))
