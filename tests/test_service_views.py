"""Services hand views, not rows, to the hosts; read from the source with ``ast`` and the services' annotations.

A host (the web app, the Open edX blocks, the ``caselab`` command with its ticker, the Celery worker) that holds a
row of lms_plugin.store.models can follow its relationships lazily, from a template or a handler, after the
service that loaded it has returned: a query per row in a loop, or a detached row once the session is closed.
So every service function a host calls declares what it returns, and that return type (looked into, through
lists, tuples, optionals and the fields of the dataclasses it names) holds no class of the store.

One exception, by rule: ``m.User`` as the signed-in person's handle. The hosts sign a person in
(``accounts.authenticate``, the session cookie, an API token, the LMS's anonymous id) and pass that row back into
services as the actor of what they ask for (its name and role show in the page's header). So a service may return
``m.User`` (or ``m.User | None``) alone, or a view whose field ``user: m.User`` is that person (how a browser
session, a token or an LMS placement signs someone in). A user row anywhere else (in a list, in a tuple, in a
view's other fields) is someone else's record and needs a view (services.people.PersonView) like any other.

Any other crossing is listed in EXCEPTIONS with its reason.
"""
from __future__ import annotations

import ast
import dataclasses
import importlib
import inspect
import types
import typing
from pathlib import Path

import pytest
from sqlalchemy import event

import lms_plugin
from lms_plugin.services import accounts, cohorts, content as content_service, directory
from lms_plugin.store import models as store_models

PACKAGE = Path(lms_plugin.__file__).resolve().parent
SERVICES = "lms_plugin.services"
HOST_FILES = sorted([*(PACKAGE / "web").rglob("*.py"), *(PACKAGE / "xblocks").glob("*.py"),
                     PACKAGE / "cli.py", PACKAGE / "ticker.py", PACKAGE / "worker.py"])

# (services module, function) -> why a host still receives a row from it
EXCEPTIONS: dict[tuple[str, str], str] = {
    ("lms_plugin.services.accounts", "reset_password"):
        "owned elsewhere this round: returns (m.User, password) to the organiser's page and `caselab users "
        "reset-password`",
    ("lms_plugin.services.jobs", "celery_app"):
        "owned elsewhere this round: the worker's Celery application (no row), but it declares no return type",
}


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _resolve(importer: str, is_package: bool, node: ast.ImportFrom) -> str:
    if not node.level:
        return node.module or ""
    base = importer.split(".") if is_package else importer.split(".")[:-1]
    base = base[:len(base) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def _is_module(name: str) -> bool:
    try:
        return inspect.ismodule(importlib.import_module(name))
    except ImportError:
        return False


def service_calls(source: str, module: str, is_package: bool = False) -> dict[tuple[str, str], list[int]]:
    """(services module, function name) -> the lines a host calls it on.

    Sees ``essays.readable_essay(...)`` after ``from ..services import essays [as x]`` and ``get_assignment(...)``
    after ``from ..services.cohorts import get_assignment [as y]``, wherever the import is in the file.
    """
    tree = ast.parse(source)
    modules: dict[str, str] = {}             # local name -> services module
    functions: dict[str, tuple[str, str]] = {}   # local name -> (services module, name)
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith(SERVICES + ".") and alias.asname:
                    modules[alias.asname] = alias.name
        elif isinstance(node, ast.ImportFrom):
            source_module = _resolve(module, is_package, node)
            if source_module != SERVICES and not source_module.startswith(SERVICES + "."):
                continue
            for alias in node.names:
                local = alias.asname or alias.name
                if _is_module(f"{source_module}.{alias.name}"):
                    modules[local] = f"{source_module}.{alias.name}"
                else:
                    functions[local] = (source_module, alias.name)
    calls: dict[tuple[str, str], list[int]] = {}
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name) and func.value.id in modules:
            key = (modules[func.value.id], func.attr)
        elif isinstance(func, ast.Name) and func.id in functions:
            key = functions[func.id]
        else:
            continue
        calls.setdefault(key, []).append(node.lineno)
    return calls


