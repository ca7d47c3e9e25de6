"""The xblock-sdk workbench runtime in-process: Django with workbench.settings and its own SQLite file.

Blocks get the CaseLab store of the ``engine`` fixture through the XBlock
settings service (XBLOCK_SETTINGS["caselab"]["DATABASE_URL"]), as in the LMS.
"""
from __future__ import annotations

import atexit
import json
import os
import shutil
import tempfile
from pathlib import Path

import django
import pytest

_STATE = Path(tempfile.mkdtemp(prefix="caselab-workbench-"))
atexit.register(shutil.rmtree, _STATE, True)
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "workbench.settings")
os.environ["WORKBENCH_DATABASES"] = json.dumps(
    {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": str(_STATE / "workbench.db")}})

from django.conf import settings  # noqa: E402

settings.LOGGING = {"version": 1, "disable_existing_loggers": False}   # the workbench logs to var/ otherwise
django.setup()

from django.core.management import call_command  # noqa: E402
from django.test import override_settings  # noqa: E402

call_command("migrate", run_syncdb=True, verbosity=0)

from workbench.runtime import WorkbenchRuntime  # noqa: E402

from lms_plugin.services import runtime  # noqa: E402


def pytest_collection_modifyitems(items):
    here = Path(__file__).parent
    for item in items:
        if here in Path(item.fspath).parents:   # the workbench itself still sets the deprecated runtime.user_id
            item.add_marker(pytest.mark.filterwarnings("ignore::xblock.runtime.UserIdDeprecationWarning"))


class Learner:
    """One workbench student: their runtime, and the events their blocks published."""

    def __init__(self, user_id: str, *, staff: bool = False):
        self.runtime = WorkbenchRuntime(user_id)
        self.events: list[tuple[str, str, dict]] = []
        self.runtime.publish = lambda block, kind, data: self.events.append((block.scope_ids.block_type, kind, data))
        if staff:
            self.user.opt_attrs["edx-platform.user_is_staff"] = True

    @property
    def user(self):
        return self.runtime._services["user"].get_current_user()

    def block(self, usage_id: str):
        return self.runtime.get_block(usage_id)

    def grades(self, block_type: str) -> list[dict]:
        return [data for kind_of_block, kind, data in self.events if kind_of_block == block_type and kind == "grade"]


@pytest.fixture
def store_url(engine):
    """The test store, handed to the blocks as the LMS would: XBLOCK_SETTINGS."""
    url = engine.url.render_as_string(hide_password=False)
    with override_settings(XBLOCK_SETTINGS={"caselab": {"DATABASE_URL": url, "EXAMINERS": ["gk1", "gk2"]}}):
        yield url
    runtime.forget_shared_sessions(url)


@pytest.fixture
def learner():
    made: dict[str, Learner] = {}

    def make(user_id: str, **kwargs) -> Learner:
        if user_id not in made:
            made[user_id] = Learner(user_id, **kwargs)
        return made[user_id]
    return make


@pytest.fixture
def parse():
    """parse(olx) -> usage id, in a scenario of its own (fresh definitions, so no state is shared)."""
    counter = iter(range(10**6))

    def parse_olx(olx: str) -> str:
        runtime = WorkbenchRuntime()
        runtime.id_generator.set_scenario(f"t{os.getpid()}-{next(counter)}-{os.urandom(4).hex()}")
        return runtime.parse_xml_string(olx)
    return parse_olx
