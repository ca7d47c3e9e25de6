"""The running xblock-sdk workbench (as `make workbench` starts it) with a CaseLab case, in Debian's chromium."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from lms_plugin.sanitize import render_markdown, to_text
from lms_plugin.services import runtime
from lms_plugin.services.catalog import load_catalog
from lms_plugin.services.content import import_catalog
from lms_plugin.store import db
from lms_plugin.xblocks.base import CaseLabBlock
from tests.e2e.conftest import ROOT, _free_port, shot

pytestmark = pytest.mark.e2e
DJANGO_ADMIN = Path(sys.executable).with_name("django-admin")


@pytest.fixture(scope="module")
def workbench(tmp_path_factory):
    """`django-admin runserver` on a free loopback port, with its own workbench and CaseLab SQLite files."""
    folder = tmp_path_factory.mktemp("workbench")
    (folder / "var").mkdir()
    store = f"sqlite:///{folder / 'caselab.db'}"
    engine = db.make_engine(store)
    db.upgrade(engine)
    with db.unit_of_work(db.session_factory(engine)) as session:
        import_catalog(session, load_catalog([ROOT / "scenarios", ROOT / "rubrics"]))
    engine.dispose()
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "workbench.settings", "EXCLUDE_SAMPLE_XBLOCKS": "yes",
           "CASELAB_DATABASE_URL": store, "WORKBENCH_DATABASES": json.dumps(
               {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": str(folder / "var" / "workbench.db")}})}
    subprocess.run([str(DJANGO_ADMIN), "migrate", "--run-syncdb", "-v", "0"], cwd=folder, env=env, check=True,
                   timeout=120)
    port = _free_port()
    log = open(folder / "runserver.log", "wb")
    server = subprocess.Popen([str(DJANGO_ADMIN), "runserver", f"127.0.0.1:{port}", "--noreload"],
                              cwd=folder, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            with urllib.request.urlopen(url + "/", timeout=2) as answer:
                if answer.status == 200:
                    break
        except OSError:
            if server.poll() is not None or time.monotonic() > deadline:
                server.kill()
                pytest.fail("the workbench did not start:\n" + (folder / "runserver.log").read_text(errors="replace"))
            time.sleep(0.2)
    yield {"url": url, "store": store}
    os.killpg(server.pid, signal.SIGTERM)
    try:
        server.wait(timeout=10)
    except subprocess.TimeoutExpired:
        os.killpg(server.pid, signal.SIGKILL)
    log.close()


def test_a_cadre_opens_a_caselab_case_in_the_workbench_and_takes_a_decision(workbench, new_page, monkeypatch):
    monkeypatch.setenv("CASELAB_DATABASE_URL", workbench["store"])     # what the workbench lists: its store
    shipped = CaseLabBlock.store_scenarios()[0]
    runtime.forget_shared_sessions(workbench["store"])
    workbench = workbench["url"]
    scenario = next(s.scenario for s in load_catalog([ROOT / "scenarios", ROOT / "rubrics"]).scenarios
                    if s.scenario.id == shipped["id"])
    page = new_page(viewport={"width": 1200, "height": 900})
    page.goto(f"{workbench}/")
    assert page.get_by_text(f"CaseLab: tình huống chuyên đề {scenario.topic}").first.is_visible()

    page.goto(f"{workbench}/scenario/caselab_case.0/?student=hv-e2e")
    page.wait_for_load_state("networkidle")
    assert page.locator(".caselab-title").inner_text() == scenario.title
    page.locator(".caselab-decide").click()                       # nothing chosen yet: the block says so
    assert page.locator(".caselab-stage .caselab-message").inner_text() == "Hãy chọn một phương án"

    choice = scenario.start.choices[0]
    page.locator(".caselab-option input").first.check()
    page.locator(".caselab-decide").click()
    feedback = page.locator(".caselab-latest .caselab-feedback")
    feedback.wait_for(state="visible", timeout=10_000)
    assert to_text(render_markdown(choice.feedback)).strip()[:60] in feedback.inner_text()
    nxt = scenario.stage(choice.next)
    if not nxt.is_ending:
        assert page.locator(".caselab-stage legend").inner_text().endswith("2")
    shot(page, "workbench-case-decision")

    page.reload()                                                 # resumable: the decision is still there
    page.wait_for_load_state("networkidle")
    assert page.locator(".caselab-step").count() == 1
