"""The expert panel live: 2,000 cadres watching one panel through the API while it changes every second.

    .venv/bin/python bench/panel_live.py [--viewers 2000] [--seconds 60] [--write-every 1]
        [--database postgresql://postgres@127.0.0.1:5432] [--workers 2] [--threads 32]

Builds a PostgreSQL database ``caselab_bench_panel`` (dropped and made again on every run): the shipped course,
``--cohorts`` cohorts that all have the scenario with a panel, ``--viewers`` cadres with an API token each, one
board with ``--questions`` questions and a few votes per cadre. Serves the app with gunicorn (gthread workers)
as production does, then runs two phases of ``--seconds`` each:

1. **live**: every viewer polls ``GET /api/v1/assignments/<aid>/units/panel`` every ``live_seconds`` with
   ``If-None-Match`` = the version it holds (starts spread over the first interval), as the unit player does,
   while a writer asks a question or votes through the API every ``--write-every`` seconds;
2. **peer**: the same viewers and writer, polling without ``If-None-Match`` (the full state every time).

Printed per phase: viewers, requests served per second, the share answered 304, latency p50/p95/p99, errors,
CPU seconds the server (gunicorn workers and PostgreSQL) spent per request, and for the live phase the
propagation delay: from a change being committed (its writer's answer) to the moment 50 %, 99 % and 100 % of
the viewers had received a version at least as new (median and worst over the changes). Then the peer's figures
as ratios of the live phase's. The load generator runs on the same machine and its CPU is printed too.
"""
from __future__ import annotations

import argparse
import asyncio
import os
import random
import resource
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SLUG = "t1-lan-song-don-thu-sau-sap-nhap"
DB_NAME = "caselab_bench_panel"
LIVE_SECONDS = 5
TOPICS = ("thẩm quyền giải quyết khiếu nại quyết định của huyện cũ", "đơn trùng lặp gửi nhiều nơi",
          "đối thoại với đoàn đông người", "bảo vệ người tố cáo", "hồ sơ lưu trữ của huyện cũ",
          "tiếp công dân định kỳ của Chủ tịch xã", "xung đột lợi ích trong tập thể lãnh đạo")


# --- the database ---------------------------------------------------------------------------------------

