"""Organiser/admin pages: cohorts, groups, roster import, accounts, exports, background jobs."""
from __future__ import annotations

import base64
import re
from datetime import datetime, timedelta, timezone

from flask import Blueprint, Response, flash, make_response, redirect, render_template, request, url_for
from flask_babel import format_decimal, gettext as _
from flask_login import current_user
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import DateField, SelectField, StringField
from wtforms.validators import DataRequired, Length, Optional

from ..services import (
    accounts as accounts_service,
    cohorts as cohort_service,
    credentials,
    directory,
    exports,
    job_status,
    roster,
)
from ..services.errors import ServiceError
from . import downloads
from .access import role_required
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
def import_roster(cohort_id: int):
    form = RosterForm()
    upload = request.files.get("file")
    if not form.validate_on_submit() or upload is None or not upload.filename:
        return _cohort_view(cohort_id, form, {"file": [_("Hãy chọn tệp .csv hoặc .xlsx")]}, 422)
    session = db_session()
    try:
        rows = roster.read_roster(upload.filename, upload.read())
    except ServiceError as exc:
        return _cohort_view(cohort_id, form, _errors_from(exc, "file"), exc.status)
    result = roster.import_roster(session, current_user.row, cohort_id, rows)
    commit()
    passwords = base64.b64encode(("\ufeff" + result.passwords_csv()).encode("utf-8")).decode("ascii")
    cohort = cohort_service.cohort_view(session, cohort_id)
    name = re.sub(r"[^\w.-]+", "-", cohort.name, flags=re.ASCII).strip("-")
    response = Response(render_template(
        "admin/roster_result.html", cohort=cohort, result=result,
        rejected=[(r.row, r.translated(_)) for r in result.rejected],
        passwords_href=f"data:text/csv;charset=utf-8;base64,{passwords}",
        passwords_name=f"mat-khau-{name or cohort_id}.csv"))
    response.headers["Cache-Control"] = "no-store"     # the passwords are shown this once
    return response


@bp.route("/accounts")
@role_required("admin")
def accounts():
    return render_template("admin/accounts.html", users=directory.accounts(db_session(), current_user.row,
                                                                            role=request.args.get("role") or None))


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
    tokens = credentials.tokens_of(db_session(), current_user.row, user_id)
    return render_template("admin/account_tokens.html", tokens=tokens,
                           person=credentials.holder(db_session(), current_user.row, user_id))


@bp.route("/accounts/<int:user_id>/tokens/<int:token_id>/revoke", methods=["POST"])
@role_required("admin")
def revoke_account_token(user_id: int, token_id: int):
    credentials.revoke_token(db_session(), current_user.row, token_id, user_id=user_id)
    commit()
    flash(_("Đã thu hồi mã truy cập."), "success")
    return redirect(url_for(".account_tokens", user_id=user_id))


# Exports: organisers and lecturers

def _download(body: bytes, mimetype: str, cohort_id: int, suffix: str) -> Response:
    response = downloads.attachment(body, mimetype, f"caselab-cohort-{cohort_id}-{suffix}")
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.route("/cohorts/<int:cohort_id>/grades.csv")
@role_required(*READERS)
def grades_csv(cohort_id: int):
    # headers and states in the reader's language; the service only receives the gettext
    table = exports.grade_table(db_session(), current_user.row, cohort_id, gettext=_)
    return _download(exports.grades_csv(table), "text/csv; charset=utf-8", cohort_id, "grades.csv")


@bp.route("/cohorts/<int:cohort_id>/grades.xlsx")
@role_required(*READERS)
def grades_xlsx(cohort_id: int):
    table = exports.grade_table(db_session(), current_user.row, cohort_id, gettext=_)
    return _download(exports.grades_xlsx(table, _("Bảng điểm")), XLSX, cohort_id, "grades.xlsx")


@bp.route("/cohorts/<int:cohort_id>/essays.zip")
@role_required(*READERS)
def essays_zip(cohort_id: int):
    return _download(exports.essays_zip(db_session(), current_user.row, cohort_id), "application/zip",
                     cohort_id, "essays.zip")


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
