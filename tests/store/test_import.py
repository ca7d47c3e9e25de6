"""Import is idempotent; a changed file becomes a new version; assignments keep theirs."""
import json

from click.testing import CliRunner
from sqlalchemy import func, inspect, select

from lms_plugin.cli import main
from lms_plugin.services import cohorts
from lms_plugin.services.catalog import load_catalog
from lms_plugin.services.content import import_catalog, latest_scenario_versions, scenario_data
from lms_plugin.store import db, models as m


def test_migrations_create_every_table_and_wal_on_sqlite(engine):
    tables = set(inspect(engine).get_table_names())
    assert set(m.Base.metadata.tables) <= tables
    if engine.dialect.name == "sqlite":
        with engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"


def test_downgrade_then_upgrade_round_trips(engine):
    db.downgrade(engine, "base")
    assert "essays" not in inspect(engine).get_table_names()
    db.upgrade(engine)
    assert "essays" in inspect(engine).get_table_names()


def test_import_twice_changes_nothing(session, tree):
    catalog = load_catalog(["scenarios", "rubrics"])
    first = import_catalog(session, catalog)
    session.commit()
    assert {(i.kind, i.status) for i in first} == {("course", "new"), ("rubric", "new"), ("scenario", "new")}
    again = import_catalog(session, load_catalog(["scenarios", "rubrics"]))
    session.commit()
    assert {i.status for i in again} == {"unchanged"}
    assert session.scalar(select(func.count()).select_from(m.ScenarioVersion)) == 1


def test_a_changed_file_is_a_new_version_and_assignments_keep_the_old(session, tree):
    import_catalog(session, load_catalog(["scenarios", "rubrics"]))
    cohort = cohorts.create_cohort(session, "Lớp thử", "khoa-thu")
    assignment = cohorts.assign_scenario(session, cohort, "t1-mau")
    session.commit()

    path = tree / "scenarios" / "t1-mau.yaml"
    path.write_text(path.read_text(encoding="utf-8").replace("Tình huống mẫu", "Tình huống mẫu (sửa)"),
                    encoding="utf-8")
    report = import_catalog(session, load_catalog(["scenarios", "rubrics"]))
    session.commit()
    assert [(i.id, i.version, i.status) for i in report if i.kind == "scenario"] == [("t1-mau", 2, "updated")]
    session.refresh(assignment)
    assert assignment.scenario_version.number == 1
    assert scenario_data(assignment.scenario_version).title == "Tình huống mẫu"
    assert [v.title for v in latest_scenario_versions(session)] == ["Tình huống mẫu (sửa)"]


def test_a_changed_attachment_alone_is_a_new_version(session, tree):
    import_catalog(session, load_catalog(["scenarios", "rubrics"]))
    session.commit()
    (tree / "scenarios" / "data" / "bang.csv").write_text("thôn,hồ sơ\nA,4\n", encoding="utf-8")
    report = import_catalog(session, load_catalog(["scenarios", "rubrics"]))
    session.commit()
    assert [i.status for i in report if i.kind == "scenario"] == ["updated"]
    latest = latest_scenario_versions(session)[0]
    assert latest.attachments[0].content == "thôn,hồ sơ\nA,4\n".encode()


def test_cli_import_and_list_as_json(engine, tree):
    url = engine.url.render_as_string(hide_password=False)
    runner = CliRunner()
    result = runner.invoke(main, ["--database", url, "import", "scenarios", "rubrics"])
    assert result.exit_code == 0, result.output
    assert "new       scenario t1-mau v1" in result.output
    result = runner.invoke(main, ["--database", url, "import", "scenarios", "rubrics"])
    assert result.output.strip().endswith("3 unchanged")
    result = runner.invoke(main, ["--database", url, "scenarios", "list", "--format", "json"])
    assert result.exit_code == 0
    listed = json.loads(result.output)
    assert listed == [{"id": "t1-mau", "version": 1, "topic": "1", "title": "Tình huống mẫu",
                       "course": "khoa-thu", "versions": 1}]


def test_cli_refuses_an_unmigrated_database(tmp_path, tree):
    result = CliRunner().invoke(main, ["--database", f"sqlite:///{tmp_path}/empty.db", "import", "scenarios"])
    assert result.exit_code == 1 and "run 'caselab db upgrade' first" in result.output


def test_the_migrations_match_the_models(engine):
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), m.Base.metadata)
    assert diff == []


def test_cli_adds_an_account_with_a_temporary_password_and_resets_a_lost_one(engine, session):
    from sqlalchemy import select

    from lms_plugin.services import accounts
    from lms_plugin.store import models as m
    url = engine.url.render_as_string(hide_password=False)
    runner = CliRunner()
    added = runner.invoke(main, ["--database", url, "users", "add", "tochuc", "--role", "admin",
                                 "--password", "mat-khau-tam-thoi", "--temporary"])
    assert added.exit_code == 0 and "to be replaced at the first sign-in" in added.output
    assert accounts.authenticate(session, "tochuc", "mat-khau-tam-thoi").must_change_password
    reset = runner.invoke(main, ["--database", url, "users", "reset-password", "tochuc"])
    assert reset.exit_code == 0, reset.output
    given = reset.output.split(": ", 1)[1].split()[0]
    session.expire_all()
    assert accounts.authenticate(session, "tochuc", "mat-khau-tam-thoi") is None
    assert accounts.authenticate(session, "tochuc", given).must_change_password
    assert session.scalar(select(m.AuditEvent).where(m.AuditEvent.action == "account.password_reset"))
    unknown = runner.invoke(main, ["--database", url, "users", "reset-password", "khong-co"])
    assert unknown.exit_code == 1 and "khong-co" in unknown.output
