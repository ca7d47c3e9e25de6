"""docs/examples/caselab-poll installed as a user installs it (pip), for the tests that play it, and taken away after.

The package is built from a copy of its folder (pip builds in the source folder; the checkout stays clean) and
installed with ``--target`` into a temporary folder, once per test process. ``plugged_in`` puts that folder on
``sys.path``, makes CaseLab look for plugins again, and on the way out (also when a test fails) takes it off
and looks again: every other test sees the built-in unit types only.
"""
from __future__ import annotations

import atexit
import functools
import importlib
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from lms_plugin.services.catalog import Catalog, load_catalog
from lms_plugin.units import registry

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "docs" / "examples" / "caselab-poll"
SCENARIO_FILE = EXAMPLE / "t3-giai-phong-mat-bang-binh-chon.yaml"
SLUG = "t3-giai-phong-mat-bang-binh-chon"
MODULE = "caselab_poll"

# Offline first, with the setuptools (and wheel) of this environment; else pip's isolated build, which fetches
# setuptools from the package index (a fresh venv of a Python whose setuptools cannot build a wheel alone).
PIP_ATTEMPTS = (("--no-build-isolation", "--no-index"), ())


@functools.cache
def installed() -> Path:
    """The folder ``pip install --target`` put caselab_poll (and its dist-info, with the entry point) in."""
    base = Path(tempfile.mkdtemp(prefix="caselab-poll-"))
    atexit.register(shutil.rmtree, base, True)
    source = base / "src"
    shutil.copytree(EXAMPLE, source, ignore=shutil.ignore_patterns("build", "*.egg-info", "__pycache__", ".*_cache"))
    target = base / "target"
    failures = []
    for flags in PIP_ATTEMPTS:
        done = subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps",
                               "--disable-pip-version-check", *flags, "--target", str(target), str(source)],
                              capture_output=True, text=True, timeout=600)
        if done.returncode == 0:
            return target
        failures.append(f"pip install {' '.join(flags)}: exit {done.returncode}\n{done.stdout}\n{done.stderr}")
        for leftover in (target, source / "build", *source.glob("*.egg-info")):
            shutil.rmtree(leftover, ignore_errors=True)
    raise RuntimeError("docs/examples/caselab-poll did not install:\n" + "\n".join(failures))


def pythonpath(target: Path) -> str:
    """PYTHONPATH for a process that should find the package too (a workbench server)."""
    return os.pathsep.join([str(target), *filter(None, [os.environ.get("PYTHONPATH")])])


def _forget() -> None:
    for name in [n for n in sys.modules if n == MODULE or n.startswith(MODULE + ".")]:
        del sys.modules[name]
    importlib.invalidate_caches()
    registry.reset()


@contextmanager
def plugged_in() -> Iterator[Path]:
    """The poll installed and registered while inside; the built-ins alone again after, whatever happened."""
    target = installed()
    sys.path.insert(0, str(target))
    _forget()
    try:
        yield target
    finally:
        while str(target) in sys.path:
            sys.path.remove(str(target))
        _forget()


def example_catalog(folder: Path) -> Catalog:
    """The example scenario where an author puts it: next to the course's course.yaml (the shipped course)."""
    scenarios = folder / "poll-course"
    scenarios.mkdir()
    shutil.copy(ROOT / "scenarios" / "course.yaml", scenarios)
    shutil.copy(SCENARIO_FILE, scenarios)
    return load_catalog([scenarios])