def make_database(server: str) -> str:
    import psycopg
    with psycopg.connect(f"{server}/postgres", autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {DB_NAME} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {DB_NAME}")
    return f"{server}/{DB_NAME}"


@dataclass
class Seeded:
    tokens: list[str]                  # one per viewer
    assignments: list[int]             # each viewer's assignment (their cohort's)
    question_ids: list[int]


def seed(url: str, viewers: int, cohort_count: int, questions: int) -> Seeded:
    from sqlalchemy import func, insert, select, update

    from lms_plugin.services import accounts, cohorts, credentials, panel
    from lms_plugin.services.catalog import load_catalog
    from lms_plugin.services.content import import_catalog
    from lms_plugin.store import db, models as m

    engine = db.make_engine(url)
    db.upgrade(engine)
    factory = db.session_factory(engine)
    rng = random.Random(11)
    with factory() as session:
        catalog = load_catalog([ROOT / "scenarios", ROOT / "rubrics"])
        import_catalog(session, catalog)
        course = session.scalar(select(m.Scenario).where(m.Scenario.slug == SLUG)).course.slug
        lecturer = accounts.create_user(session, "giangvien", "lecturer", None, display_name="Giảng viên tọa đàm")
        per_cohort = -(-viewers // cohort_count)
        tokens, assignment_of = [], []
        for c in range(cohort_count):
            cohort = cohorts.create_cohort(session, f"Lớp bồi dưỡng {c + 1:02d}", course)
            groups = [cohorts.group_named(session, cohort, f"Nhóm {g + 1}", f"Xã {c + 1:02d}-{g + 1}")
                      for g in range(5)]
            assignment = cohorts.assign_scenario(session, cohort, SLUG)
            for i in range(per_cohort):
                n = c * per_cohort + i
                if n >= viewers:
                    break
                user = accounts.create_user(session, f"hv{n:05d}", "cadre", None, display_name=f"Học viên {n:05d}")
                cohorts.add_member(session, cohort, user, groups[i % len(groups)])
                tokens.append(credentials.issue_token(session, user, days=2))
                assignment_of.append(assignment.id)
            session.commit()
        users = {u.username: u for u in session.scalars(select(m.User).where(m.User.role == "cadre"))}
        ids = []
        for q in range(questions):
            asker = users[f"hv{rng.randrange(viewers):05d}"]
            aid = assignment_of[int(asker.username[2:])]
            ids.append(panel.ask(session, asker, aid, f"Câu hỏi {q + 1} về {rng.choice(TOPICS)}: xã cần làm gì "
                                 "khi hướng dẫn của tỉnh chưa rõ?", for_group=q % 4 == 0).id)
        # votes in bulk (a few per cadre, popular questions more often), counters recounted once
        weights = [1 / (k + 1) for k in range(len(ids))]
        rows = {(q, u.id) for u in users.values() for q in rng.choices(ids, weights, k=3)}
        session.execute(insert(m.PanelVote), [{"question_id": q, "user_id": u} for q, u in rows])
        counted = select(func.count(m.PanelVote.id)).where(m.PanelVote.question_id == m.PanelQuestion.id)
        session.execute(update(m.PanelQuestion).values(votes=counted.scalar_subquery()))
        for qid in ids[:10]:
            panel.answer(session, lecturer, assignment_of[0], qid, "Trả lời của tọa đàm: căn cứ Luật Khiếu nại ...")
        session.commit()
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.exec_driver_sql("VACUUM ANALYZE")         # the planner knows the tables' sizes, as in a running system
    engine.dispose()
    return Seeded(tokens, assignment_of, ids)


# --- the server ------------------------------------------------------------------------------------------

def serve(url: str, port: int, workers: int, threads: int, instance: str) -> subprocess.Popen:
    env = {**os.environ, "CASELAB_DATABASE_URL": url, "CASELAB_SECRET_KEY": "bench-panel",
           "CASELAB_INSTANCE": instance, "CASELAB_TICK_SECONDS": "0"}
    return subprocess.Popen(
        [str(Path(sys.executable).with_name("gunicorn")), "--worker-class", "gthread", "--workers", str(workers),
         "--threads", str(threads), "--bind", f"127.0.0.1:{port}", "--keep-alive", "10",
         "--worker-connections", str(4000), "--backlog", "4096", "--log-level", "warning",
         "lms_plugin.web:create_app()"], cwd=ROOT, env=env, start_new_session=True)


def cpu_seconds(pids: list[int]) -> float:
    """utime + stime of these processes (and their dead children), from /proc."""
    ticks, total = os.sysconf("SC_CLK_TCK"), 0
    for pid in pids:
        try:
            fields_ = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += sum(int(x) for x in fields_[11:15])
    return total / ticks


def machine_busy() -> tuple[float, float]:
    """(busy, total) jiffies of all CPUs since boot, from /proc/stat."""
    values = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = values[3] + values[4]
    return sum(values) - idle, sum(values)


def server_pids(master: int) -> list[int]:
    """The gunicorn master, its workers, and the PostgreSQL backends connected to the bench's database."""
    pids = [master]
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmd = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        if ppid == master or (cmd.startswith(b"postgres:") and DB_NAME.encode() in cmd):
            pids.append(int(entry.name))
    return pids


# --- the load --------------------------------------------------------------------------------------------

@dataclass
class Phase:
    latencies: list[float] = field(default_factory=list)
    statuses: dict[int, int] = field(default_factory=dict)
    errors: int = 0
    received: list[list[tuple[float, int]]] = field(default_factory=list)   # per viewer: (time, version)
    changes: list[tuple[float, int]] = field(default_factory=list)          # (committed, version)
    writer_errors: int = 0


def version_of(token: str | None) -> int:
    try:
        return int((token or "").strip('"').split(":")[1])
    except (IndexError, ValueError):
        return -1


async def viewer(http, base: str, token: str, aid: int, etag: bool, offset: float, until: float,
                 phase: Phase, mine: list[tuple[float, int]]) -> None:
    url = f"{base}/api/v1/assignments/{aid}/units/panel"
    headers = {"Authorization": f"Bearer {token}"}
    held: str | None = None
    await asyncio.sleep(offset)
    tick = time.monotonic()
    while tick < until:
        send = dict(headers)
        if etag and held:
            send["If-None-Match"] = held
        started = time.monotonic()
        try:
            async with http.get(url, headers=send) as response:
                if response.status == 200:
                    await response.read()
                    held = response.headers.get("ETag")
                    mine.append((time.monotonic(), version_of(held)))
                elif response.status != 304:
                    phase.errors += 1
                phase.statuses[response.status] = phase.statuses.get(response.status, 0) + 1
        except Exception:
            phase.errors += 1
        phase.latencies.append(time.monotonic() - started)
        tick += LIVE_SECONDS
        await asyncio.sleep(max(0.0, tick - time.monotonic()))


async def writer(http, base: str, seeded: Seeded, every: float, until: float, phase: Phase) -> None:
    rng, n = random.Random(5), 0
    await asyncio.sleep(LIVE_SECONDS)            # every viewer holds a version first
    while time.monotonic() < until - every:
        who = rng.randrange(len(seeded.tokens))
        aid = seeded.assignments[who]
        if n % 2 == 0:
            action, body = "ask", {"body": f"Câu hỏi mới số {n}: {rng.choice(TOPICS)}?"}
        else:
            action, body = "vote", {"question_id": rng.choice(seeded.question_ids)}
        n += 1
        try:
            async with http.post(f"{base}/api/v1/assignments/{aid}/units/panel/actions/{action}", json=body,
                                 headers={"Authorization": f"Bearer {seeded.tokens[who]}"}) as response:
                answer = await response.json()
                if response.status == 200:
                    phase.changes.append((time.monotonic(), version_of(answer.get("version"))))
                else:
                    phase.writer_errors += 1
        except Exception:
            phase.writer_errors += 1
        await asyncio.sleep(every)


async def run_phase(base: str, seeded: Seeded, viewers: int, seconds: float, etag: bool, every: float) -> Phase:
    import aiohttp
    phase = Phase(received=[[] for _ in range(viewers)])
    connector = aiohttp.TCPConnector(limit=0, ttl_dns_cache=None)
    timeout = aiohttp.ClientTimeout(total=60)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as http:
        until = time.monotonic() + seconds
        rng = random.Random(3)
        tasks = [viewer(http, base, seeded.tokens[i], seeded.assignments[i], etag, rng.uniform(0, LIVE_SECONDS),
                        until, phase, phase.received[i]) for i in range(viewers)]
        tasks.append(writer(http, base, seeded, every, until, phase))
        await asyncio.gather(*tasks)
    return phase


# --- the figures -----------------------------------------------------------------------------------------

def pct(values: list[float], share: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, int(round(share * len(ordered))) - 1))]


