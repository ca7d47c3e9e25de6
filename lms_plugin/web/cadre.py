"""Cadre (học viên) pages: dashboard, case player, discussion, group report, essay, grade.

Plain HTML forms that POST then redirect; the scripts in static/js only make
them smoother (no reload for choices, new posts arriving, autosave).
"""
from __future__ import annotations

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    get_template_attribute,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user
from flask_wtf import FlaskForm
from marshmallow import Schema, ValidationError, fields
from wtforms import HiddenField, IntegerField, StringField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Optional

from ..services import appeals, attempts, dashboard, discussion, essays, grading
from ..services.attempts import stage_view
from ..services.errors import Conflict, Forbidden, Invalid
from . import downloads
from .access import role_required
from .annotated import pieces
from .errors import wants_json
from .formatting import csv_table
from .session import commit, db_session

bp = Blueprint("cadre", __name__, url_prefix="/cadre")

POLL_SECONDS = 3


def _me():
    return current_user.row


def _scenario(assignment_id: int):
    """The scenario (version) this cadre's assignment uses (membership checked by the service)."""
    return dashboard.learner_scenario(db_session(), _me(), assignment_id)


def _text(value: str | None) -> str:
    """Browsers send CRLF from forms and LF from scripts; store one form so hashes agree."""
    return (value or "").replace("\r\n", "\n")


class ChoiceForm(FlaskForm):
    stage = StringField(validators=[DataRequired()])
    choice = StringField(validators=[DataRequired()])


class PostForm(FlaskForm):
    body = TextAreaField(validators=[DataRequired()])
    parent_id = IntegerField(validators=[Optional()])


class ReportForm(FlaskForm):
    body = TextAreaField()
    revision = IntegerField(validators=[InputRequired()])
    action = HiddenField()


class EssayForm(FlaskForm):
    body = TextAreaField()
    confirmed = HiddenField()
    sha256 = HiddenField()


class DraftSchema(Schema):
    body = fields.String(required=True)


# Dashboard and overview

# the page each next step of the dashboard opens (services/dashboard.py next_step); the others are a line
STEP_PAGES = {"case": ".case", "discussion": ".discussion_page", "report": ".report", "essay": ".essay"}


def _step_url(card: dashboard.AssignmentCard) -> str | None:
    step = card.next_step
    if step.kind == "grade" and card.essay_id is not None:
        return url_for(".grade", essay_id=card.essay_id)
    page = STEP_PAGES.get(step.kind)
    return url_for(page, assignment_id=card.assignment_id) if page else None


@bp.route("/", endpoint="dashboard")
@role_required("cadre")
def home():
    view = dashboard.cadre_dashboard(db_session(), _me())
    return render_template("cadre/dashboard.html", view=view, step_url=_step_url)


@bp.route("/assignments/<int:assignment_id>")
@role_required("cadre")
def overview(assignment_id: int):
    card = dashboard.assignment_card(db_session(), _me(), assignment_id)
    return render_template("cadre/overview.html", card=card, tab="overview")


# The case player


@bp.route("/assignments/<int:assignment_id>/case")
@role_required("cadre")
def case(assignment_id: int):
    session = db_session()
    card = dashboard.assignment_card(session, _me(), assignment_id)
    state = attempts.current_state(session, _me(), assignment_id)
    scenario = _scenario(assignment_id)
    files = [{"position": a.position, "title": a.title, "file": a.file,
              "table": csv_table(a)} for a in dashboard.learner_attachments(session, _me(), assignment_id)]
    stage = state.stage if state else stage_view(scenario.start)
    return render_template("cadre/case.html", card=card, tab="case", scenario=scenario, state=state,
                           stage=stage, files=files, form=ChoiceForm())


@bp.route("/assignments/<int:assignment_id>/case/choose", methods=["POST"])
@role_required("cadre")
def choose(assignment_id: int):
    form = ChoiceForm()
    if not form.validate_on_submit():
        raise Invalid("Hãy chọn một phương án", {"choice": ["required"]})
    session = db_session()
    state = attempts.start_attempt(session, _me(), assignment_id)
    try:
        attempts.choose(session, _me(), state.id, form.stage.data, form.choice.data)
    except Invalid as exc:   # a page left open on an earlier stage: show where the case stands now
        session.rollback()
        flash(exc.translated(_), "error")
        return redirect(url_for(".case", assignment_id=assignment_id))
    commit()
    return redirect(url_for(".case", assignment_id=assignment_id, _anchor="feedback"))


