"""The plugin manager: every ``caselab`` entry point, built-ins included, answers the hooks of hookspecs.py."""
from __future__ import annotations

from functools import lru_cache
from typing import Any

import pluggy

from . import hookspecs

GROUP = hookspecs.PROJECT        # the entry-point group: [project.entry-points.caselab]


class PluginError(RuntimeError):
    pass


@lru_cache(maxsize=1)
def manager() -> pluggy.PluginManager:
    """Built once per process: the installed packages do not change while it runs."""
    pm = pluggy.PluginManager(hookspecs.PROJECT)
    pm.add_hookspecs(hookspecs)
    loaded = pm.load_setuptools_entrypoints(GROUP)
    if not loaded:
        raise PluginError(f"no plugins under the '{GROUP}' entry points: is CaseLab installed (pip install -e .)?")
    pm.check_pending()            # a misspelt hook name in a plugin stops start-up
    return pm


def collect(hook: str) -> list[Any]:
    """Every plugin's answer to ``hook``, joined in the order plugins registered (built-ins by name)."""
    answers = getattr(manager().hook, hook)()
    out: list[Any] = []
    for answer in reversed(answers):    # pluggy calls the last registered first: keep registration order
        out.extend(answer or ())
    return out


def reset() -> None:
    """Forget what was loaded (a test installs a package and looks again)."""
    manager.cache_clear()
