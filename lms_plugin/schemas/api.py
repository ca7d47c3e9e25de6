"""marshmallow schemas for the JSON API (DESIGN §7): request bodies in, responses out.

Request schemas reject unknown fields (a typo in a script should fail loudly,
not be ignored). Response schemas dump the services' views; the OpenAPI
document is generated from these same classes (lms_plugin/web/openapi.py).
"""
from __future__ import annotations

from marshmallow import INCLUDE, RAISE, Schema, ValidationError, fields, validate, validates_schema

_NON_EMPTY = validate.Length(min=1)
MAX_INT = 2**31 - 1        # ids and counts are INTEGER columns (PostgreSQL: 4 bytes); the same bound on SQLite


class UTCDateTime(fields.DateTime):
    """A time in a response: ISO 8601 with its offset (+00:00: the store hands back aware UTC times)."""


class Id(fields.Integer):
    """A row id in a request body: 1..MAX_INT (a larger number names nothing and would overflow the driver)."""

    def __init__(self, **kwargs):
        kwargs.setdefault("validate", validate.Range(min=1, max=MAX_INT))
        super().__init__(**kwargs)


class _Body(Schema):
    class Meta:
        unknown = RAISE

    @validates_schema
    def _integers_fit_the_store(self, data, **_kwargs):
        """Every integer of every body, ids or not, fits the database's INTEGER."""
        for name, value in data.items():
            if isinstance(value, int) and not isinstance(value, bool) and not -MAX_INT - 1 <= value <= MAX_INT:
                raise ValidationError(f"Must be between {-MAX_INT - 1} and {MAX_INT}.", name)


# ---- request bodies ---------------------------------------------------------------------------

class TokenRequestSchema(_Body):
    username = fields.String(required=True, validate=validate.Length(min=1, max=80))
    password = fields.String(required=True, validate=validate.Length(min=1, max=200))


class StartAttemptSchema(_Body):
    retry = fields.Boolean(load_default=False,
                           metadata={"description": "Begin a new attempt after an ending (if retries are allowed)."})


class ChoiceRequestSchema(_Body):
    stage = fields.String(required=True, validate=_NON_EMPTY, metadata={"description": "The current stage's id."})
    choice = fields.String(required=True, validate=_NON_EMPTY)


class PostRequestSchema(_Body):
    body = fields.String(required=True, metadata={"description": "HTML or text; sanitised before it is stored."})
    parent_id = Id(load_default=None, allow_none=True, metadata={"description": "The post this one answers."})


class ReportRequestSchema(_Body):
    body = fields.String(required=True)
    revision = fields.Integer(required=True, validate=validate.Range(min=0),
                              metadata={"description": "The revision this text was based on (0 for the first)."})


class EssayBodySchema(_Body):
    body = fields.String(required=True, metadata={"description": "Plain text, stored exactly as sent."})


class AnnotationRequestSchema(_Body):
    """An inline comment on a passage of the essay."""
    start = fields.Integer(required=True, validate=validate.Range(min=0),
                           metadata={"description": "Offset of the passage in the essay body, in Unicode code "
                                                    "points (as Python counts them; a character outside the BMP "
                                                    "counts once)."})
    end = fields.Integer(required=True, validate=validate.Range(min=1),
                         metadata={"description": "Offset just after the passage (code points)."})
    quote = fields.String(load_default=None, allow_none=True,
                          metadata={"description": "The passage, body[start:end]; refused (422) when it differs."})
    comment = fields.String(required=True, validate=validate.Length(max=5000))


class AppealRequestSchema(_Body):
    reason = fields.String(required=True, validate=validate.Length(max=5000),
                           metadata={"description": "Why the author asks for a re-marking (phúc khảo)."})


class GradeRequestSchema(_Body):
    scores = fields.Dict(keys=fields.String(), values=fields.Float(), required=True,
                         metadata={"description": "Criterion id → the points of the chosen level."})
    comments = fields.Dict(keys=fields.String(), values=fields.String(), load_default=dict,
                           metadata={"description": "Criterion id → comment (required by some rubrics)."})
    comment = fields.String(load_default="")
    final = fields.Boolean(load_default=False,
                           metadata={"description": "Finalise: the mark can no longer be changed."})


