# SPDX-License-Identifier: AGPL-3.0-or-later
"""A one-question poll (bình chọn nhanh) as a CaseLab unit type, from a package of its own.

A scenario asks for it under ``units:``::

    units:
      poll:
        question: Việc nào xã cần làm trước tiên?
        options:
          - {id: a, text: Rà soát lại hồ sơ}
          - {id: b, text: Đối thoại với các hộ dân}
        show_results: after_vote        # or: always, after_close

Each person has one vote and may change it while the poll is open; a lecturer
closes the poll (and may open it again). Everything the poll keeps goes through
CaseLab's per-unit records (``ctx.records``): one record "vote" per person, one
shared record "closed" and a shared counter "version". The poll has no tables,
no routes and no host code: CaseLab's web app, JSON API and ``caselab_unit``
Open edX block play it through the contract of ``lms_plugin.units.spec``.
"""
from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from lms_plugin.hookspecs import hookimpl
from lms_plugin.services.errors import Forbidden, Invalid
from lms_plugin.units.spec import STAFF, Action, Table, UnitContext, UnitScore, UnitType

HERE = Path(__file__).resolve().parent
SHOW_RESULTS = ("after_vote", "always", "after_close")
VOTE = "vote"          # a person's record: the id of the option they chose
CLOSED = "closed"      # shared record: a lecturer closed the poll
VERSION = "version"    # shared counter, bumped by every vote and every close


def N_(msgid: str) -> str:
    """Marks a Vietnamese msgid that a host translates (CaseLab's catalogue does not have the poll's: they
    show in Vietnamese in every language)."""
    return msgid


class OptionSchema(Schema):
    id = fields.String(required=True, validate=validate.Regexp(r"^[A-Za-z0-9_-]{1,20}$",
                                                               error="letters, digits, '-' or '_', at most 20"))
    text = fields.String(required=True, validate=validate.Length(min=1, max=300))


class PollSchema(Schema):
    """The ``units.poll`` section of a scenario."""
    question = fields.String(required=True, validate=validate.Length(min=1, max=500))
    options = fields.List(fields.Nested(OptionSchema), required=True, validate=validate.Length(min=2, max=10))
    show_results = fields.String(load_default="after_vote", validate=validate.OneOf(SHOW_RESULTS))

    @validates_schema
    def _unique_ids(self, data: dict[str, Any], **kwargs: Any) -> None:
        ids = [option["id"] for option in data.get("options") or ()]
        twice = sorted({i for i in ids if ids.count(i) > 1})
        if twice:
            raise ValidationError(f"option ids must be unique: {', '.join(twice)}", "options")


class VoteSchema(Schema):
    option = fields.String(required=True, validate=validate.Length(min=1, max=20))


class CloseSchema(Schema):
    closed = fields.Boolean(load_default=True)


def _percent(votes: int, total: int) -> int:
    return round(100 * votes / total) if total else 0


