"""What the three CaseLab blocks share: the store session, the learner, i18n, rendering and Studio editing.

The blocks are thin: a view gathers what a service returns and renders a
template; a handler parses its JSON body with marshmallow, calls a service in
one unit of work and returns JSON. Everything shared between people lives in
the CaseLab store; XBlock fields hold only settings and per-learner UI state.
"""
from __future__ import annotations

import functools
import json
from collections.abc import Callable
from datetime import datetime, timezone
from typing import Any

from marshmallow import EXCLUDE, Schema, ValidationError, fields, pre_load, validate
from web_fragments.fragment import Fragment
from webob import Response
from xblock.core import XBlock
from xblock.fields import DateTime, Integer, Scope, String
from xblock.utils.resources import ResourceLoader

from ..services import lms, runtime
from ..services.content import ScenarioData as Scenario
from ..services.errors import Forbidden, Invalid, ServiceError
from ..services.limits import MAX_JSON_DEPTH, json_depth
from ..settings import Settings, environment_of
from ..units import registry

loader = ResourceLoader(__name__)
SETTINGS_BUCKET = "caselab"       # XBLOCK_SETTINGS["caselab"] configures all three blocks
_loaded: dict[str, Settings] = {}   # a bucket (and environment) read once: every view and handler asks


def N_(msgid: str) -> str:
    """Marks a Vietnamese msgid for extraction (pybabel -k N_); translated when rendered."""
    return msgid


def when(moment: datetime | None) -> str:
    """A stored time (the store hands back aware UTC) as the blocks show it."""
    return moment.strftime("%d/%m/%Y %H:%M UTC") if moment else ""


def plain(value: Any) -> Any:
    """JSON-ready: datetimes as ISO strings, dataclass tuples as lists."""
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    return value


class EditSchema(Schema):
    """The Studio editor's form."""
    class Meta:
        unknown = EXCLUDE

    display_name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    scenario = fields.String(required=True, validate=validate.Length(min=1, max=120))
    version = fields.Integer(load_default=None, allow_none=True, validate=validate.Range(min=1))
    weight = fields.Float(load_default=None, allow_none=True, validate=validate.Range(min=0, max=1000))
    # Studio's datetime-local field is labelled UTC: a time typed without an offset is UTC
    deadline = fields.AwareDateTime(default_timezone=timezone.utc, load_default=None, allow_none=True)
    teamset = fields.String(load_default="", validate=validate.Length(max=200))
    unit_type = fields.String(load_default="", validate=validate.Length(max=60))

    @pre_load
    def _blanks(self, data, **kwargs):
        return {k: (None if v == "" and k in ("version", "weight", "deadline") else v) for k, v in (data or {}).items()}


class Empty(Schema):
    class Meta:
        unknown = EXCLUDE


def json_body(block: CaseLabBlock, request) -> dict[str, Any] | Response:
    """A handler's POSTed JSON object, or the 400/405 answer to send instead."""
    refused = block.gettext("Dữ liệu gửi lên không hợp lệ")
    if request.method != "POST":
        return block.error(405, refused)
    # XBlock's own json_handler would recurse into any nesting: bound it first (services/limits.py)
    raw = request.body or b"{}"
    if json_depth(raw) > MAX_JSON_DEPTH:
        return block.error(400, refused)
    try:
        data = json.loads(raw)
    except (ValueError, RecursionError):
        return block.error(400, refused)
    return data if isinstance(data, dict) else {}


def json_call(schema: type[Schema] = Empty):
    """A JSON handler in three steps: parse the body with ``schema``, call the method, return its dict.

    Bad input answers 400 with the fields at fault; a service's refusal answers
    its status (403, 404, 409, 422) with the message in the learner's language.
    """
    def decorate(method: Callable) -> Callable:
        @XBlock.handler
        @functools.wraps(method)
        def handler(self, request, suffix=""):
            data = json_body(self, request)
            if isinstance(data, Response):
                return data
            try:
                args = schema().load(data)
            except ValidationError as exc:
                return self.error(400, self.gettext("Dữ liệu gửi lên không hợp lệ"), exc.messages)
            try:
                answer = plain(method(self, **args))
            except ServiceError as exc:
                return self.error(exc.status, exc.translated(self.gettext), exc.fields)
            return Response(json.dumps(answer, ensure_ascii=False), content_type="application/json", charset="utf-8")
        return handler
    return decorate