@bp.route("/assignments/<int:assignment_id>/case/retry", methods=["POST"])
@role_required("cadre")
def retry(assignment_id: int):
    attempts.start_attempt(db_session(), _me(), assignment_id, retry=True)
    commit()
    flash(_("Bắt đầu lượt làm mới."), "success")
    return redirect(url_for(".case", assignment_id=assignment_id))


@bp.route("/assignments/<int:assignment_id>/attachments/<int:position>")
@role_required("cadre", "lecturer", "admin")
def attachment(assignment_id: int, position: int):
    item = dashboard.attachment(db_session(), _me(), assignment_id, position)
    return downloads.attachment(item.content, item.media_type, item.file)


# Group discussion

def _thread(posts) -> tuple[list, dict[int, list]]:
    """Top-level posts and replies by parent, both in posting order."""
    children: dict[int, list] = {}
    known = {p.id for p in posts}
    roots = []
    for post in posts:
        if post.parent_id in known:
            children.setdefault(post.parent_id, []).append(post)
        else:
            roots.append(post)
    return roots, children


@bp.route("/assignments/<int:assignment_id>/discussion")
@role_required("cadre")
def discussion_page(assignment_id: int):
    session = db_session()
    card = dashboard.assignment_card(session, _me(), assignment_id)
    if not card.has_discussion:
        abort(404)
    posts = discussion.list_posts(session, _me(), assignment_id)
    roots, children = _thread(posts)
    spec = _scenario(assignment_id).discussion
    assert spec is not None  # card.has_discussion
    return render_template("cadre/discussion.html", card=card, tab="discussion", prompt=spec.prompt,
                           roots=roots, children=children, last_id=max((p.id for p in posts), default=0),
                           poll_seconds=current_app.config.get("DISCUSSION_POLL_SECONDS", POLL_SECONDS),
                           form=PostForm(), me=_me().id)


@bp.route("/assignments/<int:assignment_id>/discussion", methods=["POST"])
@role_required("cadre")
def post(assignment_id: int):
    form = PostForm()
    if not form.validate_on_submit():
        raise Invalid("Nội dung đang trống", {"body": ["required"]})
    created = discussion.post_message(db_session(), _me(), assignment_id, _text(form.body.data), form.parent_id.data)
    commit()
    return redirect(url_for(".discussion_page", assignment_id=assignment_id, _anchor=f"post-{created.id}"))


@bp.route("/assignments/<int:assignment_id>/discussion/posts/<int:post_id>/edit", methods=["POST"])
@role_required("cadre")
def edit(assignment_id: int, post_id: int):
    form = PostForm()
    if not form.validate_on_submit():
        raise Invalid("Nội dung đang trống", {"body": ["required"]})
    discussion.edit_post(db_session(), _me(), post_id, _text(form.body.data))
    commit()
    flash(_("Đã sửa bài đăng; bản cũ vẫn được lưu."), "success")
    return redirect(url_for(".discussion_page", assignment_id=assignment_id, _anchor=f"post-{post_id}"))


@bp.route("/assignments/<int:assignment_id>/discussion/posts.json")
@role_required("cadre")
def posts_json(assignment_id: int):
    after = request.args.get("after", 0, type=int)
    posts = discussion.list_posts(db_session(), _me(), assignment_id, after_id=max(after, 0))
    render_post = get_template_attribute("cadre/_post.html", "post")
    return jsonify({"posts": [{"id": p.id, "parent_id": p.parent_id,
                               "html": str(render_post(p, {}, assignment_id, _me().id))} for p in posts],
                    "last_id": max([after] + [p.id for p in posts])})


# The group report

