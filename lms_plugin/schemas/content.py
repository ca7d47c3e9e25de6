"""One marshmallow schema per file format: course, scenario, rubric.

Loading gives core dataclasses; dumping gives the plain data that, written
as YAML, loads back to an equal object (tests/schemas check the round trip).
"""
from __future__ import annotations

from dataclasses import replace
from typing import Any

from marshmallow import Schema, ValidationError, fields, post_dump, post_load, validate

from ..core.courses import Course, Topic
from ..core.essays import same_heading
from ..core.rubrics import Criterion, Level, Rubric
from ..core.scenarios import Attachment, Choice, DiscussionSpec, EssaySpec, Scenario, Stage
from ..sanitize import render_markdown
from ..units import registry

_ID = validate.Regexp(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$",
                      error="use letters, digits, '-', '_' or '.' (no spaces or diacritics)")
_TEXT = validate.Length(min=1, error="must not be empty")


class TopicId(fields.Field):
    """A topic id is a whole number or a short string, as the course file says."""

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, bool) or not isinstance(value, (int, str)) or value == "":
            raise ValidationError("must be a whole number or a short name")
        return value

    def _serialize(self, value, attr, obj, **kwargs):
        return value


class _Base(Schema):
    """Drops empty optional values on dump so written files stay minimal."""

    @post_dump
    def _drop_empty(self, data, **kwargs):
        return {k: v for k, v in data.items() if v is not None and v != [] and v != ""}


class TopicSchema(_Base):
    id = TopicId(required=True)
    title = fields.String(required=True, validate=_TEXT)
    description = fields.String(load_default="")

    @post_load
    def make(self, data, **kwargs):
        return Topic(**data)


class CourseSchema(_Base):
    id = fields.String(required=True, validate=_ID)
    title = fields.String(required=True, validate=_TEXT)
    description = fields.String(load_default="")
    topics = fields.List(fields.Nested(TopicSchema), required=True, validate=validate.Length(min=1))

    @post_load
    def make(self, data, **kwargs):
        return Course(**{**data, "topics": tuple(data["topics"])})


class ChoiceSchema(_Base):
    id = fields.String(required=True, validate=_ID)
    text = fields.String(required=True, validate=_TEXT)
    feedback = fields.String(required=True, validate=_TEXT)
    points = fields.Float(load_default=0, validate=validate.Range(min=0))
    next = fields.String(load_default=None)

    @post_load
    def make(self, data, **kwargs):
        return Choice(**data)


class StageSchema(_Base):
    id = fields.String(required=True, validate=_ID)
    prompt = fields.String(required=True, validate=_TEXT)
    choices = fields.List(fields.Nested(ChoiceSchema), load_default=list)

    @post_load
    def make(self, data, **kwargs):
        return Stage(**{**data, "choices": tuple(data["choices"])})


class AttachmentSchema(_Base):
    file = fields.String(required=True, validate=_TEXT)
    title = fields.String(required=True, validate=_TEXT)

    @post_load
    def make(self, data, **kwargs):
        return Attachment(**data)


class DiscussionSchema(_Base):
    prompt = fields.String(required=True, validate=_TEXT)
    group_report = fields.Boolean(load_default=False)
    rubric = fields.String(load_default=None, validate=_ID)

    @post_load
    def make(self, data, **kwargs):
        return DiscussionSpec(**data)


class EssaySpecSchema(_Base):
    prompt = fields.String(required=True, validate=_TEXT)
    rubric = fields.String(required=True, validate=_ID)
    min_words = fields.Integer(load_default=0, validate=validate.Range(min=0))
    max_words = fields.Integer(load_default=None, validate=validate.Range(min=1))
    recommendations_section = fields.String(load_default=None)
    sections = fields.List(fields.String(validate=_TEXT), load_default=list)
    recommendations_check = fields.String(load_default="refuse", validate=validate.OneOf(["refuse", "warn"]))

    @post_load
    def make(self, data, **kwargs):
        if data["max_words"] is not None and data["max_words"] < data["min_words"]:
            raise ValidationError("must not be below min_words", "max_words")
        wanted = data["recommendations_section"]
        if wanted and data["sections"] and not any(same_heading(h, wanted) for h in data["sections"]):
            raise ValidationError(f"must include the recommendations_section '{wanted}'", "sections")
        return EssaySpec(**{**data, "sections": tuple(data["sections"])})

    @post_dump
    def _default_check(self, data, **kwargs):
        if data.get("recommendations_check") == "refuse":
            data.pop("recommendations_check")
        return data