# ---- responses --------------------------------------------------------------------------------

class ErrorSchema(Schema):
    error = fields.String(required=True)
    fields_ = fields.Dict(data_key="fields", attribute="fields", keys=fields.String(),
                          values=fields.List(fields.String()), required=True,
                          metadata={"description": "Field path → messages."})


class TokenSchema(Schema):
    token = fields.String(required=True, metadata={"description": "Shown this once; valid for TOKEN_DAYS days "
                                                                  "(30 by default) or until revoked."})


class TokenInfoSchema(Schema):
    id = fields.Integer(required=True)
    created_at = UTCDateTime(required=True)
    expires_at = UTCDateTime(required=True)
    last_used_at = UTCDateTime(required=True, allow_none=True,
                               metadata={"description": "Written at most once every five minutes."})
    current = fields.Boolean(required=True, metadata={"description": "The token this request was sent with."})


class TokenListSchema(Schema):
    tokens = fields.List(fields.Nested(TokenInfoSchema), required=True,
                         metadata={"description": "The caller's live tokens (not expired, not revoked), newest first."})


class ScenarioRefSchema(Schema):
    id = fields.String(required=True, metadata={"description": "The scenario's id (slug)."})
    title = fields.String(required=True)
    topic = fields.String(required=True)
    version = fields.Integer(required=True)


class GroupRefSchema(Schema):
    id = fields.Integer(required=True)
    name = fields.String(required=True)


class AssignmentSchema(Schema):
    id = fields.Integer(required=True)
    scenario = fields.Nested(ScenarioRefSchema, required=True)
    group = fields.Nested(GroupRefSchema, allow_none=True, required=True)
    opens_at = UTCDateTime(allow_none=True, required=True)
    closes_at = UTCDateTime(allow_none=True, required=True)
    state = fields.String(required=True, validate=validate.OneOf(["not_open", "open", "closed"]))
    grades_released = fields.Boolean(required=True)


class AssignmentListSchema(Schema):
    assignments = fields.List(fields.Nested(AssignmentSchema), required=True)


class ChoiceSchema(Schema):
    id = fields.String(required=True)
    text = fields.String(required=True)


class StageSchema(Schema):
    id = fields.String(required=True)
    prompt = fields.String(required=True, metadata={"description": "Markdown text."})
    ending = fields.Boolean(required=True)
    choices = fields.List(fields.Nested(ChoiceSchema), required=True)


class StepSchema(Schema):
    stage = fields.String(required=True)
    prompt = fields.String(required=True)
    choice = fields.String(required=True)
    choice_text = fields.String(required=True)
    feedback = fields.String(required=True)
    points = fields.Float(required=True)


class AttemptSchema(Schema):
    id = fields.Integer(required=True)
    assignment_id = fields.Integer(required=True)
    number = fields.Integer(required=True)
    stage = fields.Nested(StageSchema, allow_none=True, required=True)
    path = fields.List(fields.Nested(StepSchema), required=True)
    points = fields.Float(required=True)
    max_points = fields.Float(required=True)
    score = fields.Float(required=True, metadata={"description": "0..1"})
    finished = fields.Boolean(required=True)
    can_retry = fields.Boolean(required=True)


class ChoiceOutcomeSchema(Schema):
    feedback = fields.String(required=True)
    points = fields.Float(required=True)
    score = fields.Float(required=True)
    finished = fields.Boolean(required=True)
    stage = fields.Nested(StageSchema, allow_none=True, required=True,
                          metadata={"description": "The next stage; an ending when the case is over."})


class PostSchema(Schema):
    id = fields.Integer(required=True)
    parent_id = fields.Integer(allow_none=True, required=True)
    author = fields.String(required=True)
    author_id = fields.Integer(required=True)
    body = fields.String(required=True, metadata={"description": "Sanitised HTML; empty for a hidden post."})
    created_at = UTCDateTime(required=True)
    edited_at = UTCDateTime(allow_none=True, required=True)
    hidden = fields.Boolean(required=True)
    hidden_reason = fields.String(allow_none=True, required=True)
    edits = fields.Integer(required=True)


class PostListSchema(Schema):
    posts = fields.List(fields.Nested(PostSchema), required=True)