class PollUnit(UnitType):
    type_id = "poll"
    title = N_("Bình chọn nhanh")
    content_schema = PollSchema                 # content_key None: the scenario's units.poll
    template_folder = str(HERE / "templates")
    templates = {"learner": "poll/learner.html", "staff": "poll/staff.html"}
    static_folder = str(HERE / "static")
    styles = ("poll.css",)
    live_seconds = 10                           # others' votes reach an open page within seconds
    actions = {
        "vote": Action("vote", VoteSchema),
        # closing and reopening is the lecturer's, and stays possible after the deadline
        "close": Action("close", CloseSchema, STAFF, open_only=False),
    }

    # --- content -------------------------------------------------------------------------------

    def _options(self, spec: Any) -> list[dict[str, str]]:
        return [{"id": o["id"], "text": o["text"]} for o in (spec or {}).get("options", ())]

    def public_view(self, scenario: Any) -> dict[str, Any]:
        spec = self.content(scenario) or {}
        return {"question": spec.get("question", ""), "options": self._options(spec),
                "show_results": spec.get("show_results", "after_vote")}

    # --- a person at the poll ------------------------------------------------------------------

    def _state(self, ctx: UnitContext, *, staff: bool) -> dict[str, Any]:
        spec = self.content(ctx.scenario) or {}
        show = spec.get("show_results", "after_vote")
        mine = None if staff else ctx.records.get(VOTE)
        poll_closed = bool(ctx.records.get(CLOSED, shared=True))
        over = poll_closed or ctx.closed
        visible = staff or show == "always" or (show == "after_vote" and (mine is not None or over)) or \
            (show == "after_close" and over)
        options = self._options(spec)
        state: dict[str, Any] = {
            "question": spec.get("question", ""), "show_results": show, "my_vote": mine,
            "my_vote_text": next((o["text"] for o in options if o["id"] == mine), None),
            "poll_closed": poll_closed, "can_vote": not staff and not over, "results_visible": visible,
            "total": None, "options": options,
        }
        if visible:                 # the tally is not sent at all while it is hidden
            tally = ctx.records.tally(VOTE)
            total = sum(tally.get(o["id"], 0) for o in options)
            state["total"] = total
            state["options"] = [{**o, "votes": tally.get(o["id"], 0),
                                 "percent": _percent(tally.get(o["id"], 0), total)} for o in options]
        return state

    def learner_state(self, ctx: UnitContext) -> dict[str, Any]:
        return self._state(ctx, staff=False)

    def staff_state(self, ctx: UnitContext) -> dict[str, Any]:
        return self._state(ctx, staff=True)

    def score(self, ctx: UnitContext) -> UnitScore:
        # ungraded: taking part is what counts
        return UnitScore(0.0, 0.0, completed=ctx.records.get(VOTE) is not None)

    def version(self, ctx: UnitContext) -> str:
        # The counter moves with every vote and close; the tally's digest as well, because two votes at the same
        # moment may both write the same next number.
        counter = ctx.records.get(VERSION, shared=True) or 0
        tally = ",".join(f"{k}={v}" for k, v in sorted(ctx.records.tally(VOTE).items()))
        digest = hashlib.sha256(tally.encode()).hexdigest()[:12]
        return f"{counter}-{digest}" + ("-closed" if ctx.closed else "")

    # --- actions -------------------------------------------------------------------------------

    def vote(self, ctx: UnitContext, option: str) -> None:
        if option not in {o["id"] for o in self._options(self.content(ctx.scenario))}:
            raise Invalid(N_("Câu hỏi không có phương án này"), {"option": ["unknown option"]})
        if ctx.records.get(CLOSED, shared=True):
            raise Forbidden(N_("Cuộc bình chọn đã đóng"))
        if ctx.records.get(VOTE) != option:
            ctx.records.put(VOTE, option)
            ctx.records.bump(VERSION)

    def close(self, ctx: UnitContext, closed: bool) -> None:
        ctx.records.put(CLOSED, closed, shared=True)
        ctx.records.bump(VERSION)

    # --- for the lecturer ----------------------------------------------------------------------

    def progress(self, ctx: UnitContext) -> dict[str, int]:
        return {N_("Số người đã bình chọn"): sum(ctx.records.tally(VOTE).values())}

    def export(self, ctx: UnitContext) -> Table:
        options = self._options(self.content(ctx.scenario))
        tally = ctx.records.tally(VOTE)
        total = sum(tally.get(o["id"], 0) for o in options)
        rows = [(o["id"], o["text"], tally.get(o["id"], 0), _percent(tally.get(o["id"], 0), total)) for o in options]
        return Table((N_("Mã phương án"), N_("Phương án"), N_("Số phiếu"), N_("Tỉ lệ (%)")), rows)


@hookimpl
def caselab_unit_types() -> list[type[UnitType]]:
    return [PollUnit]