class ScenarioSchema(_Base):
    id = fields.String(required=True, validate=_ID)
    version = fields.Integer(required=True, validate=validate.Range(min=1))
    topic = TopicId(required=True)
    title = fields.String(required=True, validate=_TEXT)
    summary = fields.String(load_default="")
    context = fields.String(load_default="")
    attachments = fields.List(fields.Nested(AttachmentSchema), load_default=list)
    stages = fields.List(fields.Nested(StageSchema), required=True, validate=validate.Length(min=1))
    discussion = fields.Nested(DiscussionSchema, load_default=None)
    essay = fields.Nested(EssaySpecSchema, load_default=None)
    allow_cycles = fields.Boolean(load_default=False)
    allow_retry = fields.Boolean(load_default=False)
    # sections of the unit types that plug in, each checked by its unit type's own schema
    units = fields.Dict(keys=fields.String(validate=_ID), values=fields.Raw(), load_default=dict)

    @post_load
    def make(self, data, **kwargs):
        data["units"] = unit_sections(data.get("units") or {})
        scenario = Scenario(**{**data, "stages": tuple(data["stages"]),
                               "attachments": tuple(data["attachments"])})
        # Sanitised once on load; every host shows this HTML.
        return replace(scenario, context_html=render_markdown(scenario.context))

    @post_dump
    def _defaults(self, data, **kwargs):
        for flag in ("allow_cycles", "allow_retry"):
            if data.get(flag) is False:
                data.pop(flag)
        if not data.get("units"):
            data.pop("units", None)
        return data


def unit_sections(raw: dict[str, Any]) -> dict[str, Any]:
    """``units:`` of a scenario, each section loaded by the schema its unit type declares."""
    known = registry.units()
    loaded: dict[str, Any] = {}
    errors: dict[str, Any] = {}
    for type_id, section in raw.items():
        unit = known.get(type_id)
        if unit is None or unit.content_key is not None:    # built-ins keep their top-level sections
            errors[type_id] = [f"unknown unit type '{type_id}' (installed: "
                               f"{', '.join(k for k, u in known.items() if u.content_key is None) or 'none'})"]
            continue
        schema = unit.content_schema
        if schema is None:
            loaded[type_id] = section if section is not None else {}
            continue
        try:
            loaded[type_id] = schema().load(section if section is not None else {})
        except ValidationError as exc:
            errors[type_id] = exc.messages
    if errors:
        raise ValidationError({"units": errors})
    return loaded


class LevelSchema(_Base):
    points = fields.Float(required=True, validate=validate.Range(min=0))
    label = fields.String(required=True, validate=_TEXT)
    descriptor = fields.String(load_default="")

    @post_load
    def make(self, data, **kwargs):
        return Level(**data)


class CriterionSchema(_Base):
    id = fields.String(required=True, validate=_ID)
    title = fields.String(required=True, validate=_TEXT)
    description = fields.String(load_default="")
    weight = fields.Float(load_default=1)
    levels = fields.List(fields.Nested(LevelSchema), required=True)

    @post_load
    def make(self, data, **kwargs):
        return Criterion(**{**data, "levels": tuple(data["levels"])})


class RubricSchema(_Base):
    id = fields.String(required=True, validate=_ID)
    version = fields.Integer(required=True, validate=validate.Range(min=1))
    title = fields.String(required=True, validate=_TEXT)
    description = fields.String(load_default="")
    scale = fields.Float(load_default=10, validate=validate.Range(min=0, min_inclusive=False))
    feedback = fields.String(load_default="optional", validate=validate.OneOf(["optional", "required"]))
    criteria = fields.List(fields.Nested(CriterionSchema), required=True)

    @post_load
    def make(self, data, **kwargs):
        return Rubric(**{**data, "criteria": tuple(data["criteria"])})