class ReportSchema(Schema):
    assignment_id = fields.Integer(required=True)
    group_id = fields.Integer(required=True)
    body = fields.String(required=True, metadata={"description": "Sanitised HTML."})
    revision = fields.Integer(required=True)
    updated_at = UTCDateTime(allow_none=True, required=True)
    updated_by = fields.String(allow_none=True, required=True)
    submitted_at = UTCDateTime(allow_none=True, required=True)
    submitted_by = fields.String(allow_none=True, required=True)
    sha256 = fields.String(allow_none=True, required=True)


class DraftSavedSchema(Schema):
    saved_at = UTCDateTime(allow_none=True, required=True)
    words = fields.Integer(required=True)


class DraftSchema(DraftSavedSchema):
    body = fields.String(required=True)


class ReceiptSchema(Schema):
    id = fields.Integer(required=True)
    assignment_id = fields.Integer(required=True)
    version = fields.Integer(required=True)
    submitted_at = UTCDateTime(required=True)
    sha256 = fields.String(required=True, metadata={"description": "SHA-256 of the UTF-8 body as stored."})
    words = fields.Integer(required=True)
    late = fields.Boolean(metadata={"description": "Submitted after the deadline under the accept_late policy."})
    auto_submitted = fields.Boolean(metadata={"description": "A draft submitted for its author at the deadline."})


class AuthorSchema(Schema):
    id = fields.Integer(required=True)
    username = fields.String(required=True)
    display_name = fields.String(required=True)
    province = fields.String(required=True)
    commune = fields.String(required=True)


class EssaySchema(ReceiptSchema):
    body = fields.String(required=True)
    author = fields.Nested(AuthorSchema, metadata={"description": "Absent for examiners (blind marking)."})


class LevelSchema(Schema):
    points = fields.Float(required=True)
    label = fields.String(required=True)
    descriptor = fields.String(required=True)


class CriterionSchema(Schema):
    id = fields.String(required=True)
    title = fields.String(required=True)
    weight = fields.Float(required=True)
    description = fields.String(required=True)
    levels = fields.List(fields.Nested(LevelSchema), required=True)


class RubricSchema(Schema):
    id = fields.String(required=True)
    version = fields.Integer(required=True)
    title = fields.String(required=True)
    scale = fields.Float(required=True)
    feedback = fields.String(required=True, validate=validate.OneOf(["optional", "required"]))
    criteria = fields.List(fields.Nested(CriterionSchema), required=True)


class QueueRubricSchema(RubricSchema):
    key = fields.Integer(required=True, metadata={"description": "What the page's items name in `rubric_key`."})


class QueueItemSchema(Schema):
    essay_id = fields.Integer(required=True)
    assignment_id = fields.Integer(required=True)
    round = fields.Integer(required=True)
    kind = fields.String(required=True, validate=validate.OneOf(["essay", "report"]))
    scenario_title = fields.String(required=True)
    words = fields.Integer(required=True)
    submitted_at = UTCDateTime(required=True)
    status = fields.String(required=True, validate=validate.OneOf(["todo", "draft", "final"]))
    total = fields.Float(allow_none=True, required=True)
    result_status = fields.String(allow_none=True, required=True,
                                  validate=validate.OneOf(["awaiting_marks", "needs_third", "final"]),
                                  metadata={"description": "Where the essay's double marking stands."})
    rubric_key = fields.Integer(required=True, metadata={"description": "Its rubric in the page's `rubrics`."})


class QueueCountsSchema(Schema):
    all = fields.Integer(required=True)
    todo = fields.Integer(required=True, metadata={"description": "Rounds not yet finalised."})
    marked = fields.Integer(required=True, metadata={"description": "Rounds finalised."})
    third = fields.Integer(required=True, metadata={"description": "Essays waiting for a third examiner."})


class QueueSchema(Schema):
    filter = fields.String(required=True, validate=validate.OneOf(["all", "todo", "marked", "third"]))
    items = fields.List(fields.Nested(QueueItemSchema), required=True)
    rubrics = fields.List(fields.Nested(QueueRubricSchema), required=True,
                          metadata={"description": "Each rubric of the page's items, once."})
    next_cursor = fields.String(allow_none=True, required=True,
                                metadata={"description": "Send it as `cursor` for the next page; null on the last."})
    counts = fields.Nested(QueueCountsSchema, required=True)


