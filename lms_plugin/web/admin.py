"""Organiser/admin pages: cohorts, groups, roster import, accounts, exports, background jobs."""
from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

from flask import (
    Blueprint,
    Response,
    current_app,
    flash,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import format_decimal, gettext as _
from flask_login import current_user
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import DateField, SelectField, StringField
from wtforms.validators import DataRequired, Length, Optional

from ..services import (
    account_admin,
    account_merge,
    accounts as accounts_service,
    cohorts as cohort_service,
    credentials,
    directory,
    exports,
    job_status,
    roster,
    roster_files,
    roster_imports,
)
from ..services.errors import N_, Conflict, Invalid, ServiceError
from . import downloads
from .access import role_required
from .extensions import csrf
from .formatting import LOCAL_ZONE
from .session import commit, db_session

bp = Blueprint("admin", __name__, url_prefix="/admin")
READERS = ("admin", "lecturer")
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


class CohortForm(FlaskForm):
    name = StringField("name", validators=[DataRequired(), Length(max=200)])
    course = SelectField("course", choices=[], validate_choice=False)
    starts_at = DateField("starts_at", validators=[Optional()])
    ends_at = DateField("ends_at", validators=[Optional()])


class RosterForm(FlaskForm):
    file = FileField("file")


def _local_midnight(day) -> datetime | None:
    return datetime(day.year, day.month, day.day, tzinfo=LOCAL_ZONE).astimezone(timezone.utc) if day else None


def _errors_from(exc: ServiceError, default: str) -> dict[str, list[str]]:
    return {name: [exc.translated(_)] for name in (exc.fields or {default: []})}


@bp.route("/")
@role_required("admin")
def cohorts():
    return _cohorts_view(CohortForm(), {})


def _cohorts_view(form: CohortForm, errors: dict, status: int = 200):
    session = db_session()
    form.course.choices = [(c.slug, c.title) for c in directory.courses(session)]
    return render_template("admin/cohorts.html", form=form, errors=errors,
                           cohorts=directory.cohort_summaries(session, current_user.row),
                           jobs=job_status.attention(session, current_user.row)), status


@bp.route("/cohorts", methods=["POST"])
@role_required("admin")
def create_cohort():
    form = CohortForm()
    form.course.choices = [(c.slug, c.title) for c in directory.courses(db_session())]
    if not form.validate_on_submit():
        return _cohorts_view(form, {k: [_("Hãy điền mục này")] for k in form.errors}, 422)
    try:
        cohort = cohort_service.add_cohort(db_session(), form.name.data.strip(), form.course.data,
                                           starts_at=_local_midnight(form.starts_at.data),
                                           ends_at=_local_midnight(form.ends_at.data))
    except ServiceError as exc:
        return _cohorts_view(form, _errors_from(exc, "name"), exc.status)
    commit()
    flash(_("Đã tạo lớp '%(name)s'", name=cohort.name), "success")
    return redirect(url_for(".cohort", cohort_id=cohort.id))


@bp.route("/cohorts/<int:cohort_id>")
@role_required("admin")
def cohort(cohort_id: int):
    return _cohort_view(cohort_id, RosterForm(), {})


def _cohort_view(cohort_id: int, form: RosterForm, errors: dict, status: int = 200):
    session = db_session()
    row, groups = directory.cohort_groups(session, current_user.row, cohort_id)
    return render_template("admin/cohort.html", cohort=row, groups=groups, form=form, errors=errors,
                           assignments=directory.assignments(session, current_user.row, cohort_id)), status


@bp.route("/cohorts/<int:cohort_id>/roster", methods=["POST"])
@role_required("admin")
@csrf.exempt          # checked by the form below, once the larger upload limit of a roster is in place
def import_roster(cohort_id: int):
    """The dry run: what importing the file would do, row by row; the file waits server-side for "Nhập"."""
    request.max_content_length = roster.MAX_UPLOAD_BYTES      # before anything reads the body
    form = RosterForm()
    upload = request.files.get("file")
    if not form.validate_on_submit() or upload is None or not upload.filename:
        return _cohort_view(cohort_id, form, {"file": [_("Hãy chọn tệp .csv hoặc .xlsx")]}, 422)
    session = db_session()
    raw = upload.read()
    try:
        rows = roster.read_roster(upload.filename, raw)
        plan = roster.plan_roster(session, current_user.row, cohort_id, rows)
    except ServiceError as exc:
        return _cohort_view(cohort_id, form, _errors_from(exc, "file"), exc.status)
    session.rollback()                                  # read only
    digest, kind = roster_files.keep_upload(current_app.instance_path, upload.filename, raw)
    return render_template("admin/roster_preview.html", cohort=cohort_service.cohort_view(session, cohort_id),
                           plan=plan, counts=plan.counts(), shown=ROSTER_ROWS_SHOWN, digest=digest, kind=kind,
                           filename=upload.filename, outcomes=_roster_outcomes(plan), form=form)


ROSTER_ROWS_SHOWN = 50            # rows listed per outcome; the counts tell the rest
OUTCOME_TITLES = {roster.CREATED: N_("Tạo mới"), roster.UPDATED: N_("Cập nhật"),
                  roster.UNCHANGED: N_("Không đổi"), roster.REJECTED: N_("Từ chối")}


def _roster_outcomes(plan: roster.RosterPlan) -> list[tuple[str, str, list[tuple]]]:
    """(outcome, title, rows) with each row as the table shows it: number, name, username, group, detail."""
    shown = []
    for outcome in (roster.REJECTED, roster.CREATED, roster.UPDATED, roster.UNCHANGED):
        rows = []
        for p in plan.first(outcome, ROSTER_ROWS_SHOWN):
            detail = p.translated(_)
            if p.matched_by:
                matched = _("khớp theo %(key)s", key=_(roster.MATCH_LABELS[p.matched_by]))
                detail = f"{detail} ({matched})" if detail else matched
            rows.append((p.row, p.name, p.username, p.group, detail))
        shown.append((outcome, _(OUTCOME_TITLES[outcome]), rows))
    return shown


@bp.route("/cohorts/<int:cohort_id>/roster/confirm", methods=["POST"])
@role_required("admin")
def confirm_roster(cohort_id: int):
    """"Nhập": the file whose dry run was shown, named by its sha256, imported by a background job in short
    batches; the import's page follows it."""
    digest, kind = request.form.get("digest", ""), request.form.get("kind", "")
    try:
        import_id = roster_imports.start(db_session(), current_user.row, cohort_id, digest, kind)
    except ServiceError as exc:
        return _cohort_view(cohort_id, RosterForm(), _errors_from(exc, "file"), exc.status)
    commit()                            # the job is handed to its runner once this commits
    return redirect(url_for(".roster_import", cohort_id=cohort_id, import_id=import_id), 303)


ROSTER_REFRESH_SECONDS = 2          # the progress page reloads itself this often until the import has finished


@bp.route("/cohorts/<int:cohort_id>/roster/imports/<int:import_id>")
@role_required("admin")
def roster_import(cohort_id: int, import_id: int):
    """An import's progress (the page reloads itself), then its result: the counts, the first rows created and
    rejected, the one-time links download; or why it stopped."""
    session = db_session()
    view = roster_imports.progress(session, current_user.row, cohort_id, import_id)
    cohort = cohort_service.cohort_view(session, cohort_id)
    if view.state == "done":
        response = Response(render_template(
            "admin/roster_result.html", cohort=cohort, counts=view.counts, ticket=view.links_ticket,
            created=view.created, rejected=[(r.row, r.translated(_)) for r in view.rejected], mine=view.mine))
    else:
        response = Response(render_template(
            "admin/roster_progress.html", cohort=cohort, view=view, error=view.error_text(_),
            done=format_decimal(view.rows_done), total=format_decimal(view.rows_total or 0)))
        if not view.finished:
            response.headers["Refresh"] = str(ROSTER_REFRESH_SECONDS)
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.route("/cohorts/<int:cohort_id>/roster/imports/<int:import_id>/retry", methods=["POST"])
@role_required("admin")
def retry_roster_import(cohort_id: int, import_id: int):
    try:
        roster_imports.retry(db_session(), current_user.row, cohort_id, import_id)
    except (Conflict, Invalid) as exc:
        flash(exc.translated(_), "error")
        return redirect(url_for(".roster_import", cohort_id=cohort_id, import_id=import_id))
    commit()                            # handed to its runner once this commits
    flash(_("Lần nhập được chạy lại với cùng tệp; các dòng đã ghi sẽ không bị tạo lại."), "success")
    return redirect(url_for(".roster_import", cohort_id=cohort_id, import_id=import_id))


@bp.route("/cohorts/<int:cohort_id>/roster/links/<key>")
@role_required("admin")
def roster_links(cohort_id: int, key: str):
    """The new accounts' sign-in links, downloadable once (then deleted from the server)."""
    body = roster_files.take_links(current_app.instance_path, key)
    if body is None:
        flash(_("Tệp liên kết đăng nhập đã được tải về hoặc đã quá một giờ. Người chưa nhận được liên kết: hãy "
                "cấp lại mật khẩu cho họ ở trang tài khoản."), "error")
        return redirect(url_for(".cohort", cohort_id=cohort_id))
    cohort = cohort_service.cohort_view(db_session(), cohort_id)
    name = re.sub(r"[^\w.-]+", "-", cohort.name, flags=re.ASCII).strip("-")
    response = downloads.attachment(body, "text/csv; charset=utf-8", f"lien-ket-dang-nhap-{name or cohort_id}.csv")
    response.headers["Cache-Control"] = "no-store"
    return response


# Accounts: search, filters and keyset pages; one account's page; bulk changes; merging

@bp.route("/accounts")
@role_required("admin")
def accounts():
    session = db_session()
    try:
        wanted = account_admin.AccountFilter.of(request.args)
        page = account_admin.list_accounts(session, current_user.row, wanted,
                                           after=request.args.get("after") or None,
                                           before=request.args.get("before") or None)
        status, error = 200, None
    except ServiceError as exc:
        wanted, status, error = account_admin.AccountFilter(), exc.status, exc.translated(_)
        page = account_admin.list_accounts(session, current_user.row, wanted)
    return render_template("admin/accounts.html", page=page, wanted=wanted, error=error,
                           asked=request.args.to_dict(), roles=accounts_service.ROLES,
                           provinces=account_admin.provinces(session, current_user.row),
                           cohorts=account_admin.cohorts(session, current_user.row)), status


BULK_ACTIONS = {"deactivate": False, "reactivate": True}


@bp.route("/accounts/bulk", methods=["POST"])
@role_required("admin")
def bulk_accounts():
    """Deactivate or reactivate the filtered accounts: first how many (to confirm), then in batches."""
    session = db_session()
    action = request.form.get("action", "")
    try:
        wanted = account_admin.AccountFilter.of(request.form)
    except ServiceError as exc:
        flash(exc.translated(_), "error")
        return redirect(url_for(".accounts"))
    if action not in BULK_ACTIONS or (wanted.empty and action == "deactivate"):
        flash(_("Hãy lọc danh sách trước, rồi chọn khóa hoặc mở lại các tài khoản khớp bộ lọc."), "error")
        return redirect(url_for(".accounts", **wanted.args()))
    active = BULK_ACTIONS[action]
    expected = request.form.get("expected", type=int)
    if expected is not None:
        try:
            result = account_admin.bulk_set_active(session, current_user.row, wanted, active, expected=expected,
                                                   commit=commit)
        except ServiceError as exc:
            flash(exc.translated(_), "error")
        else:
            flash(_("Đã mở lại %(n)s tài khoản.", n=result.changed) if active else
                  _("Đã khóa %(n)s tài khoản.", n=result.changed), "success")
            return redirect(url_for(".accounts", **wanted.args()))
    count = account_admin.bulk_count(session, current_user.row, wanted, active)
    return render_template("admin/accounts_bulk.html", wanted=wanted, action=action, active=active, count=count)


class AccountForm(FlaskForm):
    display_name = StringField("display_name", validators=[DataRequired(), Length(max=200)])
    province = StringField("province", validators=[Optional(), Length(max=120)])
    commune = StringField("commune", validators=[Optional(), Length(max=120)])
    contact = StringField("contact", validators=[Optional(), Length(max=200)])
    email = StringField("email", validators=[Optional(), Length(max=254)])
    role = SelectField("role", choices=list(accounts_service.ROLES))


def _account_view(user_id: int, form: AccountForm | None = None, errors: dict | None = None, status: int = 200):
    session = db_session()
    detail = account_admin.detail(session, current_user.row, user_id)
    if form is None:
        form = AccountForm(data={name: getattr(detail.row, name) for name in account_admin.EDITABLE})
    return render_template("admin/account.html", detail=detail, person=detail.row, form=form, errors=errors or {},
                           roles=accounts_service.ROLES, me=current_user.id), status


@bp.route("/accounts/<int:user_id>")
@role_required("admin")
def account(user_id: int):
    return _account_view(user_id)


@bp.route("/accounts/<int:user_id>", methods=["POST"])
@role_required("admin")
def edit_account(user_id: int):
    form = AccountForm()
    changes = {name: request.form[name] for name in account_admin.EDITABLE if name in request.form}
    if changes and not form.validate_on_submit():
        return _account_view(user_id, form, {k: [_("Hãy điền mục này")] for k in form.errors}, 422)
    try:
        account_admin.update_account(db_session(), current_user.row, user_id, changes)
    except ServiceError as exc:
        if exc.status == 404:
            raise
        db_session().rollback()
        return _account_view(user_id, form, _errors_from(exc, "display_name"), exc.status)
    commit()
    flash(_("Đã lưu thông tin tài khoản."), "success")
    return redirect(url_for(".account", user_id=user_id))


@bp.route("/accounts/<int:user_id>/deactivate", methods=["POST"])
@role_required("admin")
def deactivate_account(user_id: int):
    return _set_active(user_id, False)


@bp.route("/accounts/<int:user_id>/reactivate", methods=["POST"])
@role_required("admin")
def reactivate_account(user_id: int):
    return _set_active(user_id, True)


def _set_active(user_id: int, active: bool):
    try:
        row = account_admin.set_active(db_session(), current_user.row, user_id, active)
    except ServiceError as exc:
        if exc.status == 404:
            raise
        flash(exc.translated(_), "error")
        return redirect(url_for(".account", user_id=user_id))
    commit()
    flash(_("Đã mở lại tài khoản %(name)s.", name=row.username) if active else
          _("Đã khóa tài khoản %(name)s: mọi phiên đăng nhập và mã API của tài khoản đã kết thúc; bài làm vẫn được "
            "giữ nguyên.", name=row.username), "success")
    return redirect(url_for(".account", user_id=user_id))


@bp.route("/accounts/<int:user_id>/merge", methods=["POST"])
@role_required("admin")
def merge_account(user_id: int):
    """Merge this account into the one named by username: what would move, then (confirmed) the merge."""
    session = db_session()
    into = (request.form.get("into") or "").strip()
    target = account_admin.id_of(session, current_user.row, into) if into else None
    if target is None:
        flash(_("Không có tài khoản “%(name)s” để gộp vào.", name=into) if into else
              _("Hãy nhập tên đăng nhập của tài khoản được giữ lại."), "error")
        return _account_view(user_id, status=422)
    try:
        if request.form.get("confirm") != "1":
            plan = account_merge.plan_merge(session, current_user.row, user_id, target)
            return render_template("admin/account_merge.html", plan=plan)
        plan = account_merge.merge_accounts(session, current_user.row, user_id, target)
    except ServiceError as exc:
        if exc.status == 404:
            raise
        session.rollback()
        flash(exc.translated(_), "error")
        return _account_view(user_id, status=exc.status)
    commit()
    flash(_("Đã gộp “%(source)s” vào “%(target)s”; “%(source)s” đã bị khóa.", source=plan.source,
            target=plan.target), "success")
    return redirect(url_for(".account", user_id=plan.target_id))


@bp.route("/accounts/<int:user_id>/password", methods=["POST"])
@role_required("admin")
def reset_password(user_id: int):
    person, password = accounts_service.reset_password(db_session(), current_user.row, user_id)
    commit()
    response = make_response(render_template("admin/password_reset.html", person=person, password=password))
    response.headers["Cache-Control"] = "no-store"     # the password is shown this once
    return response


@bp.route("/accounts/<int:user_id>/tokens")
@role_required("admin")
def account_tokens(user_id: int):
    """Someone's live API tokens, to revoke one that leaked (a new password revokes them all)."""
    account_admin.account(db_session(), current_user.row, user_id)     # a provincial organiser: their province's
    tokens = credentials.tokens_of(db_session(), current_user.row, user_id)
    return render_template("admin/account_tokens.html", tokens=tokens,
                           person=credentials.holder(db_session(), current_user.row, user_id))


@bp.route("/accounts/<int:user_id>/tokens/<int:token_id>/revoke", methods=["POST"])
@role_required("admin")
def revoke_account_token(user_id: int, token_id: int):
    account_admin.account(db_session(), current_user.row, user_id)
    credentials.revoke_token(db_session(), current_user.row, token_id, user_id=user_id)
    commit()
    flash(_("Đã thu hồi mã truy cập."), "success")
    return redirect(url_for(".account_tokens", user_id=user_id))


# Exports: organisers and lecturers

@bp.route("/cohorts/<int:cohort_id>/grades.csv")
@role_required(*READERS)
def grades_csv(cohort_id: int):
    # headers and states in the reader's language; the service only receives the gettext
    columns, rows = exports.grade_rows(db_session(), current_user.row, cohort_id, gettext=_)
    return downloads.export(exports.csv_chunks(columns, rows), "text/csv; charset=utf-8",
                            f"caselab-cohort-{cohort_id}-grades.csv")


@bp.route("/cohorts/<int:cohort_id>/grades.xlsx")
@role_required(*READERS)
def grades_xlsx(cohort_id: int):
    columns, rows = exports.grade_rows(db_session(), current_user.row, cohort_id, gettext=_)
    return downloads.export(exports.xlsx_chunks(columns, rows, _("Bảng điểm")), XLSX,
                            f"caselab-cohort-{cohort_id}-grades.xlsx")


@bp.route("/cohorts/<int:cohort_id>/essays.zip")
@role_required(*READERS)
def essays_zip(cohort_id: int):
    return downloads.export(exports.essays_zip_chunks(db_session(), current_user.row, cohort_id),
                            "application/zip", f"caselab-cohort-{cohort_id}-essays.zip")


# Background jobs: what waits, runs and failed; retrying what failed

@bp.route("/jobs")
@role_required("admin")
def jobs():
    session = db_session()
    after = request.args.get("after", type=int)
    overview = job_status.overview(session, current_user.row)
    waited = overview.oldest_waiting_seconds
    page = job_status.failed_jobs(session, current_user.row, after_id=after)
    return render_template("admin/jobs.html", overview=overview, after=after, page=page,
                           titles={job.id: job.translated(_) for job in page.jobs},
                           waited=None if waited is None else timedelta(seconds=waited),
                           rate=format_decimal(overview.checks_per_minute))


@bp.route("/jobs/<int:job_id>/retry", methods=["POST"])
@role_required("admin")
def retry_job(job_id: int):
    try:
        job = job_status.retry_job(db_session(), current_user.row, job_id)
    except ServiceError as exc:
        flash(exc.translated(_), "error")
        return redirect(url_for(".jobs"))
    commit()                            # the job is handed to its runner once this commits
    flash(_("Đã đưa việc “%(job)s” trở lại hàng chờ.", job=job.translated(_)), "success")
    return redirect(url_for(".jobs"))


@bp.route("/jobs/retry-failed", methods=["POST"])
@role_required("admin")
def retry_failed_jobs():
    session = db_session()
    retried = job_status.retry_all_failed(session, current_user.row, request.form.get("queue") or None)
    commit()
    if retried:
        flash(_("Đã đưa %(n)s việc lỗi trở lại hàng chờ.", n=retried), "success")
    left = job_status.failed_count(session, current_user.row)
    if left:
        flash(_("Còn %(n)s việc lỗi chưa chạy lại: đã có việc giống hệt đang chờ, hoặc vượt số việc chạy lại "
                "được trong một lần bấm.", n=left), "info" if retried else "error")
    elif not retried:
        flash(_("Không có việc lỗi nào cần chạy lại."), "info")
    return redirect(url_for(".jobs"))
