"""API bodies and answers for the chief examiner: allocation, the pool, release, corrections, appeals."""
from __future__ import annotations

from marshmallow import Schema, fields, validate

from .api import UTCDateTime, _Body

_ID = validate.Range(min=1, max=2**31 - 1)


class PoolAddSchema(_Body):
    examiner_id = fields.Integer(required=True, validate=_ID)
    scope = fields.String(load_default="assignment", validate=validate.OneOf(("assignment", "cohort", "course")),
                          metadata={"description": "Add to this assignment only, or to every assignment of its "
                                                   "cohort or course (a shared pool)."})


class PoolMemberPatchSchema(_Body):
    absent = fields.Boolean(required=True, metadata={"description": "An absent examiner gets no new work; their "
                                                                   "open rounds move to others."})


class AssignRoundSchema(_Body):
    examiner_id = fields.Integer(required=True, validate=_ID)


class ReleaseRequestSchema(_Body):
    expected = fields.Integer(load_default=None, validate=validate.Range(min=0, max=2**31 - 1),
                              metadata={"description": "The count from the preview that was confirmed; the "
                                                       "release is refused (409) if it would cover another number."})


class CorrectionSchema(_Body):
    final = fields.Float(required=True, validate=validate.Range(min=0, max=1000))
    reason = fields.String(required=True, validate=validate.Length(min=1, max=2000))


class PoolMemberSchema(Schema):
    examiner_id = fields.Integer()
    username = fields.String()
    name = fields.String()
    absent = fields.Boolean()
    open_rounds = fields.Integer()
    done_rounds = fields.Integer()
    done_last_day = fields.Integer()


class WaitingItemSchema(Schema):
    essay_id = fields.Integer()
    kind = fields.String()
    submitted_at = UTCDateTime()
    status = fields.String()
    stage = fields.String()
    unstaffed = fields.List(fields.Integer(), metadata={"description": "Rounds that nobody holds."})


class AllocationSchema(Schema):
    assignment_id = fields.Integer()
    counts = fields.Dict(keys=fields.String(), values=fields.Dict(keys=fields.String(), values=fields.Integer()),
                         metadata={"description": "kind (essay, report) -> state -> count"})
    pool = fields.List(fields.Nested(PoolMemberSchema))
    needs_examiner = fields.List(fields.Nested(WaitingItemSchema))
    needs_examiner_total = fields.Integer()


class ReleasePreviewSchema(Schema):
    assignment_id = fields.Integer()
    to_release = fields.Integer()
    already_released = fields.Integer()
    awaiting_marks = fields.Integer()
    needs_third = fields.Integer()
    needs_examiner = fields.Integer()
    not_submitted = fields.Integer()
    appeals_to_release = fields.Integer()
    reports_to_release = fields.Integer()
    first_release = fields.Boolean()


class ReleaseOutcomeSchema(Schema):
    assignment_id = fields.Integer()
    released = fields.Integer()
    appeals = fields.Integer()
    released_at = UTCDateTime()


class ResultSchema(Schema):
    essay_id = fields.Integer()
    status = fields.String()
    final = fields.Float(allow_none=True)
    needs_examiner = fields.Boolean()
    released_at = UTCDateTime(allow_none=True)


class AppealSchema(Schema):
    id = fields.Integer()
    essay_id = fields.Integer()
    author = fields.String()
    reason = fields.String()
    status = fields.String()
    previous_final = fields.Float(allow_none=True)
    outcome = fields.Float(allow_none=True)
    examiner = fields.String(allow_none=True)
    created_at = UTCDateTime()


class AppealListSchema(Schema):
    items = fields.List(fields.Nested(AppealSchema))