def _report_page(assignment_id: int, *, form: ReportForm | None = None, conflict=None, confirm: bool = False,
                 status: int = 200):
    session = db_session()
    card = dashboard.assignment_card(session, _me(), assignment_id)
    if not card.has_report:
        abort(404)
    report = discussion.get_group_report(session, _me(), assignment_id)
    scenario = _scenario(assignment_id)
    if form is None:
        form = ReportForm(formdata=None, body=report.body, revision=report.revision)
    spec = scenario.discussion
    assert spec is not None  # a group report belongs to a discussion
    marked = bool(report.submitted_at and spec.rubric)     # a report rubric: it is marked
    grade = discussion.report_grade(session, _me(), assignment_id) if marked else None
    return render_template("cadre/report.html", card=card, tab="report", report=report, form=form,
                           conflict=conflict, confirm=confirm, prompt=spec.prompt,
                           marked=marked, grade=grade), status


@bp.route("/assignments/<int:assignment_id>/report")
@role_required("cadre")
def report(assignment_id: int):
    return _report_page(assignment_id)


@bp.route("/assignments/<int:assignment_id>/report", methods=["POST"])
@role_required("cadre")
def report_save(assignment_id: int):
    form = ReportForm()
    if not form.validate_on_submit():
        raise Invalid("Biểu mẫu thiếu số phiên bản", {"revision": ["required"]})
    session = db_session()
    current = discussion.get_group_report(session, _me(), assignment_id)
    body = _text(form.body.data)
    if form.action.data == "confirm":
        if current.revision != form.revision.data:     # someone saved after the confirmation was shown
            flash(_("Một thành viên khác vừa lưu báo cáo; hãy xem lại trước khi nộp."), "error")
            return redirect(url_for(".report", assignment_id=assignment_id))
        discussion.submit_group_report(session, _me(), assignment_id)
        commit()
        flash(_("Đã nộp báo cáo nhóm."), "success")
        return redirect(url_for(".report", assignment_id=assignment_id))
    try:
        if body != current.body or current.revision == 0 or form.revision.data != current.revision:
            discussion.save_group_report(session, _me(), assignment_id, body, form.revision.data)
            commit()
    except Conflict as exc:
        session.rollback()
        latest = discussion.get_group_report(session, _me(), assignment_id)
        if latest.submitted_at is not None:
            flash(exc.translated(_), "error")
            return redirect(url_for(".report", assignment_id=assignment_id))
        form.revision.data = latest.revision     # the next save merges onto what is there now
        return _report_page(assignment_id, form=form, conflict=latest, status=409)
    if form.action.data == "submit":
        return _report_page(assignment_id, confirm=True)
    flash(_("Đã lưu báo cáo nhóm."), "success")
    return redirect(url_for(".report", assignment_id=assignment_id))


# The essay

def _essay_spec(assignment_id: int):
    session = db_session()
    card = dashboard.assignment_card(session, _me(), assignment_id)
    if not card.has_essay:
        abort(404)
    return card, _scenario(assignment_id).essay


@bp.route("/assignments/<int:assignment_id>/essay")
@role_required("cadre")
def essay(assignment_id: int):
    card, spec = _essay_spec(assignment_id)
    session = db_session()
    draft = essays.get_draft(session, _me(), assignment_id)
    latest = essays.latest_essay(session, _me(), assignment_id)
    clock = essays.essay_window(session, _me(), assignment_id)
    # an empty draft starts from the scenario's section headings
    start = draft.body if draft.body else essays.starting_text(spec)
    return render_template("cadre/essay.html", card=card, tab="essay", spec=spec, draft=draft, latest=latest,
                           clock=clock, start=start, kept_draft=bool(draft.body.strip()) and (
                               latest is None or latest.body != draft.body),
                           autosave_seconds=current_app.config["AUTOSAVE_SECONDS"], form=EssayForm(formdata=None))


@bp.route("/assignments/<int:assignment_id>/essay/draft", methods=["POST"])
@role_required("cadre")
def essay_draft(assignment_id: int):
    if request.is_json:
        try:
            body = DraftSchema().load(request.get_json(silent=True) or {})["body"]
        except ValidationError as exc:
            raise Invalid("Thiếu nội dung bài thu hoạch", exc.normalized_messages()) from None
    else:
        body = request.form.get("body")
        if body is None:
            raise Invalid("Thiếu nội dung bài thu hoạch", {"body": ["required"]})
    saved = essays.save_draft(db_session(), _me(), assignment_id, _text(body))
    commit()
    if request.form.get("quiet"):          # a beacon sent as the page closes: nobody reads the answer
        return "", 204
    if request.is_json or wants_json():
        return jsonify({"saved_at": saved.saved_at.isoformat() if saved.saved_at else None, "words": saved.words})
    flash(_("Đã lưu bản nháp."), "success")
    return redirect(url_for(".essay", assignment_id=assignment_id))


