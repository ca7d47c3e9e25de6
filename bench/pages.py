"""The organisers', lecturers' and examiners' pages at size: time and size of each, and the web workers' memory
while the exports stream. PostgreSQL, the production server (gunicorn), each page requested as its user.

    .venv/bin/python bench/pages.py [--cadres 20000 --communes 660 --essays 10000] [--requests 20]
                                    [--database postgresql://postgres@127.0.0.1:5432/caselab_pages]

1. The course: ``caselab db upgrade``, ``caselab import scenarios rubrics`` and ``caselab demo --cadres N
   --communes M --essays K`` into the database (skipped when it already holds that many cadres and essays).
2. ``caselab serve --workers 4``; admin1, lecturer1 and examiner1 sign in through the login form, examiner1
   also takes an API token.
3. Each page ``--requests`` times after two warm-up requests, one at a time: p50, p95 and the size of the
   answer. The exports are read as they stream (never held whole here) while the RSS of every gunicorn worker
   is sampled from /proc every 50 ms: the table shows the largest worker's peak and its growth over its RSS
   before the request.
"""
from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import tempfile
import threading
import time
from pathlib import Path

import requests
from serving import BIN, caselab, ensure_database, free_port
from sqlalchemy import func, select, text

from lms_plugin.store import db, models as m

PASSWORD = "pages-demo-password"




def wait_for(url: str, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            requests.get(url, timeout=2)
            return
        except requests.ConnectionError:
            time.sleep(0.3)
    raise SystemExit(f"the server did not answer at {url}")






def seed(args) -> dict[str, int]:
    ensure_database(args.database)
    caselab(args.database, "db", "upgrade")
    engine = db.make_engine(args.database)
    with engine.connect() as conn:
        cadres = conn.scalar(select(func.count()).select_from(m.User).where(m.User.role == "cadre")) or 0
        essays = conn.scalar(select(func.count()).select_from(m.Essay)) or 0
    if cadres < args.cadres or essays < args.essays:
        caselab(args.database, "import", "scenarios", "rubrics")
    # a rerun adds only what is missing, and the demo passwords are ours again
    spent = caselab(args.database, "demo", "--password", PASSWORD, "--cadres", str(args.cadres),
                    "--communes", str(args.communes), "--essays", str(args.essays))
    print(f"seeded (or reused) {args.cadres:,} cadres in {args.communes:,} communes with {args.essays:,} essays: "
          f"{spent:.0f} s")
    with engine.connect() as conn:
        assignment_id = conn.scalar(select(m.Essay.assignment_id).group_by(m.Essay.assignment_id)
                                    .order_by(func.count().desc()).limit(1))
        cohort_id = conn.scalar(select(m.Assignment.cohort_id).where(m.Assignment.id == assignment_id))
        found = {"assignment": assignment_id, "cohort": cohort_id,
                 "cadres": conn.scalar(select(func.count()).select_from(m.Membership)
                                       .where(m.Membership.cohort_id == cohort_id)),
                 "essays": conn.scalar(select(func.count()).select_from(m.Essay)
                                       .where(m.Essay.assignment_id == assignment_id)),
                 "groups": conn.scalar(select(func.count()).select_from(m.Group).where(m.Group.cohort_id == cohort_id))}
        conn.execute(text("ANALYZE"))
        conn.commit()
    engine.dispose()
    return found


class Server:
    def __init__(self, database: str, workers: int, folder: Path) -> None:
        self.port = free_port()
        self.folder = folder
        env = {**os.environ, "CASELAB_DATABASE_URL": database, "CASELAB_SECRET_KEY": "pages-bench",
               "CASELAB_TICK_SECONDS": "0", "CASELAB_INSTANCE": str(folder / "instance"),
               "CASELAB_INDEX_DIR": str(folder / "index")}
        self.proc = subprocess.Popen([str(BIN / "caselab"), "serve", "--workers", str(workers), "--port",
                                      str(self.port)], env=env, cwd=folder, stdout=subprocess.DEVNULL,
                                     stderr=open(folder / "server.log", "ab"))
        self.url = f"http://127.0.0.1:{self.port}"
        wait_for(self.url + "/login")
        time.sleep(2)               # every worker has booted

    def workers(self) -> list[int]:
        out = subprocess.run(["pgrep", "-P", str(self.proc.pid)], capture_output=True, text=True).stdout
        return [int(pid) for pid in out.split()]

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(30)
        except subprocess.TimeoutExpired:
            self.proc.kill()


def rss_mb(pid: int) -> float:
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except FileNotFoundError:
        pass
    return 0.0


class Sampler(threading.Thread):
    """The RSS of each worker every 50 ms while a request runs."""

    def __init__(self, pids: list[int]) -> None:
        super().__init__(daemon=True)
        self.pids = pids
        self.before = {pid: rss_mb(pid) for pid in pids}
        self.peak = dict(self.before)
        self.done = threading.Event()

    def run(self) -> None:
        while not self.done.is_set():
            for pid in self.pids:
                self.peak[pid] = max(self.peak[pid], rss_mb(pid))
            time.sleep(0.05)

    def stop(self) -> tuple[float, float]:
        """(the largest peak, the largest growth over the RSS before) in MB."""
        self.done.set()
        self.join()
        return max(self.peak.values()), max(self.peak[p] - self.before[p] for p in self.pids)


def signed_in(base: str, username: str) -> requests.Session:
    client = requests.Session()
    form = client.get(f"{base}/login").text
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', form) or \
        re.search(r'name="csrf_token" value="([^"]+)"', form)
    answer = client.post(f"{base}/login", data={"username": username, "password": PASSWORD,
                                                "csrf_token": token.group(1) if token else ""},
                         allow_redirects=False)
    if answer.status_code != 302:
        raise SystemExit(f"{username} could not sign in: {answer.status_code}")
    return client