class GradeSavedSchema(Schema):
    total = fields.Float(required=True, metadata={"description": "This examiner's total on the rubric scale."})
    final = fields.Boolean(required=True)


class ReleaseSchema(Schema):
    assignment_id = fields.Integer(required=True)
    released_at = UTCDateTime(required=True)
    final_marks = fields.Integer(required=True, metadata={"description": "Final marks released by this call."})
    appeals = fields.Integer(metadata={"description": "Appeal outcomes released by this call."})


class CriterionResultSchema(Schema):
    id = fields.String(required=True)
    title = fields.String(required=True)
    description = fields.String(required=True)
    max_points = fields.Float(required=True)
    comments = fields.List(fields.String(), required=True,
                           metadata={"description": "The examiners' comments, without their names or points."})


class AnnotationSchema(Schema):
    id = fields.Integer(required=True)
    start = fields.Integer(required=True, metadata={"description": "Code-point offset in the essay body."})
    end = fields.Integer(required=True)
    quote = fields.String(required=True, metadata={"description": "body[start:end]"})
    comment = fields.String(required=True)


class AnnotationListSchema(Schema):
    annotations = fields.List(fields.Nested(AnnotationSchema), required=True,
                              metadata={"description": "The caller's own comments, in the order of the text."})


class ReleasedAnnotationSchema(Schema):
    start = fields.Integer(required=True, metadata={"description": "Code-point offset in the essay body."})
    end = fields.Integer(required=True)
    quote = fields.String(required=True)
    comment = fields.String(required=True)


class _AuthorAppealStatus(fields.String):
    """The author is told that the re-marking is under way until its outcome is released."""

    def _serialize(self, value, attr, obj, **kwargs):
        return super()._serialize("assigned" if value == "decided" else value, attr, obj, **kwargs)


class AuthorAppealSchema(Schema):
    status = _AuthorAppealStatus(required=True, validate=validate.OneOf(["submitted", "assigned", "released"]),
                                 metadata={"description": "submitted; assigned (being re-marked); released "
                                                          "(the outcome is known)."})
    reason = fields.String(required=True)
    created_at = UTCDateTime(required=True)
    previous = fields.Float(allow_none=True, required=True,
                            metadata={"description": "The mark before the appeal, once the outcome is released."})
    outcome = fields.Float(allow_none=True, required=True,
                           metadata={"description": "The mark after the appeal, once released."})


class GradeReportSchema(Schema):
    """The author's grade once released: no examiner's name or points, ever."""
    essay_id = fields.Integer(required=True)
    kind = fields.String(required=True, validate=validate.OneOf(["essay", "report"]))
    status = fields.String(required=True, validate=validate.OneOf(["awaiting_marks", "needs_third", "final"]))
    final = fields.Float(allow_none=True, required=True)
    scale = fields.Float(required=True)
    criteria = fields.List(fields.Nested(CriterionResultSchema), required=True)
    comments = fields.List(fields.String(), required=True)
    annotations = fields.List(fields.Nested(ReleasedAnnotationSchema), required=True,
                              metadata={"description": "Inline comments on passages of the essay body."})
    released_at = UTCDateTime(allow_none=True, required=True)
    corrected = fields.Boolean(required=True, metadata={"description": "The final mark was changed after "
                                                                     "marking (a correction or an appeal)."})
    correction_reason = fields.String(required=True)
    appeal = fields.Nested(AuthorAppealSchema, allow_none=True, required=True)
    appeal_until = UTCDateTime(allow_none=True, required=True,
                               metadata={"description": "An appeal may be filed until then; null: not (any more)."})


class SimilarityExcerptSchema(Schema):
    start = fields.Integer(required=True, metadata={"description": "Offset of the excerpt in the source."})
    end = fields.Integer(required=True)
    text = fields.String(required=True)