def _host_calls() -> dict[tuple[str, str], list[str]]:
    found: dict[tuple[str, str], list[str]] = {}
    for path in HOST_FILES:
        name = _module_name(path)
        for key, lines in service_calls(path.read_text(encoding="utf-8"), name, path.name == "__init__.py").items():
            found.setdefault(key, []).extend(f"{name}:{line}" for line in lines)
    return found


def _fields(view: type) -> dict[str, object]:
    return typing.get_type_hints(view, vars(importlib.import_module(view.__module__)))


def _store_classes(hint: object, seen: set[type] | None = None) -> set[str]:
    """The store classes a type mentions: itself, its arguments, and the fields of the dataclasses it names."""
    seen = set() if seen is None else seen
    found: set[str] = set()
    if isinstance(hint, type) and hint.__module__ == store_models.__name__:
        return {hint.__name__}
    args = typing.get_args(hint)
    if args:
        for arg in args:
            found |= _store_classes(arg, seen)
        origin = typing.get_origin(hint)
        return found | (_store_classes(origin, seen) if isinstance(origin, type) else set())
    if isinstance(hint, type) and hint not in seen and (dataclasses.is_dataclass(hint) or _is_named_tuple(hint)):
        seen.add(hint)
        for field_hint in _fields(hint).values():
            found |= _store_classes(field_hint, seen)
    return found


def _returned_store_classes(hint: object) -> set[str]:
    """As ``_store_classes``, the signed-in person's handle aside: the whole return, or the ``user`` field of the
    returned view (see the module's docstring)."""
    if _signed_in_handle(hint):
        return set()
    args = set(typing.get_args(hint)) - {type(None)}
    view = next(iter(args)) if typing.get_origin(hint) in (typing.Union, types.UnionType) and len(args) == 1 \
        else hint
    if isinstance(view, type) and dataclasses.is_dataclass(view):
        found: set[str] = set()
        for name, field_hint in _fields(view).items():
            if not (name == "user" and field_hint is store_models.User):
                found |= _store_classes(field_hint, {view})
        return found
    return _store_classes(hint)


def _is_named_tuple(hint: type) -> bool:
    return issubclass(hint, tuple) and hasattr(hint, "_fields")


def _signed_in_handle(hint: object) -> bool:
    """``m.User`` or ``m.User | None``: the one row a host may hold (see the module's docstring)."""
    if hint is store_models.User:
        return True
    return typing.get_origin(hint) in (typing.Union, types.UnionType) and \
        set(typing.get_args(hint)) == {store_models.User, type(None)}


def returned_rows(module: str, name: str) -> set[str] | None:
    """The store classes that ``module.name`` returns to its caller; None when it is not a function."""
    target = getattr(importlib.import_module(module), name, None)
    if not inspect.isfunction(target):
        return None      # a class (an error, a settings record), a constant or a task object: no return to read
    hints = typing.get_type_hints(target, vars(importlib.import_module(target.__module__)))
    if "return" not in hints:
        return {"(no return type declared)"}
    return _returned_store_classes(hints["return"])


def test_the_reader_sees_each_way_a_host_calls_a_service():
    source = ("from ..services import essays, cohorts as cohort_service\n"
              "from ..services.cohorts import get_assignment as assignment_of\n"
              "from ..services.errors import Invalid\n"
              "def view():\n"
              "    essays.readable_essay(1, 2)\n"
              "    cohort_service.get_cohort(3)\n"
              "    assignment_of(4)\n"
              "    raise Invalid('x')\n")
    calls = service_calls(source, "lms_plugin.web.view")
    assert calls == {("lms_plugin.services.essays", "readable_essay"): [5],
                     ("lms_plugin.services.cohorts", "get_cohort"): [6],
                     ("lms_plugin.services.cohorts", "get_assignment"): [7],
                     ("lms_plugin.services.errors", "Invalid"): [8]}
    real = _host_calls()        # the parser reads the hosts: a rule over nothing would pass
    assert "lms_plugin.web.cadre" in " ".join(real[("lms_plugin.services.essays", "readable_essay")])
    assert "lms_plugin.web.marking" in " ".join(real[("lms_plugin.services.cohorts", "assignment_view")])
    assert "lms_plugin.xblocks.case" in " ".join(real[("lms_plugin.services.content", "attachment_table")])
    assert "lms_plugin.cli" in " ".join(real[("lms_plugin.services.cohorts", "assign")])