def with_token(base: str, username: str) -> requests.Session:
    client = requests.Session()
    answer = client.post(f"{base}/api/v1/tokens", json={"username": username, "password": PASSWORD})
    answer.raise_for_status()
    client.headers["Authorization"] = f"Bearer {answer.json()['token']}"
    return client


def measure(client: requests.Session, url: str, times: int, pids: list[int] | None = None) -> dict:
    """Sizes are counted as the body streams in (an export is never held whole here)."""
    spent, sizes, peaks, growths = [], [], [], []
    for n in range(times + 2):
        sampler = Sampler(pids) if pids else None
        if sampler:
            sampler.start()
        started = time.perf_counter()
        with client.get(url, stream=True, timeout=300) as answer:
            size = sum(len(chunk) for chunk in answer.iter_content(1 << 16))
            status = answer.status_code
        took = time.perf_counter() - started
        if sampler:
            peak, growth = sampler.stop()
            peaks.append(peak)
            growths.append(growth)
        if status != 200:
            raise SystemExit(f"{url}: {status}")
        if n >= 2:                 # two warm-up requests
            spent.append(took)
            sizes.append(size)
    spent.sort()
    return {"p50": statistics.median(spent), "p95": spent[max(0, round(0.95 * len(spent)) - 1)],
            "size": statistics.median(sizes), "peak": max(peaks) if peaks else None,
            "growth": max(growths) if growths else None}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--database", default="postgresql://postgres@127.0.0.1:5432/caselab_pages")
    parser.add_argument("--cadres", type=int, default=20_000)
    parser.add_argument("--communes", type=int, default=660)
    parser.add_argument("--essays", type=int, default=10_000)
    parser.add_argument("--requests", type=int, default=20)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--only", default="", help="measure only the pages whose name contains one of these "
                                                   "comma-separated words (a run stays under five minutes)")
    args = parser.parse_args()

    course = seed(args)
    print(f"cohort {course['cohort']}: {course['cadres']:,} cadres, {course['groups']:,} groups, "
          f"{course['essays']:,} essays in assignment {course['assignment']}")
    with tempfile.TemporaryDirectory(prefix="caselab-pages-") as folder:
        server = Server(args.database, args.workers, Path(folder))
        try:
            base = server.url
            admin, lecturer = signed_in(base, "admin1"), signed_in(base, "lecturer1")
            examiner, api = signed_in(base, "examiner1"), with_token(base, "examiner1")
            cohort, assignment = course["cohort"], course["assignment"]
            pages = [
                ("admin accounts", admin, "/admin/accounts", False),
                ("lecturer progress", lecturer, f"/lecturer/assignments/{assignment}", False),
                ("examiner queue", examiner, "/examiner/", False),
                ("examiner queue, to mark", examiner, "/examiner/?status=todo", False),
                ("API grading queue", api, "/api/v1/grading/queue", False),
                ("similarity cohort view", lecturer, f"/similarity/assignments/{assignment}", False),
                ("grades CSV", admin, f"/admin/cohorts/{cohort}/grades.csv", True),
                ("grades XLSX", admin, f"/admin/cohorts/{cohort}/grades.xlsx", True),
                ("essays zip", admin, f"/admin/cohorts/{cohort}/essays.zip", True),
            ]
            print(f"{'page':<26} {'p50 ms':>8} {'p95 ms':>8} {'size kB':>10} {'worker peak MB':>15} "
                  f"{'growth MB':>10}")
            for name, client, path, export in pages:
                if args.only and not any(word in name for word in args.only.split(",")):
                    continue
                found = measure(client, base + path, args.requests, server.workers() if export else None)
                peak = f"{found['peak']:.0f}" if found["peak"] is not None else ""
                growth = f"{found['growth']:.0f}" if found["growth"] is not None else ""
                print(f"{name:<26} {found['p50'] * 1000:>8.0f} {found['p95'] * 1000:>8.0f} "
                      f"{found['size'] / 1000:>10,.0f} {peak:>15} {growth:>10}", flush=True)
        finally:
            server.stop()


if __name__ == "__main__":
    main()