class SimilaritySourceSchema(Schema):
    kind = fields.String(required=True, validate=validate.OneOf(["essay", "reference"]))
    id = fields.Integer(required=True)
    title = fields.String(required=True)
    share = fields.Float(required=True, metadata={"description": "Share of the essay found in this source, 0..1."})
    score = fields.Float()
    paraphrase = fields.Float()
    passages = fields.List(fields.List(fields.Integer()), required=True,
                           metadata={"description": "[essay start, essay end, source start, source end] "
                                                    "character offsets."})
    text = fields.String(required=True, allow_none=True, metadata={
        "description": "The source's whole text, for side-by-side views; null where the caller may read only "
                       "the excerpts (an examiner, of an essay from another cohort)."})
    length = fields.Integer(required=True, metadata={"description": "The source's length in characters."})
    excerpts = fields.List(fields.Nested(SimilarityExcerptSchema), required=True, metadata={
        "description": "Each shared passage with up to 200 characters either side, cut at word boundaries."})


class SimilarityReportSchema(Schema):
    essay_id = fields.Integer(required=True)
    status = fields.String(required=True, validate=validate.OneOf(["pending", "done", "failed"]))
    score = fields.Float(allow_none=True, required=True, metadata={"description": "Share reused, 0..1."})
    paraphrase = fields.Float(allow_none=True, required=True)
    sources = fields.List(fields.Nested(SimilaritySourceSchema), required=True)
    finished_at = UTCDateTime(allow_none=True, required=True)


# ---- assignments: deadlines, late work, extensions (staff) ------------------------------------

_WHEN = "ISO 8601 with an offset, e.g. 2026-12-01T17:00:00+07:00."


class AssignmentPatchSchema(_Body):
    opens_at = fields.AwareDateTime(allow_none=True, metadata={"description": _WHEN + " null: open at once."})
    closes_at = fields.AwareDateTime(allow_none=True, metadata={
        "description": _WHEN + " null: no deadline. A later one reopens a closed assignment."})
    late_policy = fields.String(validate=validate.OneOf(["refuse", "accept_late"]), metadata={
        "description": "After the deadline: refuse essays, or accept them flagged as late."})
    auto_submit_drafts = fields.Boolean(metadata={"description": "At the deadline, submit unsubmitted drafts."})
    allow_retry = fields.Boolean()
    appeal_days = fields.Integer(validate=validate.Range(min=0, max=365),
                                 metadata={"description": "Days after a mark's release to ask for re-marking."})


class ExtensionRequestSchema(_Body):
    closes_at = fields.AwareDateTime(required=True, metadata={"description": "This cadre's deadline. " + _WHEN})
    reason = fields.String(load_default="", validate=validate.Length(max=500))


class AssignmentSettingsSchema(Schema):
    id = fields.Integer(required=True)
    opens_at = UTCDateTime(allow_none=True, required=True)
    closes_at = UTCDateTime(allow_none=True, required=True)
    late_policy = fields.String(required=True)
    auto_submit_drafts = fields.Boolean(required=True)
    allow_retry = fields.Boolean(required=True)
    appeal_days = fields.Integer(required=True)


class ExtensionSchema(Schema):
    user_id = fields.Integer(required=True)
    username = fields.String(required=True)
    closes_at = UTCDateTime(required=True)
    reason = fields.String(required=True)


class ExtensionListSchema(Schema):
    extensions = fields.List(fields.Nested(ExtensionSchema), required=True)


# Any unit type, played through its contract (services/units.py)

class UnitActionBodySchema(Schema):
    """An action's input: the fields the unit type's action declares (its own schema checks them)."""
    class Meta:
        unknown = INCLUDE


class UnitInfoSchema(Schema):
    type_id = fields.String()
    title = fields.String()
    graded = fields.Boolean()
    live_seconds = fields.Integer(allow_none=True)


class UnitListSchema(Schema):
    units = fields.List(fields.Nested(UnitInfoSchema))


class UnitScoreSchema(Schema):
    points = fields.Float()
    max_points = fields.Float()
    completed = fields.Boolean()


class UnitViewSchema(Schema):
    unit = fields.String()
    assignment_id = fields.Integer()
    view = fields.Dict(metadata={"description": "the unit's public view of its content"})
    state = fields.Dict(metadata={"description": "the caller's state in the unit (or the staff state)"})
    closed = fields.Boolean()
    version = fields.String(allow_none=True, metadata={"description": "also the ETag; send If-None-Match"})
    score = fields.Nested(UnitScoreSchema, allow_none=True)
