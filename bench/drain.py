"""Where the time of a drained similarity check goes: a backlog of queued checks on a PostgreSQL course, drained
by check workers (processes, as ``caselab worker`` runs them: ``jobs.run_job`` per job) and one index worker.

``seed`` stores a course of ``--essays`` synthetic essays (bench/check_cost.py's generator), builds its index,
then submits ``--backlog`` new essays as a submission does (essay, pending report, check job; a quarter copy a
course essay, a quarter an essay earlier in the backlog) and keeps that state as a template database and a
folder. ``run`` copies both and drains the backlog; per job it counts SQL statements and CPU time, and prints
jobs per second, per-job CPU and statements by task, and checks the outcome: one finished report per essay,
planted copies found, both ways.

    .venv/bin/python bench/drain.py seed --database postgresql://postgres@127.0.0.1:5432/caselab_drain
    .venv/bin/python bench/drain.py run --database postgresql://postgres@127.0.0.1:5432/caselab_drain \
        --workers 2 [--profile]
"""
from __future__ import annotations

import argparse
import cProfile
import io
import json
import os
import pstats
import shutil
import statistics
import subprocess
import sys
import threading
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench import check_cost as cc  # noqa: E402
from bench.serving import wait_checks_drained  # noqa: E402

WORK = Path("/tmp/caselab-drain")


def admin_url(url: str) -> str:
    return url.rsplit("/", 1)[0] + "/postgres"


def name_of(url: str) -> str:
    return url.rsplit("/", 1)[1].split("?")[0]


def recreate(url: str, template: str | None = None) -> None:
    from sqlalchemy import create_engine, text
    engine = create_engine(admin_url(url).replace("postgresql://", "postgresql+psycopg://"),
                           isolation_level="AUTOCOMMIT")
    name = name_of(url)
    with engine.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{template}"' if template else "")))
    engine.dispose()


def seed(args) -> None:
    from lms_plugin.services import runtime
    from lms_plugin.store import db
    tpl = args.database.rsplit("/", 1)[0] + "/" + name_of(args.database) + "_tpl"
    recreate(tpl)
    engine = db.make_engine(tpl)
    db.upgrade(engine)
    engine.dispose()
    shutil.rmtree(WORK, ignore_errors=True)
    WORK.mkdir(parents=True)
    env = cc.settings_env(tpl, WORK / "index-tpl")
    os.environ.update(env)
    runtime.configure(None)
    cc.quiet_jobs()
    t0 = time.perf_counter()
    texts = cc.Texts(args.viwiki)
    course = texts.course(args.essays, seed=args.essays)
    new, from_course, from_new = texts.new(args.backlog, course, seed=args.essays + 1)
    course_id, assignment_id, users = cc.seed_course(tpl, args.essays + args.backlog)
    engine = db.make_engine(tpl)
    factory = db.session_factory(engine)
    course_ids = cc.insert_essays(engine, assignment_id, users[:args.essays], course)
    print(f"stored {args.essays:,} essays in {time.perf_counter() - t0:.0f} s", flush=True)
    build = cc.child("rebuild", env, course_id=course_id)
    print(f"index built in {build['seconds']:.0f} s", flush=True)
    ids: list[int] = []
    for lo in range(0, args.backlog, 50):       # 50 a transaction, as a rush's submissions commit
        ids += cc.submit(factory, assignment_id, users[args.essays + lo:args.essays + lo + 50], new[lo:lo + 50])
    planted = {"of_course": [(ids[i], course_ids[s]) for i, s in from_course],
               "of_new": [(ids[i], ids[s]) for i, s in from_new], "ids": ids, "course_id": course_id}
    (WORK / "planted.json").write_text(json.dumps(planted))
    engine.dispose()
    print(f"{len(ids):,} checks queued; template {name_of(tpl)}, index {WORK / 'index-tpl'}", flush=True)


# ---- a worker process ---------------------------------------------------------------------------------------

