"""A national roster imported twice on PostgreSQL: the first import creates every account, the second changes
nothing and duplicates no one.

It generates a roster of ``--rows`` cadres (Vietnamese names, real-looking communes of 34 provinces, a phone
each, a personal number (CCCD) for half of them; the other half are matched by name + commune + phone),
imports it into a new cohort of a fresh database, then imports the same file again, and prints for each
import: time, rows/s, created/updated/unchanged/rejected, the longest single batch transaction; then the
duplicate accounts (same name, commune and contact) in the database.

    .venv/bin/python bench/roster_import.py                      # 100,000 rows
    .venv/bin/python bench/roster_import.py --rows 20000
    .venv/bin/python bench/roster_import.py --database postgresql://postgres@127.0.0.1:5432/other

The database (default caselab_roster) is dropped and created again unless --keep is given.
"""
from __future__ import annotations

import argparse
import sys
import time

from sqlalchemy import create_engine, func, select, text

from lms_plugin.services import accounts, cohorts, roster
from lms_plugin.services.demo_text import commune_names, person_name, province_of
from lms_plugin.store import db, models as m

DEFAULT = "postgresql://postgres@127.0.0.1:5432/caselab_roster"
COMMUNES = 3_300


def fresh_database(url: str, keep: bool) -> None:
    name = url.rsplit("/", 1)[1].split("?")[0]
    admin = create_engine(url.rsplit("/", 1)[0] + "/postgres", isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        exists = conn.scalar(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name})
        if exists and not keep:
            conn.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
        if not exists or not keep:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()


def roster_csv(rows: int) -> bytes:
    communes = commune_names(COMMUNES)
    lines = ["Họ và tên,Xã/Phường,Tỉnh/Thành phố,Số điện thoại,Vai trò,Số định danh"]
    for i in range(rows):
        group = i % COMMUNES
        commune = communes[group][0]
        cccd = f"0{(i * 7919) % 100 + 1:02d}{i:09d}" if i % 2 == 0 else ""
        phone = f"09{i:08d}"
        lines.append(f"{person_name(i)},{commune},{province_of(group, COMMUNES)},"
                     f"{phone[:4]} {phone[4:7]} {phone[7:]},học viên,{cccd}")
    return ("\n".join(lines) + "\n").encode("utf-8")


def import_once(factory, admin_id: int, cohort_id: int, rows, label: str) -> None:
    from tqdm import tqdm
    with factory() as session:
        admin = session.get(m.User, admin_id)
        started = time.perf_counter()
        with tqdm(total=len(rows), unit="row", file=sys.stderr, desc=label) as bar:
            result = roster.apply_roster(session, admin, cohort_id, rows, base_url="https://caselab.example.vn",
                                         progress=bar.update)
        seconds = time.perf_counter() - started
    counts = result.counts()
    print(f"{label}: {seconds:.1f} s, {len(rows) / seconds:,.0f} rows/s; created {counts['created']:,}, "
          f"updated {counts['updated']:,}, unchanged {counts['unchanged']:,}, rejected {counts['rejected']:,}; "
          f"{result.batches} batches of {roster.BATCH_ROWS:,} rows, longest batch transaction "
          f"{result.longest_batch_seconds:.3f} s", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database", default=DEFAULT)
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--keep", action="store_true", help="do not drop the database first")
    args = parser.parse_args()
    if args.rows > roster.MAX_ROWS:
        parser.error(f"at most {roster.MAX_ROWS} rows")
    fresh_database(args.database, args.keep)
    engine = db.make_engine(args.database)
    db.upgrade(engine)
    factory = db.session_factory(engine)
    with db.unit_of_work(factory) as session:
        course = m.Course(slug=f"bench-{time.time_ns()}", title="Khoá bồi dưỡng cán bộ xã")
        session.add(course)
        session.flush()
        cohort = cohorts.create_cohort(session, f"Lớp toàn quốc {course.slug}", course.slug)
        admin = accounts.create_user(session, f"tochuc-{course.slug}", "admin")
        cohort_id, admin_id = cohort.id, admin.id

    started = time.perf_counter()
    raw = roster_csv(args.rows)
    made = time.perf_counter() - started
    started = time.perf_counter()
    rows = roster.read_roster("danh-sach.csv", raw)
    print(f"roster: {len(rows):,} rows, {len(raw) / 1024 / 1024:.1f} MB of CSV (generated in {made:.1f} s, "
          f"read in {time.perf_counter() - started:.1f} s)", flush=True)
    import_once(factory, admin_id, cohort_id, rows, "first import")
    import_once(factory, admin_id, cohort_id, rows, "second import")
    with factory() as session:
        people = session.scalar(select(func.count()).select_from(m.User).where(m.User.role == "cadre"))
        same = (select(func.count().label("n")).select_from(m.User)
                .group_by(m.User.display_name, m.User.commune, m.User.contact).having(func.count() > 1).subquery())
        duplicates = session.scalar(select(func.coalesce(func.sum(same.c.n - 1), 0)))
        members = session.scalar(select(func.count()).select_from(m.Membership)
                                 .where(m.Membership.cohort_id == cohort_id))
    print(f"database: {people:,} cadre accounts, {members:,} members of the cohort, {duplicates:,} duplicates")
    engine.dispose()


if __name__ == "__main__":
    main()