def propagation(phase: Phase, end: float) -> dict[str, tuple[float, float]] | None:
    """For each change committed early enough to reach everyone: when 50 %, 99 % and 100 % of the viewers
    had a version at least as new. Median and worst over the changes, in seconds."""
    shares = {"50%": 0.50, "99%": 0.99, "100%": 1.0}
    per_share: dict[str, list[float]] = {k: [] for k in shares}
    for committed, version in phase.changes:
        if committed > end - 2 * LIVE_SECONDS or version < 0:
            continue
        delays = []
        for seen in phase.received:
            first = next((t for t, v in seen if v >= version), None)
            delays.append(float("inf") if first is None else max(0.0, first - committed))
        delays.sort()
        for name, share in shares.items():
            per_share[name].append(delays[max(0, int(round(share * len(delays))) - 1)])
    if not per_share["50%"]:
        return None
    return {name: (statistics.median(v), max(v)) for name, v in per_share.items()}


def report(name: str, phase: Phase, seconds: float, cpu: float, viewers: int) -> dict[str, float]:
    served = sum(phase.statuses.values())
    not_modified = phase.statuses.get(304, 0)
    lat = [x * 1000 for x in phase.latencies]
    figures = {"rps": served / seconds, "p50": pct(lat, .5), "p95": pct(lat, .95), "p99": pct(lat, .99),
               "cpu_ms": 1000 * cpu / served if served else float("nan")}
    print(f"\n== {name}")
    print(f"viewers {viewers}, {seconds:.0f} s: {served} requests answered, {figures['rps']:.0f}/s, "
          f"{100 * not_modified / served if served else 0:.1f}% answered 304, errors {phase.errors} "
          f"(statuses {dict(sorted(phase.statuses.items()))})")
    print(f"latency p50 {figures['p50']:.0f} ms, p95 {figures['p95']:.0f} ms, p99 {figures['p99']:.0f} ms")
    print(f"server CPU (gunicorn + PostgreSQL) {cpu:.1f} s: {figures['cpu_ms']:.2f} ms per request")
    print(f"changes written {len(phase.changes)} (writer errors {phase.writer_errors})")
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--viewers", type=int, default=2000)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--write-every", type=float, default=1.0, help="seconds between the writer's changes")
    parser.add_argument("--cohorts", type=int, default=20)
    parser.add_argument("--questions", type=int, default=300)
    parser.add_argument("--database", default="postgresql://postgres@127.0.0.1:5432",
                        help="a PostgreSQL server; the database caselab_bench_panel is made there")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=32)
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--skip-peer", action="store_true", help="only the live phase")
    args = parser.parse_args()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, max(soft, 4 * args.viewers + 1024)), hard))

    started = time.monotonic()
    url = make_database(args.database)
    seeded = seed(url, args.viewers, args.cohorts, args.questions)
    print(f"seeded in {time.monotonic() - started:.0f} s: {len(seeded.tokens)} cadres in {args.cohorts} cohorts, "
          f"{len(seeded.question_ids)} questions on one board")
    instance = tempfile.mkdtemp(prefix="caselab-bench-")
    server = serve(url, args.port, args.workers, args.threads, instance)
    base = f"http://127.0.0.1:{args.port}"
    try:
        wait_ready(base, seeded)
        pids = server_pids(server.pid)
        results = {}
        for name, etag in (("live: If-None-Match every 5 s", True), ("peer: full state every 5 s", False)):
            if not etag and args.skip_peer:
                break
            before, mine, busy = cpu_seconds(pids), resource.getrusage(resource.RUSAGE_SELF), machine_busy()
            begin = time.monotonic()
            phase = asyncio.run(run_phase(base, seeded, args.viewers, args.seconds, etag, args.write_every))
            end = time.monotonic()
            spent = cpu_seconds(server_pids(server.pid)) - before
            results[name] = report(name, phase, end - begin, spent, args.viewers)
            after = resource.getrusage(resource.RUSAGE_SELF)
            busy_after = machine_busy()
            print(f"load generator CPU {after.ru_utime + after.ru_stime - mine.ru_utime - mine.ru_stime:.1f} s; "
                  f"the machine's {os.cpu_count()} CPUs busy "
                  f"{100 * (busy_after[0] - busy[0]) / max(1, busy_after[1] - busy[1]):.0f}% (other work counts too)")
            if etag:
                spread = propagation(phase, end)
                if spread:
                    print("propagation (commit -> share of viewers holding it), median / worst over changes: "
                          + ", ".join(f"{k} {m:.2f} s / {w:.2f} s" for k, (m, w) in spread.items()))
        if len(results) == 2:
            live, peer = results.values()
            print("\npeer / live: " + ", ".join(f"{k} ×{peer[k] / live[k]:.2f}" for k in
                                                 ("rps", "p50", "p95", "p99", "cpu_ms")))
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)


def wait_ready(base: str, seeded: Seeded, timeout: float = 60) -> None:
    import urllib.request
    deadline = time.monotonic() + timeout
    request = urllib.request.Request(f"{base}/api/v1/assignments/{seeded.assignments[0]}/units/panel",
                                     headers={"Authorization": f"Bearer {seeded.tokens[0]}"})
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(request, timeout=5) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.5)
    raise SystemExit("gunicorn did not answer")


if __name__ == "__main__":
    main()