def child_worker(queue: str, slot: int, slots: int, stop: str, profile: bool) -> dict:
    from sqlalchemy import event, select

    from lms_plugin.services import runtime, similarity  # noqa: F401 - declares the tasks
    from lms_plugin.settings import Settings
    from lms_plugin.store import db, models as m
    runtime.configure(Settings.load())         # as ``caselab worker`` does: settings read once
    jobs = cc.quiet_jobs()
    engine = runtime.make_engine()
    factory = db.session_factory(engine)
    counter = [0]

    spent: dict[str, list[float]] = defaultdict(lambda: [0, 0.0])
    began = [0.0]

    @event.listens_for(engine, "before_cursor_execute")
    def _count(_conn, _cursor, statement, *_args) -> None:
        counter[0] += 1
        began[0] = time.perf_counter()

    @event.listens_for(engine, "after_cursor_execute")
    def _time(_conn, _cursor, statement, *_args) -> None:
        entry = spent[" ".join(statement.split())[:150]]
        entry[0] += 1
        entry[1] += time.perf_counter() - began[0]
    backends: set[int] = set()

    @event.listens_for(engine, "connect")
    def _backend(dbapi_connection, _record) -> None:
        if engine.dialect.name == "postgresql":
            cursor = dbapi_connection.cursor()
            cursor.execute("select pg_backend_pid()")
            backends.add(cursor.fetchone()[0])
            cursor.close()
            dbapi_connection.rollback()

    def backend_cpu() -> float:
        ticks = 0
        for pid in backends:
            try:
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            ticks += int(fields[11]) + int(fields[12])
        return ticks / os.sysconf("SC_CLK_TCK")
    names: dict[int, str] = {}
    per: dict[str, list[tuple[float, int]]] = defaultdict(list)
    profiler = cProfile.Profile(time.process_time) if profile else None
    idle_statements = 0
    first = None
    while True:
        s0 = counter[0]
        with factory() as session:
            rows = session.execute(select(m.Job.id, m.Job.name).where(m.Job.queue == queue, m.Job.state == "queued")
                                   .order_by(m.Job.id).limit(100)).all()
        idle_statements += counter[0] - s0
        names.update((r.id, r.name) for r in rows)
        ids = [r.id for r in rows]
        mine = [i for i in ids if i % slots == slot] or ids[-1:]
        if not mine:
            if Path(stop).exists():
                break
            time.sleep(0.02)
            continue
        first = first or time.perf_counter()
        for job_id in mine:
            c0, s0 = time.process_time(), counter[0]
            if profiler:
                profiler.enable()
            outcome = jobs.run_job(job_id, engine)
            if profiler:
                profiler.disable()
            if outcome == "done":
                per[names[job_id]].append(((time.process_time() - c0) * 1e3, counter[0] - s0))
    out: dict = {"per": per, "cpu": cc.cpu(), "idle_statements": idle_statements, "pg_cpu": backend_cpu(),
                 "statements": sorted(([k, *v] for k, v in spent.items()), key=lambda e: -e[2])[:25]}
    if profiler:
        buf = io.StringIO()
        pstats.Stats(profiler, stream=buf).sort_stats("cumulative").print_stats(45)
        buf2 = io.StringIO()
        pstats.Stats(profiler, stream=buf2).sort_stats("tottime").print_stats(30)
        out["profile"] = buf.getvalue() + buf2.getvalue()
    return out


