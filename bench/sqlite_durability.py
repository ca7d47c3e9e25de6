"""What `synchronous=FULL` costs the embedded store: essays submitted per second, one commit each (as the web
app commits once per request), with SQLite's FULL (the store's setting: a receipt survives a power loss) and
with NORMAL (the setting before), in the same run on the same disk.

    .venv/bin/python bench/sqlite_durability.py [--essays 300]

Each run builds a fresh database with the shipped content and a cohort of ``--essays`` cadres, then submits one
essay per cadre through services.essays.submit_essay (allocation, audit and the similarity request included;
similarity jobs off so only the store is measured).
"""
from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from sqlalchemy import event

ROOT = Path(__file__).resolve().parent.parent
ESSAY = ("Sau khi hợp nhất, xã tồn đọng nhiều hồ sơ đất đai vì dữ liệu của hai xã cũ chưa thống nhất. " * 70
         + "\n\n## Kiến nghị, đề xuất\n\nĐề nghị tỉnh hướng dẫn chỉnh lý hồ sơ địa chính.\n")


def run(essays: int, synchronous: str) -> float:
    from lms_plugin.services import jobs
    jobs.submit = lambda *args, **kwargs: None      # similarity checks are not the store: leave them out
    from lms_plugin.services import accounts, cohorts, essays as essay_service
    from lms_plugin.services.catalog import load_catalog
    from lms_plugin.services.content import import_catalog
    from lms_plugin.store import db
    folder = Path(tempfile.mkdtemp(prefix="caselab-sync-"))
    engine = db.make_engine(f"sqlite:///{folder / 'bench.db'}")

    @event.listens_for(engine, "connect")
    def _mode(dbapi_connection, _record):          # after the store's own pragmas: override only this one
        dbapi_connection.execute(f"PRAGMA synchronous={synchronous}")
    db.upgrade(engine)
    factory = db.session_factory(engine)
    with db.unit_of_work(factory) as session:
        import_catalog(session, load_catalog([ROOT / "scenarios", ROOT / "rubrics"]))
    with db.unit_of_work(factory) as session:
        cohort = cohorts.create_cohort(session, "Lớp đo", "boi-duong-can-bo-co-so-2026")
        group = cohorts.group_named(session, cohort, "Xã Tân Hòa")
        examiners = [accounts.create_user(session, f"gk{i}", "examiner", None) for i in range(4)]
        assignment = cohorts.assign_scenario(session, cohort, "t1-ton-dong-ho-so-dat-dai", examiners=examiners)
        people = []
        for i in range(essays):
            person = accounts.create_user(session, f"hv{i}", "cadre", None)
            cohorts.add_member(session, cohort, person, group)
            people.append(person.id)
        assignment_id = assignment.id
    from lms_plugin.store import models as m
    started = time.perf_counter()
    for user_id in people:
        with db.unit_of_work(factory) as session:
            essay_service.submit_essay(session, session.get(m.User, user_id), assignment_id, ESSAY)
    elapsed = time.perf_counter() - started
    with engine.connect() as conn:
        mode = conn.exec_driver_sql("PRAGMA synchronous").scalar()
    engine.dispose()
    assert mode == {"FULL": 2, "NORMAL": 1}[synchronous]
    return essays / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--essays", type=int, default=300)
    args = parser.parse_args()
    normal = run(args.essays, "NORMAL")
    full = run(args.essays, "FULL")
    print(f"essays submitted, one commit each, {args.essays} per run (SQLite in WAL mode)")
    print(f"  synchronous=NORMAL  {normal:8.1f} essays/s")
    print(f"  synchronous=FULL    {full:8.1f} essays/s   (the store's setting)")
    print(f"  FULL / NORMAL       {full / normal:8.2f}")


if __name__ == "__main__":
    main()