COMMON_STRINGS = {
    "scenario": N_("Tình huống"), "version": N_("Phiên bản"), "latest": N_("mới nhất"),
    "topic": N_("Chuyên đề"), "deadline": N_("Hạn chót"), "weight": N_("Trọng số điểm"),
    "display_name": N_("Tên hiển thị"), "save": N_("Lưu"), "cancel": N_("Hủy"),
    "saving": N_("Đang lưu…"), "saved": N_("Đã lưu"), "closed": N_("Bài này đã hết hạn"),
    "no_scenario": N_("Chưa chọn tình huống cho khối này"),
    "teamset": N_("Bộ nhóm (teamset) Open edX"), "unit_type": N_("Loại phần học"),
    "error": N_("Có lỗi xảy ra; hãy thử lại"),
    "version_help": N_("Để trống: dùng phiên bản mới nhất khi học viên đầu tiên mở bài"),
    "teamset_help": N_("Để trống: dùng nhóm của học viên trong lớp CaseLab"),
}


@XBlock.needs("i18n", "user")
@XBlock.wants("settings", "teams")
class CaseLabBlock(XBlock):
    """Fields, store access and Studio editing common to the CaseLab blocks."""

    UNIT = ""                        # the unit type this block shows (lms_plugin.units registry)
    EDITABLE: tuple[str, ...] = ()   # fields the Studio editor offers
    STRINGS: dict[str, str] = {}     # the block's UI strings: key -> Vietnamese msgid
    block_settings_key = SETTINGS_BUCKET

    scenario = String(display_name=N_("Tình huống"), default="", scope=Scope.settings,
                      help="Id of the CaseLab scenario (the id: of its YAML file), e.g. t1-ton-dong-ho-so-dat-dai.")
    version = Integer(display_name=N_("Phiên bản"), default=None, scope=Scope.settings,
                      help="Scenario version to use; empty: the version the course run already uses, else the latest.")
    deadline = DateTime(display_name=N_("Hạn chót"), default=None, scope=Scope.settings,
                   help="After this moment (UTC) the block is read-only for learners.")

    # --- environment -----------------------------------------------------------------------

    def gettext(self, msgid: str, **params: Any) -> str:
        text = self.runtime.service(self, "i18n").gettext(msgid)
        return text % params if params else text

    def strings(self) -> dict[str, str]:
        return {key: self.gettext(msgid) for key, msgid in {**COMMON_STRINGS, **self.STRINGS}.items()}

    def settings_bucket(self) -> dict[str, Any]:
        service = self.runtime.service(self, "settings")
        return (service.get_settings_bucket(self) if service else None) or {}

    def caselab_settings(self) -> Settings:
        """``Settings.load(bucket)``: the bucket's keys over the CASELAB_* environment (docs/deployment.md); a bad
        value fails naming it. The blocks have no start-up of their own, and one LMS process serves every block
        from the same bucket: these become the process's settings, read by the services the blocks call."""
        bucket = self.settings_bucket()
        key = json.dumps([bucket, environment_of()], sort_keys=True, default=str)
        found = _loaded.get(key)
        if found is None:
            found = Settings.load(bucket)
            if len(_loaded) >= 16:       # buckets change only in tests; never grow without bound
                _loaded.clear()
            _loaded[key] = found
        runtime.configure(found)
        return found

    def sessions(self):
        return runtime.shared_sessions(self.caselab_settings().database_url)

    def run(self, work: Callable[[Any], Any]) -> Any:
        """``work(session)`` in one unit of work; once more if a concurrent first use won a unique key."""
        return runtime.retrying_unit_of_work(self.sessions(), work)

    def _user(self):
        return self.runtime.service(self, "user").get_current_user()

    def learner_id(self) -> str:
        """The learner's anonymous id: what CaseLab knows an LMS learner by."""
        attrs = self._user().opt_attrs
        if attrs.get("edx-platform.anonymous_user_id"):
            return str(attrs["edx-platform.anonymous_user_id"])
        if attrs.get("xblock-workbench.user_id"):
            return "workbench:" + str(attrs["xblock-workbench.user_id"])
        return "xblock:" + str(self.scope_ids.user_id)

    def is_staff(self) -> bool:
        attrs = self._user().opt_attrs
        return bool(attrs.get("edx-platform.user_is_staff") or getattr(self.runtime, "user_is_staff", False))

    def course_key(self):
        usage = self.scope_ids.usage_id
        return getattr(usage, "course_key", None) or getattr(usage, "context_key", None)

    def lms_course_id(self) -> str:
        key = self.course_key()
        return str(key) if key else self.caselab_settings().course_id

    def team(self) -> str | None:
        """Subclasses with groups name the learner's Open edX team here."""
        return None

    def place(self, session) -> lms.Placement:
        if not self.scenario:
            raise Invalid("Chưa chọn tình huống cho khối này")
        return lms.place_learner(
            session, external_id=self.learner_id(), display_name=self._user().full_name or "",
            lms_course_id=self.lms_course_id(), slug=self.scenario, version=self.version, team=self.team(),
            examiners=list(self.caselab_settings().examiners))

    def lms_due(self) -> datetime | None:
        """The subsection's due date (plus grace period) that the LMS hands down as inherited fields.

        Read through the field declarations, not attributes: the LMS declares
        ``due`` and ``graceperiod`` as fields, while the workbench only pins a
        plain ``due`` attribute to "now" on each handler call.
        """
        due_field = self.fields.get("due")
        due = due_field.read_from(self) if due_field is not None else None
        grace_field = self.fields.get("graceperiod")
        grace = grace_field.read_from(self) if grace_field is not None else None
        return due + grace if due and grace else due

    def past_due(self) -> bool:
        now = datetime.now(timezone.utc)
        return any(limit is not None and now >= limit for limit in (self.deadline, self.lms_due()))

    def require_open(self) -> None:
        if self.past_due():
            raise Forbidden("Bài này đã hết hạn")

    def scenario_data(self, session) -> Scenario:
        return lms.scenario(session, self.scenario, self.version)

    # --- rendering ---------------------------------------------------------------------------

    def render_html(self, template: str, **context: Any) -> str:
        return loader.render_django_template(f"templates/{template}", {"t": self.strings(), **context})

    def fragment(self, html: str, name: str | None = None, init: str | None = None,
                 args: dict[str, Any] | None = None) -> Fragment:
        """The HTML with the shared CSS, and the named block's CSS and JS (static/<name>.css|js)."""
        frag = Fragment(html)
        frag.add_css(loader.load_unicode("static/caselab.css"))
        if name:
            frag.add_css(loader.load_unicode(f"static/{name}.css"))
            frag.add_javascript(loader.load_unicode("static/handlers.js"))
            frag.add_javascript(loader.load_unicode(f"static/{name}.js"))
            frag.initialize_js(init, plain(args or {}))
        return frag

    def notice(self, message: str) -> Fragment:
        return self.fragment(self.render_html("notice.html", message=message))

    def error(self, status: int, message: str, fields_: dict | None = None) -> Response:
        return Response(json.dumps({"error": message, "fields": fields_ or {}}, ensure_ascii=False),
                        status=status, content_type="application/json", charset="utf-8")

    # --- Studio ------------------------------------------------------------------------------

    def facts(self, scenario: Scenario) -> list[tuple[str, Any]]:
        """What the Studio preview lists about the scenario for this unit."""
        return []

    def author_view(self, context=None) -> Fragment:
        if not self.scenario:
            return self.notice(self.gettext("Chưa chọn tình huống cho khối này"))
        try:
            scenario = self.run(self.scenario_data)
        except ServiceError as exc:
            return self.notice(exc.translated(self.gettext))
        html = self.render_html("author.html", name=self.display_name, scenario=scenario,
                           version=self.version, facts=[(self.gettext(k), v) for k, v in self.facts(scenario)])
        return self.fragment(html)

    def studio_view(self, context=None) -> Fragment:
        unit = registry.units().get(self.UNIT)      # caselab_unit before its type is chosen: every scenario
        try:
            choices = [c for c in self.run(lms.scenario_choices) if unit is None or unit.applies_to(c["data"])]
        except Exception:          # the store unreachable from Studio: the id can still be typed
            choices = []
        values = {name: getattr(self, name) for name in self.EDITABLE}
        if values.get("deadline"):
            values["deadline"] = values["deadline"].strftime("%Y-%m-%dT%H:%M")
        html = self.render_html("studio.html", editable=self.EDITABLE, values=values,
                           unit_types=[(t, self.gettext(u.title)) for t, u in registry.units().items()],
                           choices=[{k: v for k, v in c.items() if k != "data"} for c in choices])
        return self.fragment(html, "studio", "CaseLabStudio", {})

    @json_call(EditSchema)
    def submit_studio(self, **form):
        """Check the scenario exists and suits this unit, then keep the settings."""
        unit_type = form["unit_type"] if "unit_type" in self.EDITABLE else self.UNIT
        if unit_type not in registry.units():
            raise Invalid("Chưa chọn loại phần học cho khối này", {"unit_type": ["unknown"]})

        def check(session):
            scenario = lms.scenario(session, form["scenario"], form["version"])
            if not registry.unit(unit_type).applies_to(scenario):
                raise Invalid("Tình huống '%(id)s' không có phần này", {"scenario": ["unsuitable"]},
                              id=form["scenario"])
        self.run(check)
        for name in self.EDITABLE:
            if name == "weight" and form["weight"] is None:
                continue
            value = form[name]
            if name == "deadline" and value is not None:     # the field saves the wall time, not the offset
                value = value.astimezone(timezone.utc)
            setattr(self, name, value)
        return {"ok": True}

    def student_view_data(self, context=None) -> dict[str, Any]:
        """What the mobile apps receive: the unit's public view of the scenario."""
        data: dict[str, Any] = {"display_name": self.display_name, "scenario": self.scenario,
                                "version": self.version, "unit": self.UNIT,
                                "deadline": self.deadline.isoformat() if self.deadline else None}
        if self.scenario:
            try:
                scenario = self.run(self.scenario_data)
            except ServiceError as exc:
                return {**data, "error": exc.translated(self.gettext)}
            data.update({"title": scenario.title, **registry.unit(self.UNIT).public_view(scenario)})
        return data

    # --- workbench ---------------------------------------------------------------------------

    @staticmethod
    def store_scenarios(all_units: bool = False) -> list[dict[str, Any]]:
        """The scenarios in the store the workbench uses (CASELAB_DATABASE_URL): the first of each topic, or
        with ``all_units`` every scenario with the unit types that apply to it (``units``: id -> bool).

        Like every block, the workbench reads content from the CaseLab store, never from files: an installed
        wheel has no scenarios/ folder. `make workbench` imports the shipped ones first (caselab import).
        An unreachable or empty store lists nothing.
        """
        try:
            choices = runtime.retrying_unit_of_work(runtime.shared_sessions(None), lms.scenario_choices)
        except runtime.SQLAlchemyError:
            return []
        found: dict[str, dict[str, Any]] = {}
        for choice in sorted(choices, key=lambda c: (int(c["topic"]) if c["topic"].isdigit() else 10**6, c["id"])):
            applies = {type_id: unit.applies_to(choice["data"]) for type_id, unit in registry.units().items()}
            found.setdefault(choice["id"] if all_units else choice["topic"], {
                "id": choice["id"], "topic": choice["topic"], "title": choice["title"], "units": applies,
                "discussion": applies.get("discussion", False), "essay": applies.get("essay", False)})
        return list(found.values())