def child(env: dict[str, str], **given) -> dict:
    done = subprocess.run([sys.executable, __file__, "child", "--given", json.dumps(given)], capture_output=True,
                          text=True, env={**os.environ, **env}, check=False)
    if done.returncode:
        raise SystemExit(f"worker failed:\n{done.stderr[-4000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def run(args) -> None:
    from sqlalchemy import func, select

    from lms_plugin.store import db, models as m
    tpl = name_of(args.database) + "_tpl"
    recreate(args.database, tpl)
    index = WORK / "index"
    shutil.rmtree(index, ignore_errors=True)
    subprocess.run(["cp", "-al", str(WORK / "index-tpl"), str(index)], check=True)
    env = cc.settings_env(args.database, index)
    planted = json.loads((WORK / "planted.json").read_text())
    engine = db.make_engine(args.database)
    factory = db.session_factory(engine)
    stop = WORK / "stop"
    stop.unlink(missing_ok=True)
    outcome: dict[str, dict] = {}
    roles = [("checks", s, args.workers) for s in range(args.workers)]
    if not args.no_index:
        roles.append(("index", 0, 1))

    def go(queue: str, slot: int, slots: int) -> None:
        outcome[f"{queue} worker {slot + 1}"] = child(
            env, queue=queue, slot=slot, slots=slots, stop=str(stop),
            profile=args.profile and queue == "checks" and slot == 0)
    with engine.connect() as conn:
        queued = conn.scalar(select(func.count()).select_from(m.Job).where(m.Job.state == "queued")) or 0
    print(f"command: {' '.join([sys.executable, *sys.argv])}")
    print(f"load average before: {' '.join(Path('/proc/loadavg').read_text().split()[:3])}; {queued:,} jobs queued")
    threads = [threading.Thread(target=go, args=role) for role in roles]
    started = time.perf_counter()
    for t in threads:
        t.start()
    wait_checks_drained(engine)
    drained = time.perf_counter() - started
    load = " ".join(Path("/proc/loadavg").read_text().split()[:3])
    stop.touch()
    for t in threads:
        t.join()
    per: dict[str, list] = defaultdict(list)
    for out in outcome.values():
        for name, values in out["per"].items():
            per[name].extend(values)
    work = sum(len(v) for k, v in per.items() if "index" not in k)
    print(f"drained {work:,} check jobs in {drained:.1f} s (process start included): {work / drained:.1f} jobs/s; "
          f"load average at the end {load}")
    for name, values in sorted(per.items()):
        cpu_ms = [v[0] for v in values]
        st = [v[1] for v in values]
        print(f"  {name}: {len(values):,} jobs, CPU median {statistics.median(cpu_ms):.1f} ms, mean "
              f"{statistics.mean(cpu_ms):.1f} ms, p99 {cc.pct(cpu_ms, 99):.1f} ms; statements median "
              f"{statistics.median(st):.0f}, mean {statistics.mean(st):.1f}, max {max(st)}")
    for key, out in sorted(outcome.items()):
        n = sum(len(v) for v in out['per'].values())
        print(f"  {key}: CPU {out['cpu']:.1f} s, its PostgreSQL backends' CPU {out['pg_cpu']:.1f} s, {n} jobs "
              f"({1000 * (out['cpu'] + out['pg_cpu']) / max(n, 1):.1f} ms CPU a job, both), "
              f"{out['idle_statements']} polling statements")
    ids = planted["ids"]
    with factory() as session:
        reports = session.execute(select(m.SimilarityReport.essay_id, m.SimilarityReport.status)
                                  .where(m.SimilarityReport.essay_id.in_(ids))).all()
    per_essay = defaultdict(list)
    for r in reports:
        per_essay[r.essay_id].append(r.status)
    ok = sum(1 for i in ids if per_essay.get(i) == ["done"])
    of_course = [tuple(p) for p in planted["of_course"]]
    of_new = [tuple(p) for p in planted["of_new"]]
    print(f"  essays with exactly one finished report: {ok:,} of {len(ids):,}; planted copies found: of course "
          f"essays {cc.found(factory, of_course)} of {len(of_course)}, of backlog essays "
          f"{cc.found(factory, of_new)} of {len(of_new)}, the earlier essay names the copy "
          f"{cc.found(factory, [(s, a) for a, s in of_new])} of {len(of_new)}")
    for key, out in sorted(outcome.items()):
        if key.startswith("checks worker 1"):
            print(f"  statements of {key} by time (count, seconds):")
            for text, count, seconds in out["statements"]:
                print(f"    {count:6d} {seconds:7.2f} s  {text}")
    for out in outcome.values():
        if "profile" in out:
            print(out["profile"])
    engine.dispose()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("mode", choices=("seed", "run", "child"))
    ap.add_argument("--database", default="postgresql://postgres@127.0.0.1:5432/caselab_drain")
    ap.add_argument("--viwiki", type=Path, default=cc.DEFAULT_VIWIKI)
    ap.add_argument("--essays", type=int, default=20000)
    ap.add_argument("--backlog", type=int, default=2000)
    ap.add_argument("--workers", type=int, default=1)
    ap.add_argument("--no-index", action="store_true", help="no index worker")
    ap.add_argument("--profile", action="store_true")
    ap.add_argument("--given", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.mode == "child":
        print(json.dumps(child_worker(**json.loads(args.given))))
    elif args.mode == "seed":
        seed(args)
    else:
        run(args)


if __name__ == "__main__":
    main()
