"""Examiner (giám khảo) pages: the blind marking queue and the marking form.

Blind: nothing here reads the essay's author; the essay is looked up through
services.essays.readable_essay, which tells an examiner only what they may see.
"""
from __future__ import annotations

from flask import Blueprint, current_app, flash, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _, lazy_gettext
from flask_login import current_user
from wtforms import RadioField, TextAreaField
from wtforms.form import BaseForm
from wtforms.validators import DataRequired, InputRequired, Length, Optional

try:                                    # WTForms 3.3 names choices; older releases take (value, label)
    from wtforms import SelectChoice as _choice
except ImportError:                     # pragma: no cover
    def _choice(value, label):
        return (value, label)

from marshmallow import ValidationError

from ..schemas.api import AnnotationRequestSchema, AnnotationSchema
from ..services import (
    allocation,
    annotations as inline_comments,  # "annotations" is the __future__ feature here
    cohorts,
    essays,
    grading,
    marking,
    marking_queue,
    similarity,
)
from ..services.errors import Conflict, Invalid, NotFound
from .access import role_required
from .annotated import pieces
from .session import commit, db_session

bp = Blueprint("examiner", __name__, url_prefix="/examiner")
# Examiners, and a chief examiner (lecturer) who took a round himself: the services only ever show a person
# the rounds given to them.
MARKERS = allocation.MARKERS

MAX_COMMENT = 5000


def _me():
    return current_user.row


def _threshold() -> float:
    return float(current_app.config["GRADING_THRESHOLD"])


QUEUE_PAGE = 50


@bp.route("/", endpoint="queue")
@role_required(*MARKERS)
def queue_page():
    """A page of the queue: filter ``status`` (all, todo, marked, third), the next page from ``cursor``."""
    status = request.args.get("status") or marking_queue.ALL
    if status not in marking_queue.FILTERS:
        status = marking_queue.ALL
    cursor = request.args.get("cursor") or None
    try:
        page = marking_queue.queue_page(db_session(), _me(), status=status, cursor=cursor, limit=QUEUE_PAGE)
    except Invalid:                     # a cursor mangled in the address bar: back to the first page
        return redirect(url_for(".queue", status=status))
    return render_template("examiner/queue.html", page=page, status=status, first=cursor is None)


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
    rubric = grading.rubric_view(grading.rubric_of(session, essay_id))     # a group report has its own rubric
    title = cohorts.assignment_view(session, essay.assignment_id).title
    return essay, grade, rubric, title


def _render(essay, grade, rubric, title, form, *, confirm: bool = False, status: int = 200):
    result = marking.result_status(db_session(), _me(), essay.id)
    try:
        similarity_report = similarity.report_for(db_session(), _me(), essay.id)
    except NotFound:                    # not checked yet: the slot says so
        similarity_report = None
    notes = inline_comments.annotations(db_session(), _me(), essay.id)
    return render_template("examiner/essay.html", essay=essay, grade=grade, rubric=rubric, title=title,
                           form=form, confirm=confirm, result=result,
                           similarity_report=similarity_report, notes=notes,
                           pieces=pieces(essay.body, [(f"a{n.id}", n.start, n.end) for n in notes]),
                           note_texts={f"a{n.id}": n.comment for n in notes}), status


@bp.route("/essays/<int:essay_id>")
@role_required(*MARKERS)
def essay(essay_id: int):
    essay_row, grade, rubric, title = _context(essay_id)
    return _render(essay_row, grade, rubric, title, grade_form(rubric, grade=grade))


@bp.route("/essays/<int:essay_id>", methods=["POST"])
@role_required(*MARKERS)
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
    if action == "final":        # saved; now ask before locking it, showing what was saved
        grade = grading.my_grade(db_session(), _me(), essay_id)
        return _render(essay_row, grade, rubric, title, grade_form(rubric, grade=grade), confirm=True)
    flash(_("Đã lưu bản chấm nháp."), "success")
    return redirect(url_for(".essay", essay_id=essay_id))


# Inline comments: a passage of the essay, by code-point offsets of the immutable body (annotate.js sends JSON;
# the same route takes a plain form post).

def _annotation_body(as_json: bool) -> dict:
    raw = request.get_json(silent=True) if as_json else \
        {k: v for k, v in request.form.items() if k in ("start", "end", "quote", "comment")}
    if not as_json and isinstance(raw, dict) and raw.get("quote") == "":
        raw["quote"] = None
    try:
        if not isinstance(raw, dict):
            raise ValidationError({"_schema": ["not an object"]})
        return AnnotationRequestSchema().load(raw)
    except ValidationError as exc:
        raise Invalid("Dữ liệu gửi lên không hợp lệ", exc.normalized_messages()) from None


def _json_error(exc: Invalid | Conflict):
    return jsonify({"error": exc.translated(_), "fields": exc.fields}), exc.status


@bp.route("/essays/<int:essay_id>/annotations", methods=["POST"])
@role_required(*MARKERS)
def annotation_add(essay_id: int):
    session = db_session()
    grading.my_grade(session, _me(), essay_id)       # not one of mine: 404 before the body is even read
    as_json = request.is_json
    try:
        data = _annotation_body(as_json)
        note = inline_comments.add(session, _me(), essay_id, data["start"], data["end"], data["comment"],
                                   data["quote"])
    except (Invalid, Conflict) as exc:
        session.rollback()
        if as_json:
            return _json_error(exc)
        flash(exc.translated(_), "error")
        return redirect(url_for(".essay", essay_id=essay_id, _anchor="annotations"))
    commit()
    if as_json:
        return jsonify(AnnotationSchema().dump(note)), 201
    flash(_("Đã thêm nhận xét vào đoạn đã chọn."), "success")
    return redirect(url_for(".essay", essay_id=essay_id, _anchor=f"note-a{note.id}"))


@bp.route("/essays/<int:essay_id>/annotations/<int:annotation_id>/delete", methods=["POST"])
@role_required(*MARKERS)
def annotation_delete(essay_id: int, annotation_id: int):
    session = db_session()
    try:
        inline_comments.delete(session, _me(), essay_id, annotation_id)
    except Conflict as exc:
        session.rollback()
        if request.is_json:
            return _json_error(exc)
        flash(exc.translated(_), "error")
        return redirect(url_for(".essay", essay_id=essay_id, _anchor="annotations"))
    commit()
    if request.is_json:
        return "", 204
    flash(_("Đã xóa nhận xét."), "success")
    return redirect(url_for(".essay", essay_id=essay_id, _anchor="annotations"))
