"""The chief examiner's pages (trưởng ban chấm, a lecturer): allocation, the examiner pool, guarded release,
corrections and appeals for one assignment.

Nothing can stay stuck without showing here: the counts come from the kept
results, and every submission with a round that nobody holds is listed with a
form to name an examiner (or oneself).
"""
from __future__ import annotations

from functools import wraps

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from ..services import allocation, appeals, release as releases
from ..services.accounts import STAFF
from ..services.cohorts import assignment_view
from ..services.errors import Invalid, ServiceError
from .access import role_required
from .session import commit, db_session

bp = Blueprint("marking", __name__, url_prefix="/lecturer/marking")

SCOPES = ("assignment", "cohort", "course")


def _threshold() -> float:
    return float(current_app.config["GRADING_THRESHOLD"])


def _int(name: str) -> int:
    value = request.form.get(name, "")
    if not value.strip().isdigit() or len(value.strip()) > 12:
        raise Invalid("Hãy chọn một giá trị hợp lệ cho “%(name)s”", {name: ["not an integer"]}, name=name)
    return int(value)


def _back(assignment_id: int, anchor: str = ""):
    return redirect(url_for(".overview", assignment_id=assignment_id) + (f"#{anchor}" if anchor else ""))


def _flash_refusal(view):
    """A refused action goes back to the page it came from with the reason in the reader's language,
    instead of an error page: nothing was changed."""
    @wraps(view)
    def wrapped(assignment_id: int, **kwargs):
        try:
            return view(assignment_id, **kwargs)
        except ServiceError as exc:
            db_session().rollback()
            flash(exc.translated(_), "error")
            if view.__name__ == "release":
                return redirect(url_for(".release", assignment_id=assignment_id))
            return _back(assignment_id)
    return wrapped


@bp.route("/<int:assignment_id>")
@role_required(*STAFF)
def overview(assignment_id: int):
    session = db_session()
    row = assignment_view(session, assignment_id)
    view = allocation.allocation(session, current_user.row, assignment_id)
    return render_template("marking/overview.html", assignment=row, title=row.title,
                           view=view, examiners=allocation.examiner_choices(session, current_user.row),
                           appeals=appeals.appeals_of(session, current_user.row, assignment_id),
                           preview=releases.preview(session, current_user.row, assignment_id),
                           scopes=SCOPES)


@bp.route("/<int:assignment_id>/pool", methods=["POST"])
@role_required(*STAFF)
@_flash_refusal
def pool_add(assignment_id: int):
    scope = request.form.get("scope", "assignment")
    changed = allocation.add_to_pool(db_session(), current_user.row, assignment_id, _int("examiner"),
                                     scope=scope if scope in SCOPES else "assignment", threshold=_threshold())
    commit()
    flash(_("Đã thêm giám khảo vào %(n)s danh sách chấm", n=changed) if changed else
          _("Giám khảo này đã có trong danh sách chấm"), "success" if changed else "info")
    return _back(assignment_id, "pool")


@bp.route("/<int:assignment_id>/pool/<int:examiner_id>/absent", methods=["POST"])
@role_required(*STAFF)
@_flash_refusal
def pool_absent(assignment_id: int, examiner_id: int):
    absent = request.form.get("absent") == "1"
    moved = allocation.set_absent(db_session(), current_user.row, assignment_id, examiner_id, absent,
                                  threshold=_threshold())
    commit()
    if absent:
        flash(_("Đã đánh dấu vắng; %(n)s lượt chấm đang dở được chuyển cho người khác hoặc chờ phân công", n=moved),
              "success")
    else:
        flash(_("Giám khảo đã có mặt trở lại"), "success")
    return _back(assignment_id, "pool")


@bp.route("/<int:assignment_id>/pool/<int:examiner_id>/remove", methods=["POST"])
@role_required(*STAFF)
@_flash_refusal
def pool_remove(assignment_id: int, examiner_id: int):
    moved = allocation.remove_from_pool(db_session(), current_user.row, assignment_id, examiner_id,
                                        threshold=_threshold())
    commit()
    flash(_("Đã bỏ giám khảo khỏi danh sách chấm; %(n)s lượt chấm đang dở được chuyển", n=moved), "success")
    return _back(assignment_id, "pool")


@bp.route("/<int:assignment_id>/assign", methods=["POST"])
@role_required(*STAFF)
@_flash_refusal
def assign(assignment_id: int):
    essay_id, round_ = _int("essay"), _int("round")
    examiner = request.form.get("examiner", "")
    examiner_id = current_user.row.id if examiner == "me" else _int("examiner")
    allocation.assign_round(db_session(), current_user.row, essay_id, round_, examiner_id, threshold=_threshold())
    commit()
    if examiner_id == current_user.row.id:
        flash(_("Bạn đã nhận chấm bài này"), "success")
        return redirect(url_for("examiner.essay", essay_id=essay_id))
    flash(_("Đã phân công giám khảo"), "success")
    return _back(assignment_id, "waiting" if round_ != 4 else "appeals")


@bp.route("/<int:assignment_id>/release", methods=["GET", "POST"])
@role_required(*STAFF)
@_flash_refusal
def release(assignment_id: int):
    """GET shows what a release covers; POST with the confirmed count releases exactly that."""
    session = db_session()
    row = assignment_view(session, assignment_id)
    if request.method == "POST":
        expected = _int("expected")
        outcome = releases.release(session, current_user.row, assignment_id, expected=expected)
        commit()
        flash(_("Đã công bố %(n)s điểm và %(a)s kết quả phúc khảo", n=outcome.released, a=outcome.appeals),
              "success")
        return _back(assignment_id, "release")
    return render_template("marking/release.html", assignment=row, title=row.title,
                           preview=releases.preview(session, current_user.row, assignment_id))


@bp.route("/<int:assignment_id>/correct", methods=["POST"])
@role_required(*STAFF)
@_flash_refusal
def correct(assignment_id: int):
    essay_id = _int("essay")
    raw = (request.form.get("final") or "").replace(",", ".").strip()
    try:
        final = float(raw)
    except ValueError:
        raise Invalid("Điểm phải là một số", {"final": ["not a number"]}) from None
    releases.correct(db_session(), current_user.row, essay_id, final, request.form.get("reason", ""))
    commit()
    flash(_("Đã điều chỉnh điểm; học viên được thông báo nếu điểm đã công bố"), "success")
    return _back(assignment_id, "correct")
