"""Lecturer (giảng viên) pages: catalogue, scenario editor and upload, preview, assignments, moderation,
progress, release, reference texts."""
from __future__ import annotations

import posixpath
from datetime import datetime, timezone

from flask import Blueprint, abort, flash, redirect, render_template, request, stream_with_context, url_for
from flask_babel import gettext as _
from flask_login import current_user
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, MultipleFileField
from wtforms import (
    BooleanField,
    FieldList,
    HiddenField,
    IntegerField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.fields import DateTimeLocalField
from wtforms.validators import AnyOf, DataRequired, InputRequired, Length, NumberRange, Optional

from ..services import authoring, cohorts, directory, discussion, essays, exports, progress, references, reports, units
from ..services.accounts import STAFF
from ..services.errors import Conflict, Invalid, ServiceError
from ..units.registry import units_for
from . import downloads
from .access import role_required
from .formatting import LOCAL_ZONE, csv_table, to_utc
from .public import catalogue_by_course
from .session import commit, db_session, reading

bp = Blueprint("lecturer", __name__, url_prefix="/lecturer")
DATETIME_LOCAL = "%Y-%m-%dT%H:%M"



# Forms

class UploadForm(FlaskForm):
    file = FileField("file")
    attachments = MultipleFileField("attachments")
    course = SelectField("course", choices=[], validate_choice=False)


class ScenarioForm(FlaskForm):
    id = StringField("id", validators=[Length(max=120)])
    title = StringField("title", validators=[Length(max=300)])
    topic = SelectField("topic", choices=[], validate_choice=False)
    course = SelectField("course", choices=[], validate_choice=False)
    summary = TextAreaField("summary")
    context = TextAreaField("context")
    stages = FieldList(TextAreaField("stage"), min_entries=1)
    attachments = TextAreaField("attachments")
    discussion = TextAreaField("discussion")
    essay = TextAreaField("essay")
    allow_cycles = BooleanField("allow_cycles")
    allow_retry = BooleanField("allow_retry")


class AssignForm(FlaskForm):
    cohort = SelectField("cohort", coerce=int, choices=[], validators=[InputRequired()])
    opens_at = DateTimeLocalField("opens_at", format=DATETIME_LOCAL, validators=[Optional()])
    closes_at = DateTimeLocalField("closes_at", format=DATETIME_LOCAL, validators=[Optional()])
    allow_retry = BooleanField("allow_retry")
    examiners = SelectMultipleField("examiners", coerce=int, choices=[])


class AssignmentEditForm(FlaskForm):
    opens_at = DateTimeLocalField("opens_at", format=DATETIME_LOCAL, validators=[Optional()])
    closes_at = DateTimeLocalField("closes_at", format=DATETIME_LOCAL, validators=[Optional()])
    late_policy = StringField("late_policy", validators=[AnyOf(cohorts.LATE_POLICIES)])
    auto_submit_drafts = BooleanField("auto_submit_drafts")
    allow_retry = BooleanField("allow_retry")
    appeal_days = IntegerField("appeal_days", validators=[InputRequired(),
                                                          NumberRange(0, cohorts.MAX_APPEAL_DAYS)])


class ExtensionForm(FlaskForm):
    username = StringField("username", validators=[DataRequired()])
    closes_at = DateTimeLocalField("closes_at", format=DATETIME_LOCAL, validators=[DataRequired()])
    reason = StringField("reason", validators=[Length(max=500)])


class HideForm(FlaskForm):
    reason = StringField("reason", validators=[DataRequired(), Length(max=500)])
    group = HiddenField("group")


class ReferenceForm(FlaskForm):
    title = StringField("title", validators=[DataRequired(), Length(max=300)])
    kind = StringField("kind", default="reference")
    body = TextAreaField("body")
    file = FileField("file")


def _course_choices() -> list[tuple[str, str]]:
    return [(c.slug, c.title) for c in directory.courses(db_session())]


def _field_errors(errors) -> dict[str, list[str]]:
    """Validator errors by the editor input they belong next to, as "field path: message"."""
    out: dict[str, list[str]] = {}
    for error in errors:
        out.setdefault(authoring.editor_field(error), []).append(
            f"{error.field}: {error.message}" if error.field else error.message)
    return out


# Catalogue, upload, editor, preview

@bp.route("/")
@role_required(*STAFF)
def catalogue():
    session = db_session()
    return render_template("lecturer/catalogue.html", courses=catalogue_by_course(),
                           assignments=directory.assignments(session, current_user.row),
                           cohorts=directory.cohort_summaries(session, current_user.row))


@bp.route("/scenarios/upload", methods=["GET", "POST"])
@role_required(*STAFF)
def upload():
    form = UploadForm()
    form.course.choices = _course_choices()
    errors: list = []
    if form.validate_on_submit():
        upload_file = request.files.get("file")
        if upload_file is None or not upload_file.filename:
            errors = [_("Hãy chọn tệp YAML của tình huống")]
        else:
            name = posixpath.basename(upload_file.filename.replace("\\", "/"))
            extra = {posixpath.basename(f.filename.replace("\\", "/")): f.read()
                     for f in request.files.getlist("attachments") if f and f.filename}
            try:
                done = authoring.save_scenario(db_session(), current_user.row, upload_file.read(), name, extra,
                                               course_slug=form.course.data or None)
            except authoring.ScenarioRejected as exc:
                errors = [str(e) for e in exc.errors]
            else:
                commit()
                _flash_saved(done)
                return redirect(url_for(".preview", slug=done.id))
    status = 422 if errors or form.errors else 200
    return render_template("lecturer/upload.html", form=form, errors=errors), status


def _flash_saved(done) -> None:
    if done.status == "unchanged":
        flash(_("Không có thay đổi: tình huống vẫn ở phiên bản %(n)s", n=done.version), "info")
    else:
        flash(_("Đã lưu tình huống '%(id)s', phiên bản %(n)s", id=done.id, n=done.version), "success")


# What a new scenario starts from: the shape of a stage and of an ending, to be filled in.
NEW_STAGES = ("id: s1\nprompt: |\n  \nchoices:\n"
              "  - id: a\n    text: \n    feedback: \n    points: 1\n    next: ket-thuc\n",
              "id: ket-thuc\nprompt: |\n  \n", "")
NEW_ESSAY = "prompt: |\n  \nrubric:   # {rubrics}\nmin_words: 600\nmax_words: 3000\n"


def _topic_choices(course_slug: str | None) -> list[tuple[str, str]]:
    rows = directory.courses(db_session())
    course = next((c for c in rows if c.slug == course_slug), rows[0] if rows else None)
    if course is None:
        return []
    return [(str(t.id), f"{t.id}. {t.title}") for t in course.topics]


def _editor(slug: str | None):
    session = db_session()
    row = authoring.scenario_versions(session, slug) if slug else None
    if request.method == "GET" and row is not None:
        fields = authoring.fields_of(row.latest)
        form = ScenarioForm(data={**vars(fields), "stages": fields.stages + [""]})
    elif request.method == "GET":
        rubrics = directory.rubric_slugs(session)
        form = ScenarioForm(data={"stages": list(NEW_STAGES),
                                  "essay": NEW_ESSAY.format(rubrics=", ".join(rubrics))})
    else:
        form = ScenarioForm()
    form.course.choices = _course_choices()
    course_slug = row.course_slug if row is not None else (form.course.data or None)
    form.topic.choices = _topic_choices(course_slug)
    errors: dict[str, list[str]] = {}
    if request.method == "POST" and request.form.get("action") == "add-stage":
        form.stages.append_entry("")
        return render_template("lecturer/editor.html", form=form, scenario=row, errors=errors)
    if form.validate_on_submit():
        fields = authoring.ScenarioFields(**{k: v for k, v in form.data.items()
                                             if k in authoring.ScenarioFields.__dataclass_fields__})
        try:
            done = authoring.save_form(session, current_user.row, fields, existing_slug=slug,
                                       course_slug=form.course.data or None)
        except authoring.ScenarioRejected as exc:
            errors = _field_errors(exc.errors)
        else:
            commit()
            _flash_saved(done)
            return redirect(url_for(".preview", slug=done.id))
    status = 422 if errors or form.errors else 200
    return render_template("lecturer/editor.html", form=form, scenario=row, errors=errors), status


@bp.route("/scenarios/new", methods=["GET", "POST"])
@role_required(*STAFF)
def new_scenario():
    return _editor(None)


@bp.route("/scenarios/<slug>/edit", methods=["GET", "POST"])
@role_required(*STAFF)
def edit_scenario(slug: str):
    return _editor(slug)


@bp.route("/scenarios/<slug>/preview")
@role_required(*STAFF)
def preview(slug: str):
    session = db_session()
    version = authoring.scenario_version(session, slug, request.args.get("version", type=int))
    data = version.data
    views = {u.type_id: u.public_view(data) for u in units_for(data)}
    files = [{"position": a.position, "title": a.title, "file": a.file, "table": csv_table(a)}
             for a in authoring.attachments(session, slug, version.number)]
    return render_template("lecturer/preview.html", version=version, scenario=data, views=views, files=files,
                           versions=version.numbers,
                           assignments=directory.assignments_of_scenario(session, version.scenario_id))



@bp.route("/scenarios/<slug>/v<int:number>/attachments/<int:position>")
@role_required(*STAFF)
def attachment(slug: str, number: int, position: int):
    found = authoring.attachment(db_session(), slug, number, position)
    if found is None:
        abort(404)
    return downloads.attachment(found.content, found.media_type, found.file)


# Assignments: create, follow, moderate, release

@bp.route("/assignments/new", methods=["GET", "POST"])
@role_required(*STAFF)
def new_assignment():
    session = db_session()
    slug = request.args.get("scenario", "")
    version = authoring.scenario_version(session, slug)
    data = version.data
    form = AssignForm()
    form.cohort.choices = [(c.id, c.name) for c in directory.cohorts_of_course(session, version.course_id)]
    examiners = directory.accounts(session, current_user.row, role="examiner")
    form.examiners.choices = [(e.id, e.display_name) for e in examiners]
    if request.method == "GET":
        form.allow_retry.data = data.allow_retry
        form.examiners.data = [e.id for e in examiners]
    errors: dict[str, list[str]] = {}
    existing = None
    if form.validate_on_submit():
        try:
            assignment = cohorts.assign(
                session, form.cohort.data, slug,
                opens_at=to_utc(form.opens_at.data), closes_at=to_utc(form.closes_at.data),
                allow_retry=form.allow_retry.data, version=version.number,
                examiner_ids=[e.id for e in examiners if e.id in set(form.examiners.data or [])])
        except ServiceError as exc:
            message = exc.translated(_)
            for name in exc.fields or {"general": []}:
                errors.setdefault(name if name in form else "general", []).append(message)
            if isinstance(exc, Conflict) and exc.params.get("assignment"):
                existing = exc.params["assignment"]       # offer the assignment to edit instead
        else:
            commit()
            flash(_("Đã giao tình huống cho lớp"), "success")
            return redirect(url_for(".assignment", assignment_id=assignment.id))
    for name, messages in form.errors.items():
        errors.setdefault(name, []).extend(_("Giá trị không hợp lệ") for _m in messages)
    status = 422 if errors else 200
    return render_template("lecturer/assign.html", form=form, version=version, scenario=data,
                           errors=errors, existing=existing), status


TRAIL_SHOWN = 20          # the latest audit events on the assignment's page


@bp.route("/assignments/<int:assignment_id>")
@role_required(*STAFF)
def assignment(assignment_id: int):
    """The assignment and its progress, drilled down: provinces, a province's communes, a commune's groups, a
    group's cadres (with the group's discussion to moderate), or what a search for a commune or a cadre found.
    ``province`` and ``commune`` name a level ("" for members whose account names none), ``group`` a group
    (0: not placed), ``after`` where the page starts."""
    session = db_session()
    user = current_user.row
    args = request.args
    province, commune, after = args.get("province"), args.get("commune"), args.get("after") or None
    group_id, query = args.get("group", type=int), " ".join(args.get("q", "").split())
    error = None
    drill = None
    if query:
        try:
            drill = progress.search(session, user, assignment_id, query, after)
        except Invalid as exc:
            error = exc.translated(_)
    if drill is None and group_id is not None:
        drill = progress.cadres_level(session, user, assignment_id, group_id, province=province, commune=commune,
                                      after=after)
    elif drill is None and province is not None and commune is not None:
        drill = progress.groups_level(session, user, assignment_id, province, commune, after)
    elif drill is None and province is not None:
        drill = progress.communes_level(session, user, assignment_id, province, after)
    elif drill is None:
        drill = progress.provinces_level(session, user, assignment_id, after)
    group = drill.group if drill.group and drill.group.group_id is not None else None
    posts = discussion.list_posts(session, user, assignment_id, group.group_id) if group else []
    row = cohorts.assignment_view(session, assignment_id)
    return render_template(
        "lecturer/assignment.html", assignment=row, scenario=cohorts.assignment_scenario(session, assignment_id),
        window=cohorts.window(row).state(datetime.now(timezone.utc)), drill=drill, group=group, posts=posts,
        search_error=error, places_source=progress.catalogue_source(), no_group=progress.NO_GROUP,
        trail=progress.assignment_trail(session, user, assignment_id, limit=TRAIL_SHOWN),
        examiners=directory.examiners_of(session, assignment_id), hide_form=HideForm(),
        drafts=drill.drafts,
        extensions_count=progress.extensions_count(session, user, assignment_id),
        unit_progress=units.progress(session, user, assignment_id)), 422 if error else 200


def _local_input(moment) -> datetime | None:
    """A stored (aware UTC) time as a datetime-local field shows it: Vietnam time, no zone."""
    if moment is None:
        return None
    return moment.astimezone(LOCAL_ZONE).replace(tzinfo=None)


def _edit_page(assignment_id: int, form: AssignmentEditForm | None = None, grant: ExtensionForm | None = None,
               errors: dict[str, list[str]] | None = None):
    session = db_session()
    user = current_user.row
    row = cohorts.assignment_view(session, assignment_id)
    if form is None:
        form = AssignmentEditForm(formdata=None, opens_at=_local_input(row.opens_at),
                                  closes_at=_local_input(row.closes_at), late_policy=row.late_policy,
                                  auto_submit_drafts=row.auto_submit_drafts, allow_retry=row.allow_retry,
                                  appeal_days=row.appeal_days)
    errors = errors or {}
    return render_template(
        "lecturer/assignment_edit.html", assignment=row, scenario=cohorts.assignment_scenario(session, assignment_id),
        form=form,
        grant=grant or ExtensionForm(formdata=None), errors=errors,
        members=[u for u in cohorts.cadres_of(session, row.cohort_id) if u.role == "cadre"],
        extensions=cohorts.extensions(session, user, assignment_id),
        window=cohorts.window(row).state(datetime.now(timezone.utc))), 422 if errors else 200


def _errors_of(exc: ServiceError, form, fallback: str) -> dict[str, list[str]]:
    message = exc.translated(_)
    return {(name if name in form else fallback): [message] for name in (exc.fields or {fallback: []})}


@bp.route("/assignments/<int:assignment_id>/edit", methods=["GET", "POST"])
@role_required(*STAFF)
def edit_assignment(assignment_id: int):
    if request.method == "GET":
        return _edit_page(assignment_id)
    form = AssignmentEditForm()
    if not form.validate_on_submit():
        return _edit_page(assignment_id, form, errors={name: [_("Giá trị không hợp lệ")] for name in form.errors})
    session = db_session()
    try:
        cohorts.update_assignment(
            session, current_user.row, assignment_id, opens_at=to_utc(form.opens_at.data),
            closes_at=to_utc(form.closes_at.data), late_policy=form.late_policy.data,
            auto_submit_drafts=form.auto_submit_drafts.data, allow_retry=form.allow_retry.data,
            appeal_days=form.appeal_days.data)
    except ServiceError as exc:
        session.rollback()
        return _edit_page(assignment_id, form, errors=_errors_of(exc, form, "general"))
    commit()
    flash(_("Đã lưu thay đổi của bài được giao"), "success")
    return redirect(url_for(".edit_assignment", assignment_id=assignment_id))


@bp.route("/assignments/<int:assignment_id>/extensions", methods=["POST"])
@role_required(*STAFF)
def grant_extension(assignment_id: int):
    grant = ExtensionForm()
    if not grant.validate_on_submit():
        return _edit_page(assignment_id, grant=grant,
                          errors={f"grant-{name}": [_("Hãy điền mục này")] for name in grant.errors})
    session = db_session()
    row = cohorts.assignment_view(session, assignment_id)
    member = cohorts.member_named(session, row.cohort_id, grant.username.data)
    try:
        if member is None:
            raise Invalid("Học viên này không thuộc lớp được giao bài", {"username": ["not a member"]})
        closes_at = to_utc(grant.closes_at.data)
        assert closes_at is not None  # the form requires it: validated above
        cohorts.grant_extension(session, current_user.row, assignment_id, member.id, closes_at,
                                grant.reason.data or "")
    except ServiceError as exc:
        session.rollback()
        errors = {f"grant-{name}": messages for name, messages in _errors_of(exc, grant, "general").items()}
        return _edit_page(assignment_id, grant=grant, errors=errors)
    commit()
    flash(_("Đã gia hạn cho %(name)s", name=member.display_name or member.username), "success")
    return redirect(url_for(".edit_assignment", assignment_id=assignment_id) + "#extensions")


@bp.route("/assignments/<int:assignment_id>/extensions/<int:user_id>/revoke", methods=["POST"])
@role_required(*STAFF)
def revoke_extension(assignment_id: int, user_id: int):
    cohorts.revoke_extension(db_session(), current_user.row, assignment_id, user_id)
    commit()
    flash(_("Đã hủy gia hạn"), "success")
    return redirect(url_for(".edit_assignment", assignment_id=assignment_id) + "#extensions")


@bp.route("/assignments/<int:assignment_id>/drafts/<int:user_id>")
@role_required(*STAFF)
def draft(assignment_id: int, user_id: int):
    session = db_session()
    author, shown = essays.draft_for_staff(session, current_user.row, assignment_id, user_id)
    row = cohorts.assignment_view(session, assignment_id)
    return render_template("lecturer/draft.html", assignment=row,
                           scenario=cohorts.assignment_scenario(session, assignment_id),
                           author=author, draft=shown,
                           submitted=essays.latest_essay(session, author, assignment_id))


@bp.route("/posts/<int:post_id>/hide", methods=["POST"])
@role_required(*STAFF)
def hide_post(post_id: int):
    form = HideForm()
    form.validate_on_submit()       # the service names a missing reason; CSRF is checked app-wide
    discussion.hide_post(db_session(), current_user.row, post_id, form.reason.data or "")
    assignment_id = request.form.get("assignment", type=int)
    commit()
    flash(_("Đã ẩn bài đăng; nội dung vẫn được lưu trong nhật ký"), "success")
    if assignment_id:
        return redirect(url_for(".assignment", assignment_id=assignment_id, group=form.group.data or None)
                        + "#discussion")
    return redirect(url_for(".catalogue"))


@bp.route("/assignments/<int:assignment_id>/release", methods=["POST"])
@role_required(*STAFF)
def release(assignment_id: int):
    """Release is guarded: it always goes through the page that shows what it covers and asks to confirm."""
    return redirect(url_for("marking.release", assignment_id=assignment_id))


# The assignment's report to leadership: every report section (services/reports.py), on a page and as CSV

@bp.route("/assignments/<int:assignment_id>/report")
@role_required(*STAFF)
def assignment_report(assignment_id: int):
    session = db_session()
    parts = reports.report(session, current_user.row, assignment_id)
    row = cohorts.assignment_view(session, assignment_id)
    tables = [(part, [_(h) for h in part.table.headers], (reports.translated(r, _) for r in part.table.rows))
              for part in parts]
    return render_template("lecturer/report.html", assignment=row,
                           scenario=cohorts.assignment_scenario(session, assignment_id), tables=tables)


@bp.route("/assignments/<int:assignment_id>/report/<key>.csv")
@role_required(*STAFF)
def assignment_report_csv(assignment_id: int, key: str):
    part = reports.report_section(db_session(), current_user.row, assignment_id, key)
    rows = (list(reports.translated(r, _)) for r in part.table.rows)
    chunks = reading(exports.csv_chunks([_(h) for h in part.table.headers], rows))
    return downloads.streamed(stream_with_context(chunks), "text/csv; charset=utf-8",
                              f"{part.key}-{assignment_id}.csv")


# Reference texts for the similarity check

@bp.route("/references", methods=["GET", "POST"])
@role_required(*STAFF)
def reference_texts():
    session = db_session()
    courses = directory.courses(session)
    if not courses:
        abort(404)
    course = next((c for c in courses if c.id == request.args.get("course", type=int)), courses[0])
    form = ReferenceForm()
    errors: dict[str, list[str]] = {}
    if form.validate_on_submit():
        upload_file = request.files.get("file")
        try:
            body = references.decode_upload(upload_file.read()) if upload_file and upload_file.filename \
                else form.body.data
            references.add_reference(session, current_user.row, course.id, form.title.data, form.kind.data, body)
        except ServiceError as exc:
            for name in exc.fields or {"body": []}:
                errors.setdefault(name, []).append(exc.translated(_))
        else:
            commit()
            flash(_("Đã thêm văn bản tham chiếu"), "success")
            return redirect(url_for(".reference_texts", course=course.id))
    for name in form.errors:
        errors.setdefault(name, []).append(_("Hãy điền mục này"))
    return render_template("lecturer/references.html", form=form, course=course, courses=courses,
                           texts=references.list_references(session, current_user.row, course.id),
                           errors=errors), 422 if errors else 200
