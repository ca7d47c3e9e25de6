"""`caselab roster import`: a dry run that writes nothing, then the import and its sign-in links file, then the
same file again: nothing created."""
from __future__ import annotations

import os

from click.testing import CliRunner
from sqlalchemy import func, select

from lms_plugin.cli import main
from lms_plugin.services import accounts, cohorts
from lms_plugin.services.catalog import load_catalog
from lms_plugin.services.content import import_catalog
from lms_plugin.store import models as m

ROSTER = "Họ tên,Xã,Số điện thoại,CCCD\nĐặng Văn An,Tân Hòa,0912 345 678,001\nBùi Thị Dung,Bình An,,\n,Bình An,,\n"


def test_dry_run_then_import_then_again(session, engine, tree):
    import_catalog(session, load_catalog(["scenarios", "rubrics"]))
    accounts.create_user(session, "qt", "admin")
    cohort = cohorts.create_cohort(session, "Lớp 1", "khoa-thu")
    session.commit()
    url = engine.url.render_as_string(hide_password=False)
    (tree / "ds.csv").write_text(ROSTER, encoding="utf-8")
    runner = CliRunner()
    users = session.scalar(select(func.count()).select_from(m.User))
    dry = runner.invoke(main, ["--database", url, "roster", "import", "ds.csv", "--cohort", str(cohort.id),
                               "--dry-run"])
    assert dry.exit_code == 0, dry.output
    assert "2 created, 0 updated, 0 unchanged, 1 rejected" in dry.output and "Thiếu họ tên" in dry.output
    assert "dry run: nothing written" in dry.output
    assert session.scalar(select(func.count()).select_from(m.User)) == users
    done = runner.invoke(main, ["--database", url, "roster", "import", "ds.csv", "--cohort", str(cohort.id),
                                "--links", "links.csv", "--quiet"])
    assert done.exit_code == 0, done.output
    links = (tree / "links.csv").read_text(encoding="utf-8-sig").splitlines()
    assert links[0] == "username,name,role,group,sign_in_link,expires" and len(links) == 3
    assert oct(os.stat(tree / "links.csv").st_mode & 0o777) == "0o600"
    again = runner.invoke(main, ["--database", url, "roster", "import", "ds.csv", "--cohort", str(cohort.id),
                                 "--links", "links2.csv", "--quiet"])
    assert "0 created, 0 updated, 2 unchanged, 1 rejected" in again.output and not (tree / "links2.csv").exists()
