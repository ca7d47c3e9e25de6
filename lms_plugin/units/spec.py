"""The contract a unit type fulfils, built-in or from another package (see docs/plugins.md).

A unit type is a class registered through the ``caselab_unit_types`` hook. It owns
everything about the unit; the hosts only carry it:

- **content**: the scenario section it reads (``content_key``) and the marshmallow
  schema of that fragment (``content_schema``); ``applies_to`` says whether a
  scenario has it, ``public_view`` is its API representation (never points or
  feedback), ``max_score`` what it is worth;
- **learner state and actions**: ``learner_state(ctx)`` is what one person sees now
  (JSON-ready); ``actions`` name what they can do, each with its input schema, the
  permission that allows it and the method that does it (hosts call them through
  ``services.units.act``, which checks the permission first);
- **scoring and completion**: ``score(ctx)``;
- **views**: Jinja templates it ships (``template_folder``, ``templates["learner"]``,
  ``templates["staff"]``), rendered by every host with the same names in scope
  (``state``, ``view``, ``unit``, ``action_url(name)``, ``csrf_token``, ``_``, ``closed``,
  ``static_url(file)``), and static files (``static_folder``, ``scripts``, ``styles``);
  ``live_seconds`` asks hosts to refresh the view that often, cheaply, through
  ``version(ctx)``;
- **progress and exports**: ``progress(ctx)`` counts for the lecturer's page, ``export(ctx)``
  a table a lecturer downloads (``ctx`` is the lecturer's, with the assignment's scenario and records).

This module knows no host and no store: ``ctx`` carries the unit of work and the
person, and a unit reaches the store through CaseLab's services or ``ctx.records``.
"""
from __future__ import annotations

from abc import ABC
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar, Protocol

from ..core.scenarios import Scenario

LEARNER = "unit.play"          # a member of the assignment's cohort (or staff)
STAFF = "unit.manage"          # lecturers and organisers (and admins)


@dataclass(frozen=True)
class Action:
    """Something a person does in a unit: ``method`` of the unit type, called as
    ``method(ctx, **schema().load(data))``, allowed to holders of ``permission``
    (``LEARNER`` or ``STAFF``, or any permission of services/policy.py)."""
    method: str
    schema: type | None = None        # a marshmallow Schema class; None: no input
    permission: str = LEARNER
    open_only: bool = True            # refused once the assignment (or the block) is closed


@dataclass(frozen=True)
class UnitScore:
    points: float
    max_points: float
    completed: bool

    @property
    def share(self) -> float:
        return self.points / self.max_points if self.max_points else 0.0


@dataclass(frozen=True)
class Table:
    """An export: translated headers (msgids) and rows, streamed."""
    headers: tuple[str, ...]
    rows: Iterable[tuple[Any, ...]]


class Records(Protocol):
    """A small store each unit type has for itself, per assignment: one value per name for
    the person (``shared=False``) or for everyone (``shared=True``)."""

    def get(self, name: str, *, shared: bool = False) -> Any: ...
    def put(self, name: str, data: Any, *, shared: bool = False) -> None: ...
    def tally(self, name: str) -> dict[str, int]: ...
    def bump(self, name: str = "version") -> int: ...


@dataclass
class UnitContext:
    """One person in one unit of one assignment, as a host hands it to the unit."""
    session: Any                       # the unit of work CaseLab's services take
    user: Any                          # the person (services take it)
    assignment_id: int
    scenario: Scenario
    records: Records
    closed: bool = False               # past the deadline: actions with open_only are refused
    staff: bool = False                # a lecturer running the unit (staff_state, staff actions)
    host: str = "web"                  # "web", "api" or "xblock": for the rare unit that cares
    extra: dict[str, Any] = field(default_factory=dict)   # host facts (e.g. the block's team)


class UnitType(ABC):
    type_id: ClassVar[str]                          # stable key: "case", "discussion", "essay", "panel", ...
    title: ClassVar[str]                            # Vietnamese msgid; hosts translate it
    content_key: ClassVar[str | None] = None        # top-level scenario section; None: units.<type_id>
    content_schema: ClassVar[type | None] = None    # marshmallow Schema of that section
    actions: ClassVar[Mapping[str, Action]] = {}
    template_folder: ClassVar[str | None] = None    # absolute path of the unit's templates
    templates: ClassVar[Mapping[str, str]] = {}     # "learner", "staff" -> file in template_folder
    static_folder: ClassVar[str | None] = None
    scripts: ClassVar[tuple[str, ...]] = ()         # files in static_folder the learner view loads
    styles: ClassVar[tuple[str, ...]] = ()
    graded: ClassVar[bool] = False                  # the LMS receives score(ctx) as a grade
    live_seconds: ClassVar[int | None] = None       # hosts refresh the learner view this often

    # --- content ---------------------------------------------------------------------------------

    def content(self, scenario: Scenario) -> Any:
        """The unit's fragment of the scenario (None when the scenario has none)."""
        if self.content_key is not None:
            return getattr(scenario, self.content_key, None)
        return scenario.units.get(self.type_id)

    def applies_to(self, scenario: Scenario) -> bool:
        """Whether the scenario has what this unit needs."""
        return self.content(scenario) is not None

    def max_score(self, scenario: Scenario) -> float:
        """Most points a learner can earn in this unit (0 for ungraded units)."""
        return 0.0

    def public_view(self, scenario: Scenario) -> dict[str, Any]:
        """What anyone may see of the content before acting: JSON-ready, no points or feedback."""
        fragment = self.content(scenario)
        return dict(fragment) if isinstance(fragment, Mapping) else {}

    # --- a person in the unit ----------------------------------------------------------------------

    def learner_state(self, ctx: UnitContext) -> dict[str, Any]:
        """What ``ctx.user`` sees now, JSON-ready."""
        return {}

    def staff_state(self, ctx: UnitContext) -> dict[str, Any]:
        """What a lecturer running the unit sees (moderation, answers, counts)."""
        return self.learner_state(ctx)

    def score(self, ctx: UnitContext) -> UnitScore | None:
        """The person's score and whether they completed the unit (None: nothing to report)."""
        return None

    def version(self, ctx: UnitContext) -> str | None:
        """A token that changes whenever the learner view would: live hosts answer 304 while it holds.
        None: the view is computed every time."""
        return None

    # --- for the lecturer --------------------------------------------------------------------------

    def progress(self, ctx: UnitContext) -> dict[str, int]:
        """Counts for the assignment's progress page, msgid -> number (``ctx``: the lecturer's; ``ctx.records``
        tallies everyone's values)."""
        return {}

    def export(self, ctx: UnitContext) -> Table | None:
        """A table the lecturer downloads (None: the unit exports nothing)."""
        return None


def iso(moment: Any) -> str | None:
    """A time as unit states carry it (JSON-ready); hosts show it with ``when``."""
    return moment.isoformat() if moment else None


def rows_of(table: Table) -> Iterator[tuple[Any, ...]]:
    yield table.headers
    yield from table.rows
