"""The lecturer's progress page at national size, level by level, in process (the Flask test client, no server).

    .venv/bin/python bench/progress_drill.py --database postgresql://postgres@127.0.0.1:5432/caselab_progress \
        --password PW [--requests 20] [--user lecturer1]

The database is seeded first (``caselab db upgrade``, ``caselab import scenarios rubrics``, ``caselab demo
--password PW --cadres 100000 --communes 3300 --essays 20000``). The first assignment with essays is drilled
down: the provinces, the largest province's communes (first and second page), its largest commune's groups,
that group's cadres, members not placed, a search for a commune and one for a cadre; each page ``--requests``
times after two warm-up requests: p50, p95, the size of the answer and the statements it ran.
"""
from __future__ import annotations

import argparse
import re
import statistics
import time
from html import unescape
from urllib.parse import quote

from sqlalchemy import event, func, select

from lms_plugin.store import db, models as m
from lms_plugin.web import create_app


def first_link(page: str, test: str) -> str:
    found = re.search(rf'href="([^"]+)"[^>]*? data-test="{test}"', page)
    if found is None:
        raise SystemExit(f"no {test} link on the page")
    return unescape(found.group(1)).split("#")[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", required=True)
    parser.add_argument("--password", required=True)
    parser.add_argument("--user", default="lecturer1")
    parser.add_argument("--requests", type=int, default=20)
    args = parser.parse_args()

    engine = db.make_engine(args.database)
    statements = [0]
    event.listen(engine, "before_cursor_execute", lambda *a: statements.__setitem__(0, statements[0] + 1))
    app = create_app({"ENGINE": engine, "SECRET_KEY": "bench", "WTF_CSRF_ENABLED": False})
    client = app.test_client()
    signed = client.post("/login", data={"username": args.user, "password": args.password})
    assert signed.status_code == 302, signed.text[:500]
    with engine.connect() as conn:
        assignment_id = conn.scalar(select(m.Essay.assignment_id).group_by(m.Essay.assignment_id)
                                    .order_by(func.count().desc()).limit(1))
        cadres = conn.scalar(select(func.count()).select_from(m.Membership))
        name = conn.scalar(select(m.User.display_name).where(m.User.username == "cadre77777"))
    base = f"/lecturer/assignments/{assignment_id}"
    top = client.get(base).text
    province = first_link(top, "open-place")
    communes = client.get(province).text
    commune = first_link(communes, "open-place")
    groups = client.get(commune).text
    group = first_link(groups, "open-group")
    pages = [("provinces", base), ("communes of a province", province)]
    if 'data-test="progress-next"' in communes:
        pages.append(("communes, 2nd page", first_link(communes, "progress-next")))
    pages += [("groups of a commune", commune), ("cadres of a group", group),
              ("cadres by group id alone", base + "?group=" + group.split("group=")[1].split("&")[0]),
              ("search a commune", f"{base}?q={quote('Phúc Thái')}"),
              ("search a cadre", f"{base}?q={quote(name or 'Nguyễn')}")]
    print(f"{cadres:,} memberships; assignment {assignment_id}; {args.requests} requests a page\n")
    print("| page | p50 ms | p95 ms | kB | statements |\n|---|---|---|---|---|")
    for label, url in pages:
        times = []
        for i in range(args.requests + 2):
            statements[0] = 0
            started = time.perf_counter()
            answer = client.get(url)
            elapsed = time.perf_counter() - started
            assert answer.status_code == 200, (url, answer.status_code)
            if i >= 2:
                times.append(elapsed * 1000)
        times.sort()
        p95 = times[max(0, round(0.95 * len(times)) - 1)]
        print(f"| {label} | {statistics.median(times):.0f} | {p95:.0f} | {len(answer.data) / 1024:.0f} "
              f"| {statements[0]} |")


if __name__ == "__main__":
    main()