@bp.route("/assignments/<int:assignment_id>/essay/submit", methods=["POST"])
@role_required("cadre")
def essay_submit(assignment_id: int):
    card, spec = _essay_spec(assignment_id)
    form = EssayForm()
    session = db_session()
    if form.confirmed.data == "1":
        draft = essays.get_draft(session, _me(), assignment_id)
        if essays.digest(draft.body) == form.sha256.data:
            receipt = essays.submit_essay(session, _me(), assignment_id, draft.body)
            commit()
            for warning in receipt.warnings:       # the scenario accepts it, with a warning
                flash(_(warning, section=spec.recommendations_section), "warning")
            if receipt.late:
                flash(_("Bài được nhận sau hạn chót và được đánh dấu nộp muộn."), "warning")
            return redirect(url_for(".receipt", essay_id=receipt.id))
        flash(_("Bản nháp vừa thay đổi (có thể ở một cửa sổ khác); hãy xác nhận lại."), "error")
    else:
        if form.body.data is None:         # never let a request without the text replace the draft
            raise Invalid("Thiếu nội dung bài thu hoạch", {"body": ["required"]})
        essays.save_draft(session, _me(), assignment_id, _text(form.body.data))
        commit()
    draft = essays.get_draft(session, _me(), assignment_id)
    check = essays.length_check(draft.body, spec)
    problem = essays.recommendations_message(draft.body, spec)
    return render_template("cadre/essay_confirm.html", card=card, tab="essay", spec=spec, draft=draft, check=check,
                           digest=essays.digest(draft.body), form=EssayForm(formdata=None),
                           clock=essays.essay_window(session, _me(), assignment_id),
                           problem=_(problem, section=spec.recommendations_section) if problem else None,
                           refused=bool(problem) and spec.recommendations_check != "warn")


@bp.route("/essays/<int:essay_id>/receipt")
@role_required("cadre")
def receipt(essay_id: int):
    essay_row, _named = essays.readable_essay(db_session(), _me(), essay_id)
    card = dashboard.assignment_card(db_session(), _me(), essay_row.assignment_id)
    return render_template("cadre/receipt.html", card=card, tab="essay", receipt=essays.receipt_of(essay_row))


def _grade_page(essay_id: int, *, reason: str = "", error: str | None = None, status: int = 200):
    session = db_session()
    try:
        report = grading.grade_for_author(session, _me(), essay_id)    # not the author's: 404
    except Forbidden:            # blind both ways: until release the page says only that marking goes on
        report = None
    essay_row, _named = essays.readable_essay(session, _me(), essay_id)
    card = dashboard.assignment_card(session, _me(), essay_row.assignment_id)
    notes = list(enumerate(report.annotations, start=1)) if report else []
    return render_template("cadre/grade.html", card=card, tab="report" if essay_row.kind == "report" else "essay",
                           report=report, essay=essay_row, notes=notes, reason=reason, error=error,
                           pieces=pieces(essay_row.body, [(f"n{i}", a["start"], a["end"]) for i, a in notes]),
                           note_texts={f"n{i}": a["comment"] for i, a in notes}), status


@bp.route("/essays/<int:essay_id>/grade")
@role_required("cadre")
def grade(essay_id: int):
    return _grade_page(essay_id)


@bp.route("/essays/<int:essay_id>/appeal", methods=["POST"])
@role_required("cadre")
def appeal(essay_id: int):
    session = db_session()
    reason = _text(request.form.get("reason"))
    try:
        appeals.file_appeal(session, _me(), essay_id, reason)
    except Invalid as exc:           # keep what was typed
        session.rollback()
        return _grade_page(essay_id, reason=reason, error=exc.translated(_), status=422)
    except Conflict as exc:          # already filed, or too late
        session.rollback()
        flash(exc.translated(_), "error")
        return redirect(url_for(".grade", essay_id=essay_id, _anchor="appeal"))
    commit()
    flash(_("Đã gửi đề nghị phúc khảo; bạn sẽ được báo khi có kết quả."), "success")
    return redirect(url_for(".grade", essay_id=essay_id, _anchor="appeal"))

