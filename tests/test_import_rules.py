"""The layer rules of docs/architecture.md, read from the source with ``ast``.

- The hosts (the web app, the Open edX blocks, the ``caselab`` command with its ticker, the Celery worker) are
  adapters: they import services, schemas, the sanitiser, the unit registry, the settings (lms_plugin/settings.py,
  which imports nothing of CaseLab) and their own package. Never the store, never SQLAlchemy, never another host.
- The core is pure: no web framework, no XBlock, no database, no marshmallow, nothing of CaseLab but the core.
- No module imports one that imports it back, at module level or inside a function; an import inside a
  function is only there to load something heavy late, and each one is listed below with its reason.
  Imports under ``if TYPE_CHECKING:`` never run, so they make no cycle; the layer rules still count them.
"""
from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

import lms_plugin

PACKAGE = Path(lms_plugin.__file__).resolve().parent

# host -> the modules it is made of (the ticker is the command's periodic work: `caselab tick`, `caselab serve`)
HOSTS = {
    "web": ("lms_plugin.web",),
    "xblocks": ("lms_plugin.xblocks",),
    "cli": ("lms_plugin.cli", "lms_plugin.ticker"),
    "worker": ("lms_plugin.worker",),
}
ADAPTERS_MAY_IMPORT = ("lms_plugin.services", "lms_plugin.schemas", "lms_plugin.sanitize", "lms_plugin.units",
                       "lms_plugin.settings")
ADAPTERS_NEVER_IMPORT = ("sqlalchemy", "alembic", "psycopg", "celery")

CORE_NEVER_IMPORTS = ("flask", "flask_babel", "flask_login", "flask_wtf", "wtforms", "werkzeug", "xblock",
                      "web_fragments", "webob", "django", "sqlalchemy", "alembic", "marshmallow", "celery")

# (importer, imported) -> why this one crosses the rules above
HOST_EXCEPTIONS = {
    ("lms_plugin.cli", "lms_plugin.web"): "`caselab serve` is a host that starts another host: it builds the "
                                          "Flask app and serves it with the web app's quiet request handler",
    ("lms_plugin.cli", "lms_plugin.web.headers"): "the same `caselab serve`",
    ("lms_plugin.cli", "lms_plugin.web.production"): "`caselab serve --workers` runs the web app under gunicorn",
}

# (importer, imported) -> why it is imported inside a function rather than at the top of the module
LATE_IMPORTS = {
    ("lms_plugin.cli", "lms_plugin.services.similarity_batch"):
        "`caselab similarity` alone needs scikit-learn; other commands start without loading it",
    ("lms_plugin.cli", "lms_plugin.ticker"): "`caselab tick` and `caselab serve` alone run the periodic work, "
                                           "which loads the essay services and with them scikit-learn",
    ("lms_plugin.cli", "lms_plugin.web"): "`caselab serve` alone needs Flask and every blueprint",
    ("lms_plugin.cli", "lms_plugin.web.headers"): "the same `caselab serve`",
    ("lms_plugin.cli", "lms_plugin.web.production"): "`caselab serve --workers` alone needs gunicorn",
    ("lms_plugin.cli", "lms_plugin.services.similarity"): "`caselab worker` alone runs the similarity tasks, "
                                                         "which load scikit-learn",
    ("lms_plugin.web.production", "lms_plugin.web"): "each gunicorn worker builds its own app after the fork",
    ("lms_plugin.web", "lms_plugin.web.admin"): "blueprints load when an app is built, not when web/ is imported "
                                                 "(gunicorn and `caselab serve` import the package first)",
}
for _blueprint in ("api", "auth", "cadre", "examiner", "lecturer", "marking", "notifications", "public",
                   "similarity_views", "units", "welcome"):
    LATE_IMPORTS[("lms_plugin.web", f"lms_plugin.web.{_blueprint}")] = LATE_IMPORTS[
        ("lms_plugin.web", "lms_plugin.web.admin")]


@dataclass(frozen=True)
class Import:
    importer: str       # lms_plugin.web.session
    imported: str       # lms_plugin.services.credentials, or a library's top name: sqlalchemy
    line: int
    late: bool          # inside a function
    typing_only: bool = False   # under ``if TYPE_CHECKING:``

    def __str__(self) -> str:
        where = "inside a function" if self.late else "at module level"
        return f"{self.importer}:{self.line} imports {self.imported} ({where})"


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _modules() -> dict[str, Path]:
    return {_module_name(path): path for path in sorted(PACKAGE.rglob("*.py")) if "migrations" not in path.parts}


MODULES = _modules()


def _resolve(importer: str, is_package: bool, node: ast.ImportFrom) -> str:
    if not node.level:
        return node.module or ""
    base = importer.split(".") if is_package else importer.split(".")[:-1]
    base = base[:len(base) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def _targets(importer: str, is_package: bool, node: ast.AST) -> list[str]:
    """What an import statement loads: the submodule for ``from pkg import module``, else the module."""
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    assert isinstance(node, ast.ImportFrom)
    module = _resolve(importer, is_package, node)
    found = [f"{module}.{alias.name}" for alias in node.names if f"{module}.{alias.name}" in MODULES]
    return found if len(found) == len(node.names) else [module, *found]


def _imports_of(name: str, path: Path) -> list[Import]:
    out: list[Import] = []
    is_package = path.name == "__init__.py"

    def visit(node: ast.AST, late: bool, typing_only: bool) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.Import, ast.ImportFrom)):
                out.extend(Import(name, target, child.lineno, late, typing_only)
                           for target in _targets(name, is_package, child) if target != "__future__")
            visit(child, late or isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)),
                  typing_only or (isinstance(child, ast.If) and "TYPE_CHECKING" in ast.unparse(child.test)))
    visit(ast.parse(path.read_text(encoding="utf-8")), False, False)
    return out