def test_the_reader_finds_rows_through_containers_and_views():
    @dataclasses.dataclass(frozen=True)
    class Holder:
        essay: store_models.Essay
    assert _store_classes(list[tuple[store_models.Assignment, int]]) == {"Assignment"}
    assert _store_classes(Holder) == {"Essay"}
    assert _store_classes(store_models.User | None) == {"User"}
    assert _store_classes(dict[str, list[int]]) == set()
    assert _signed_in_handle(store_models.User | None) and not _signed_in_handle(list[store_models.User])

    @dataclasses.dataclass(frozen=True)
    class SignIn:
        user: store_models.User
        remember: bool

    @dataclasses.dataclass(frozen=True)
    class Draft:
        author: store_models.User
    assert _returned_store_classes(SignIn | None) == set()
    assert _returned_store_classes(Draft) == {"User"}
    assert _returned_store_classes(list[SignIn]) == {"User"}          # other people's handles are rows
    assert _returned_store_classes(tuple[store_models.User, str]) == {"User"}


def test_hosts_receive_views_not_rows():
    wrong = []
    for (module, name), where in sorted(_host_calls().items()):
        if (module, name) in EXCEPTIONS:
            continue
        rows = returned_rows(module, name)
        if rows:
            wrong.append(f"{module}.{name} returns {', '.join(sorted(rows))} (called at {', '.join(where)})")
    assert wrong == [], "return a frozen view dataclass to the hosts:\n" + "\n".join(wrong)


def test_exceptions_are_still_needed():
    calls = _host_calls()
    stale = [f"{module}.{name}" for module, name in EXCEPTIONS
             if (module, name) not in calls or not returned_rows(module, name)]
    assert stale == [], "EXCEPTIONS lists functions hosts no longer call, or that return views now"


def test_the_listings_are_frozen_views_read_in_a_fixed_number_of_queries(session, content):
    """A cohort may hold 100,000 cadres: what the lists hand back costs the same few queries at any size."""
    admin = accounts.create_user(session, "qt", "admin", "mat-khau-123")
    cohort = cohorts.create_cohort(session, "Lớp 1", content.courses[0].course.id)
    group = cohorts.group_named(session, cohort, "Xã Tân Hòa")
    slugs = [entry.slug for entry in content_service.scenario_catalogue(session)]

    def grow(prefix: str, people: int, assigned: list[str]) -> None:
        for i in range(people):
            cohorts.add_member(session, cohort, accounts.create_user(session, f"{prefix}{i}", "cadre", None),
                               group if i % 2 else None)
        for slug in assigned:
            cohorts.assign_scenario(session, cohort, slug)
        session.commit()

    def statements() -> int:
        seen: list[str] = []

        def count(conn, cursor, statement, *args):
            seen.append(statement)
        engine = session.get_bind()
        event.listen(engine, "before_cursor_execute", count)
        try:
            session.expire_all()        # nothing already loaded: a lazy relationship would show as a query
            directory.assignments(session, admin)
            directory.cohort_groups(session, admin, cohort.id)
            cohorts.cadres_of(session, cohort.id)
            content_service.scenario_catalogue(session)
        finally:
            event.remove(engine, "before_cursor_execute", count)
        return len(seen)

    grow("a", 2, slugs[:1])
    small = statements()
    assert small >= 6
    grow("b", 40, slugs[1:4])
    assert statements() == small
    listed = directory.assignments(session, admin)
    assert len(listed) == 4 and len(cohorts.cadres_of(session, cohort.id)) == 42
    with pytest.raises(dataclasses.FrozenInstanceError):
        listed[0].title = "Tên khác"
