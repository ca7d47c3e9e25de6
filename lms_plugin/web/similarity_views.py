"""Similarity pages: an essay beside the sources it shares passages with, and the reuse in a whole assignment.

The service decides who may see what (services/policy.py; examiners: only essays
they mark, never the authors, and of another cohort's essay only the excerpts
around the shared passages). Highlighting is built here as plain text pieces from the
passages' offsets, so the templates escape every character of the essays.
"""
from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app, render_template, request
from flask_babel import lazy_gettext
from flask_login import current_user
from wtforms import FloatField, Form
from wtforms.validators import InputRequired, NumberRange

from ..services import cohorts, essays, similarity
from ..services.accounts import STAFF
from .access import role_required
from .session import db_session

bp = Blueprint("similarity", __name__, url_prefix="/similarity")

Piece = tuple[str, int | None]       # text, and the passage number it belongs to (None: not shared)


def highlight(text: str, spans: list[tuple[int, int]]) -> list[Piece]:
    """``text`` cut at the spans' offsets; span i (1-based) marks its piece with i. Overlaps are clipped."""
    return _cut(text, [(number, start, end) for number, (start, end) in enumerate(spans, start=1)])


def _cut(text: str, numbered: list[tuple[int, int, int]]) -> list[Piece]:
    pieces: list[Piece] = []
    at = 0
    for number, start, end in sorted(numbered, key=lambda item: (item[1], item[2])):
        start, end = max(start, at, 0), min(end, len(text))
        if start >= end:
            continue
        if start > at:
            pieces.append((text[at:start], None))
        pieces.append((text[start:end], number))
        at = end
    if at < len(text):
        pieces.append((text[at:], None))
    return pieces


GAP: Piece = ("\n[…]\n", 0)          # passage number 0: text of the source left out


def excerpt_pieces(source: dict[str, Any]) -> list[Piece]:
    """Only the source's excerpts (the shared passages with a little context), numbered like the essay's
    passages, with a gap where text is left out."""
    spans = [(number, p[2], p[3]) for number, p in enumerate(source.get("passages") or [], start=1)]
    pieces: list[Piece] = []
    at = 0
    for part in source.get("excerpts") or []:
        start, end = part["start"], part["end"]
        if start > at:
            pieces.append(GAP)
        pieces += _cut(part["text"], [(n, a - start, b - start) for n, a, b in spans if a < end and b > start])
        at = end
    if at < (source.get("length") or 0):
        pieces.append(GAP)
    return pieces


def side_by_side(body: str, source: dict[str, Any]) -> dict[str, list[Piece]]:
    """The essay and one source, each with the passages they share marked and numbered alike; of a source
    the reader may not read whole (``text`` None), only its excerpts."""
    passages = source.get("passages") or []
    theirs = (excerpt_pieces(source) if source.get("text") is None
              else highlight(source["text"], [(p[2], p[3]) for p in passages]))
    return {"essay": highlight(body, [(p[0], p[1]) for p in passages]), "source": theirs}


def flag_score() -> float:
    return float(current_app.config["SIMILARITY_FLAG_SCORE"])


@bp.route("/essays/<int:essay_id>")
@role_required("examiner", *STAFF)
def essay(essay_id: int):
    session, me = db_session(), current_user.row
    report = similarity.report_for(session, me, essay_id)        # examiners: only essays they mark
    essay_row, _named = essays.readable_essay(session, me, essay_id)   # for the way back; the author is not read
    chosen = request.args.get("source", default=0, type=int)
    chosen = chosen if 0 <= chosen < len(report.sources) else 0
    compared = side_by_side(report.body, report.sources[chosen]) if report.sources else None
    return render_template("similarity/essay.html", report=report, chosen=chosen, compared=compared,
                           assignment_id=essay_row.assignment_id,
                           title=cohorts.assignment_view(session, essay_row.assignment_id).title)


class ThresholdForm(Form):
    min = FloatField(validators=[InputRequired(lazy_gettext("Hãy nhập ngưỡng")),
                                 NumberRange(0.01, 1, lazy_gettext("Ngưỡng là một số từ 0,01 đến 1"))])


@bp.route("/assignments/<int:assignment_id>")
@role_required(*STAFF)
def cohort(assignment_id: int):
    session = db_session()
    form = ThresholdForm(request.args, min=flag_score())
    valid = "min" not in request.args or form.validate()
    view = similarity.cohort_view(session, current_user.row, assignment_id, form.min.data) if valid else None
    assignment = cohorts.assignment_view(session, assignment_id)
    return render_template("similarity/cohort.html", form=form, view=view, assignment=assignment,
                           title=assignment.title), 200 if valid else 422