IMPORTS = [imp for name, path in MODULES.items() for imp in _imports_of(name, path)]


def _within(module: str, prefixes: tuple[str, ...]) -> bool:
    return any(module == prefix or module.startswith(prefix + ".") for prefix in prefixes)


def _host_of(module: str) -> str | None:
    return next((host for host, parts in HOSTS.items() if _within(module, parts)), None)


def test_the_rules_see_every_host_and_the_known_imports():
    """The parser reads what it should: a rule over nothing would pass."""
    hosts = {_host_of(name) for name in MODULES} - {None}
    assert hosts == set(HOSTS)
    found = {(imp.importer, imp.imported) for imp in IMPORTS}
    assert ("lms_plugin.web.cadre", "lms_plugin.services.essays") in found          # from ..services import …
    assert ("lms_plugin.web", "lms_plugin.web.errors") in found                      # from . import errors
    assert ("lms_plugin.services.content", "sqlalchemy") in found                    # import sqlalchemy.…


def _adapter_violations(imports: list[Import]) -> list[str]:
    wrong = []
    for imp in imports:
        host = _host_of(imp.importer)
        if host is None or (imp.importer, imp.imported) in HOST_EXCEPTIONS:
            continue
        if imp.imported.startswith("lms_plugin"):
            if not (_within(imp.imported, ADAPTERS_MAY_IMPORT) or _host_of(imp.imported) == host):
                wrong.append(str(imp))
        elif _within(imp.imported, ADAPTERS_NEVER_IMPORT):
            wrong.append(str(imp))
    return wrong


def test_an_adapter_importing_the_store_or_another_host_is_refused(tmp_path):
    view = tmp_path / "view.py"
    view.write_text("from ..store import models as m\nfrom sqlalchemy import select\n"
                    "from ..xblocks import base\nfrom ..services import essays\nfrom . import session\n\n"
                    "def later():\n    from ..cli import main\n", encoding="utf-8")
    wrong = _adapter_violations(_imports_of("lms_plugin.web.view", view))
    assert wrong == ["lms_plugin.web.view:1 imports lms_plugin.store.models (at module level)",
                     "lms_plugin.web.view:2 imports sqlalchemy (at module level)",
                     "lms_plugin.web.view:3 imports lms_plugin.xblocks.base (at module level)",
                     "lms_plugin.web.view:8 imports lms_plugin.cli (inside a function)"]


def test_adapters_import_services_and_schemas_only():
    wrong = _adapter_violations(IMPORTS)
    assert wrong == [], "adapters go through services:\n" + "\n".join(wrong)


def test_the_core_is_pure():
    wrong = [str(imp) for imp in IMPORTS if _within(imp.importer, ("lms_plugin.core",))
             and (_within(imp.imported, CORE_NEVER_IMPORTS)
                  or (imp.imported.startswith("lms_plugin") and not _within(imp.imported, ("lms_plugin.core",))))]
    assert wrong == [], "the core imports only the standard library, numpy, scipy, scikit-learn:\n" + "\n".join(wrong)


def test_imports_inside_functions_are_the_listed_ones():
    late = {(imp.importer, imp.imported): imp for imp in IMPORTS if imp.late and imp.imported.startswith("lms_plugin")}
    unlisted = sorted(str(imp) for key, imp in late.items() if key not in LATE_IMPORTS)
    assert unlisted == [], "import at the top of the module, or list the reason in LATE_IMPORTS:\n" + \
        "\n".join(unlisted)
    assert sorted(set(LATE_IMPORTS) - set(late)) == [], "LATE_IMPORTS lists imports that are gone"
    assert sorted(set(HOST_EXCEPTIONS) - {(i.importer, i.imported) for i in IMPORTS}) == [], \
        "HOST_EXCEPTIONS lists imports that are gone"


def _cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def connect(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(edges.get(node, ())):
            if nxt not in index:
                connect(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(edges):
        if node not in index:
            connect(node)
    return found


def test_cycles_are_found():
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert _cycles({"a": {"b"}, "b": set()}) == []


def test_no_import_cycle():
    """Counting imports inside functions too: a late import must never be what hides a cycle."""
    edges: dict[str, set[str]] = {}
    for imp in IMPORTS:
        if imp.imported in MODULES and imp.imported != imp.importer and not imp.typing_only:
            edges.setdefault(imp.importer, set()).add(imp.imported)
    cycles = _cycles(edges)
    described = []
    for members in cycles:
        inside = [str(imp) for imp in IMPORTS
                  if imp.importer in members and imp.imported in members and not imp.typing_only]
        described.append(" <-> ".join(members) + "\n    " + "\n    ".join(inside))
    assert cycles == [], "import cycles:\n" + "\n".join(described)
