"""``caselab_unit``: any CaseLab unit type in an Open edX course, played through the unit contract.

The block knows no unit: it places the learner (services.lms), asks
``services.units`` for the view, renders the unit's own template with the names
every host gives it (units/render.py) and loads the shared player script. Its
one handler, ``act``, runs the named action; ``state`` answers the live refresh
(304 while the unit's version holds). A graded unit's score goes to the LMS as
the block's grade, once, whenever it changes.
"""
from __future__ import annotations

import json
from datetime import datetime
from html import escape
from pathlib import Path
from typing import Any

from web_fragments.fragment import Fragment
from webob import Response
from xblock.core import XBlock
from xblock.fields import Float, Scope, String

from ..services import units
from ..services.errors import ServiceError
from ..units import registry, render
from .base import N_, CaseLabBlock, json_body, loader, plain, when


class UnitBlock(CaseLabBlock):
    EDITABLE = ("display_name", "unit_type", "scenario", "version", "weight", "deadline")
    has_score = True
    has_custom_completion = True
    completion_mode = "completable"
    icon_class = "problem"

    unit_type = String(display_name=N_("Loại phần học"), default="", scope=Scope.settings,
                       help="The CaseLab unit type this block plays (e.g. panel, case, essay, or one a package adds).")
    display_name = String(display_name=N_("Tên hiển thị"), default=N_("Phần học CaseLab"), scope=Scope.settings,
                          help="The block's title in the course outline.")
    weight = Float(display_name=N_("Trọng số điểm"), default=1.0, scope=Scope.settings, values={"min": 0},
                   help="Points this unit is worth in the course grade (its score share times this weight).")
    published_share = Float(default=None, scope=Scope.user_state,
                            help="The score share last published to the LMS, so it is sent once per change.")

    @property
    def UNIT(self) -> str:           # type: ignore[override]  # the Studio editor checks scenarios against it
        return self.unit_type

    def max_score(self) -> float:
        return 1.0

    # --- playing the unit ----------------------------------------------------------------------------

    def _view(self, session, action: str | None = None, data: dict[str, Any] | None = None) -> units.UnitView:
        placed = self.place(session)
        closed = True if self.past_due() else None      # else the assignment's own window decides
        if action is None:
            view = units.view(session, placed.user, placed.assignment.id, self.unit_type, closed=closed,
                              host="xblock")
        else:
            view = units.act(session, placed.user, placed.assignment.id, self.unit_type, action, data or {},
                             closed=closed, host="xblock")
        self._publish(view)
        return view

    def _publish(self, view: units.UnitView) -> None:
        """A completed graded unit's score share to the LMS (again only when it changed)."""
        score = view.score
        if not view.unit.graded or score is None or not score.completed or self.published_share == score.share:
            return
        self.runtime.publish(self, "grade", {"value": score.share, "max_value": 1.0})
        self.runtime.publish(self, "completion", {"completion": 1.0})
        self.published_share = score.share

    def _html(self, view: units.UnitView) -> str:
        i18n = self.runtime.service(self, "i18n")
        name = render.template_name(view.unit, "learner")
        if name is None:
            return ""
        env = render.environment(i18n.gettext, i18n.ngettext)
        context = render.template_context(
            unit=view.unit, view=view.view, state=view.state, staff=False, closed=view.closed,
            action_url=lambda action: self.runtime.handler_url(self, "act", action),
            csrf_token="",               # the LMS's own CSRF cookie rides along (player.js sends it)
            static_url=lambda file: self.runtime.handler_url(self, "static", file),
            when=lambda moment: when(moment) if isinstance(moment, datetime) else "")
        return env.get_template(name).render(**context)

    def student_view(self, context=None) -> Fragment:
        if not self.unit_type or self.unit_type not in registry.units():
            return self.notice(self.gettext("Chưa chọn loại phần học cho khối này"))
        try:
            view = self.run(self._view)
        except ServiceError as exc:
            return self.notice(exc.translated(self.gettext))
        html = (f'<div class="caselab caselab-unit" lang="vi"><h2 class="caselab-title">'
                f'{escape(self.gettext(view.unit.title))}</h2><div data-unit-root data-unit="{view.unit.type_id}">'
                f'{self._html(view)}</div></div>')
        frag = Fragment(html)
        frag.add_css(loader.load_unicode("static/caselab.css"))
        frag.add_javascript(render.PLAYER_JS.read_text(encoding="utf-8"))
        for file in view.unit.styles:
            frag.add_css_url(self.runtime.handler_url(self, "static", file))
        frag.initialize_js("CaseLabUnitBlock", plain({"liveSeconds": view.unit.live_seconds or 0,
                                                      "version": view.version or "",
                                                      "offline": self.gettext("Mất kết nối; hãy thử lại.")}))
        return frag

    @XBlock.handler
    def act(self, request, suffix=""):
        """The unit's action named by the handler URL's suffix, with the JSON body as its input."""
        data = json_body(self, request)
        if isinstance(data, Response):
            return data
        try:
            view = self.run(lambda session: self._view(session, suffix, data))
        except ServiceError as exc:
            return self.error(exc.status, exc.translated(self.gettext), exc.fields)
        return self._json({"view": view.as_json(), "html": self._html(view)})

    @XBlock.handler
    def state(self, request, suffix=""):
        """The live refresh: 304 while the client's version still holds."""
        def work(session):
            placed = self.place(session)
            version, view = units.view_if_changed(session, placed.user, placed.assignment.id, self.unit_type,
                                                  request.if_none_match, host="xblock",
                                                  closed=True if self.past_due() else None)
            if view is not None:
                self._publish(view)
            return view, version
        try:
            view, version = self.run(work)
        except ServiceError as exc:
            return self.error(exc.status, exc.translated(self.gettext), exc.fields)
        if view is None:
            unchanged = Response(status=304)
            unchanged.etag = version
            return unchanged
        answer = self._json({"view": view.as_json(), "html": self._html(view)})
        if version is not None:
            answer.etag = version
        return answer

    @XBlock.handler
    def static(self, request, suffix=""):
        """A file the unit type ships (its static_folder), by name."""
        unit = registry.units().get(self.unit_type)
        folder = unit.static_folder if unit else None
        if not folder or not suffix or "/" in suffix or suffix.startswith("."):
            return self.error(404, self.gettext("Không tìm thấy tệp"))
        path = Path(folder) / suffix
        if not path.is_file():
            return self.error(404, self.gettext("Không tìm thấy tệp"))
        kind = "text/css" if suffix.endswith(".css") else "text/javascript" if suffix.endswith(".js") else \
            "application/octet-stream"
        return Response(body=path.read_bytes(), content_type=kind)

    def _json(self, answer: dict[str, Any]) -> Response:
        return Response(json.dumps(plain(answer), ensure_ascii=False), content_type="application/json",
                        charset="utf-8")

    def facts(self, scenario):
        return [(N_("Loại phần học"), self.unit_type), (N_("Trọng số điểm"), self.weight)]

    @staticmethod
    def workbench_scenarios():
        """Every registered unit type on the first scenario of the store it applies to."""
        scenarios = CaseLabBlock.store_scenarios(all_units=True)
        out = []
        for type_id in registry.units():
            found = next((s for s in scenarios if s["units"].get(type_id)), None)
            if found is not None:
                out.append((f"CaseLab: {type_id} · {found['title']}",
                            f'<caselab_unit unit_type="{type_id}" scenario="{found["id"]}"/>'))
        return out
