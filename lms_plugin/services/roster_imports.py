"""The organiser's roster import on the web, as a background job: "Nhập" returns at once, a page follows the job.

``start`` (the "Nhập" after the dry run) checks that the file kept on the server is still the one the dry run
read, writes a ``roster_imports`` row naming it (cohort, organiser, the file's sha256 and kind) and defers the job
``roster.import`` with that row's id alone, in the request's transaction. The job reads the kept file and runs
``roster.apply_roster``: batches of BATCH_ROWS rows, each its own short transaction, the rows done noted on the row
after each. At the end it keeps the new accounts' sign-in links for one download (roster_files.py) and stores the
counts and the first rows created and rejected on the row; ``progress`` reads it all for the page.

A run cut off (a worker killed, the database gone away) is run again by the job machinery (services/jobs.py). It
applies the same file again: every row a cut-off run wrote matches the account it made, so nothing is created
twice. Those accounts' sign-in links were lost with that run (only their sha256 is stored): the run that finishes
gives them new secrets and counts them as created, so the organiser gets the result and the links an
uninterrupted run would have given. It knows them by their links' time: every run of an import writes with the
time its first run began (``began_at``), and no other import writes at that very microsecond.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from ..store import models as m
from . import cohorts, job_status, jobs, policy, roster, roster_files, runtime, sign_in_links
from .errors import Conflict, NotFound, ServiceError

TASK = "roster.import"
LEASE_SECONDS = 30 * 60         # 100,000 rows take a minute or two: a run this long has surely been cut off
BATCH_ROWS = roster.BATCH_ROWS  # rows per transaction; the rows done are noted after each batch
ROWS_SHOWN = 50                 # rows created and rejected kept for the result page; the counts tell the rest
FINISHED = ("done", "failed")


def _now() -> datetime:
    return datetime.now(timezone.utc)


def instance_folder() -> Path:
    """Where the web app keeps the checked files and the links (its instance folder): a worker runs in the same
    working folder with the same settings, or shares the folder."""
    return Path(runtime.settings().instance).resolve()


# ---- what the page shows -------------------------------------------------------------------------------

@dataclass(frozen=True)
class CreatedRow:
    row: int
    name: str
    username: str
    role: str
    group: str


@dataclass(frozen=True)
class RejectedRow:
    row: int
    reason: str                              # msgid
    params: Mapping[str, Any] = field(default_factory=dict)

    def translated(self, gettext: Callable[..., str]) -> str:
        return gettext(self.reason, **self.params) if self.params else gettext(self.reason)


@dataclass(frozen=True)
class ImportView:
    """One import as its page shows it. ``state``: queued, running, retrying (a run failed; the job waits to run
    again), done, or failed (``error``: a msgid, the file or the rights were wrong; ``job_error``: the job gave up
    after its attempts, as the jobs page shows it, and ``can_retry``)."""
    id: int
    cohort_id: int
    state: str
    rows_done: int
    rows_total: int | None
    counts: Mapping[str, int]
    created: tuple[CreatedRow, ...]
    rejected: tuple[RejectedRow, ...]
    links_ticket: str | None                 # the one-time links download: for the organiser who started it only
    error: str | None = None
    error_params: Mapping[str, Any] = field(default_factory=dict)
    job_error: str | None = None
    can_retry: bool = False
    mine: bool = True

    @property
    def finished(self) -> bool:
        return self.state in FINISHED

    def error_text(self, gettext: Callable[..., str]) -> str | None:
        if self.error is None:
            return None
        return gettext(self.error, **self.error_params) if self.error_params else gettext(self.error)


def _plain(params: Mapping[str, Any]) -> dict[str, Any]:
    """Message parameters as JSON keeps them."""
    return {key: value if isinstance(value, (int, float, str)) else str(value) for key, value in params.items()}


def _state(row: m.RosterImport, job: m.Job | None) -> str:
    if row.state in FINISHED or job is None:
        return row.state
    if job.state == "failed":
        return "failed"
    if job.state == "queued" and job.error and job.attempts:
        return "retrying"
    return "running" if job.state == "running" else row.state


def _found(session: Session, user: m.User, cohort_id: int, import_id: int) -> tuple[m.RosterImport, m.Job | None]:
    row = session.get(m.RosterImport, import_id)
    if row is None or row.cohort_id != cohort_id:
        raise NotFound("Không tìm thấy lần nhập danh sách này")
    policy.require(user, "roster.import_result", row)
    return row, session.get(m.Job, row.job_id) if row.job_id is not None else None


def progress(session: Session, user: m.User, cohort_id: int, import_id: int) -> ImportView:
    """How far the import has got, or what it did. NotFound unless ``user`` started it or is a national
    organiser (and for an import of another cohort)."""
    row, job = _found(session, user, cohort_id, import_id)
    state = _state(row, job)
    result = row.result if isinstance(row.result, dict) else {}
    error = result.get("error") if isinstance(result.get("error"), dict) else None
    mine = row.user_id == user.id
    return ImportView(
        row.id, row.cohort_id, state, row.rows_done, row.rows_total,
        dict.fromkeys(roster.OUTCOMES, 0) | dict(result.get("counts", {})),
        tuple(CreatedRow(*entry) for entry in result.get("created", [])),
        tuple(RejectedRow(number, reason, params) for number, reason, params in result.get("rejected", [])),
        row.links_ticket if mine else None,
        error["msgid"] if error else None, error.get("params", {}) if error else {},
        job.error if job is not None and state in ("failed", "retrying") and not error else None,
        state == "failed" and job is not None and job.state == "failed", mine)


# ---- starting, and starting again ----------------------------------------------------------------------

def start(session: Session, user: m.User, cohort_id: int, digest: str, kind: str) -> int:
    """"Nhập": the checked file (kept in the instance folder by its sha256) is imported into the cohort by a job,
    handed to its runner once the caller commits; returns the import's id for its page. Raises Invalid when the
    file is not the one checked or is gone, NotFound for an unknown cohort. A second "Nhập" of the same file while
    its import waits or runs is that import."""
    policy.require(user, "roster.import")
    cohort = cohorts.get_cohort(session, cohort_id)
    roster_files.upload(instance_folder(), digest, kind)     # still there, still the content the dry run read
    under_way = session.execute(
        select(m.RosterImport.id, m.Job.state).outerjoin(m.Job, m.Job.id == m.RosterImport.job_id)
        .where(m.RosterImport.cohort_id == cohort.id, m.RosterImport.digest == digest,
               m.RosterImport.kind == kind, m.RosterImport.user_id == user.id,
               m.RosterImport.state.in_(("queued", "running")))
        .order_by(m.RosterImport.id.desc()).limit(1)).first()
    if under_way is not None and under_way.state in ("queued", "running"):
        return under_way.id
    row = m.RosterImport(cohort_id=cohort.id, user_id=user.id, digest=digest, kind=kind, state="queued",
                         rows_done=0, result={}, created_at=_now())
    session.add(row)
    session.flush()
    row.job_id = jobs.defer(session, TASK, import_id=row.id)
    return row.id


def retry(session: Session, user: m.User, cohort_id: int, import_id: int) -> ImportView:
    """The import whose job gave up runs again (the kept file is applied again: nothing is created twice), once
    the caller commits. Conflict when it has not failed so, or the file's hour is over."""
    view = progress(session, user, cohort_id, import_id)
    if not view.can_retry or view.job_error is None:
        raise Conflict("Lần nhập này không dừng vì lỗi nên không cần chạy lại")
    row = session.get(m.RosterImport, import_id)
    assert row is not None and row.job_id is not None
    roster_files.upload(instance_folder(), row.digest, row.kind)   # Invalid: gone, upload it again
    job_status.retry_job(session, user, row.job_id)
    return progress(session, user, cohort_id, import_id)


# ---- the job -------------------------------------------------------------------------------------------

@jobs.task(TASK, queue="index", lease_seconds=LEASE_SECONDS)
def run_import(session: Session, import_id: int) -> dict[str, Any]:
    """Import the kept file of ``roster_imports`` row ``import_id`` (see the module's docstring). A finished
    import is left as it is."""
    row = session.get(m.RosterImport, import_id)
    if row is None or row.state in FINISHED:
        return {"import_id": import_id, "state": row.state if row is not None else "missing"}
    instance = instance_folder()
    again = row.began_at is not None
    moment = row.began_at or _now()
    row.state, row.began_at, row.rows_done = "running", moment, 0
    session.commit()
    try:
        organiser = session.get(m.User, row.user_id)
        if organiser is None:
            raise NotFound("Không có tài khoản này")
        filename, raw = roster_files.upload(instance, row.digest, row.kind)
        rows = roster.read_roster(filename, raw)
        _set(session, import_id, rows_total=len(rows))
        done = 0

        def note(count: int) -> None:
            nonlocal done
            done += count
            _set(session, import_id, rows_done=done)

        base_url = runtime.settings().base_url
        result = roster.apply_roster(session, organiser, row.cohort_id, rows, base_url=base_url,
                                     batch_rows=BATCH_ROWS, progress=note, now=moment)
    except ServiceError as exc:         # the file is gone or changed, the cohort or the organiser's right gone
        session.rollback()
        _set(session, import_id, state="failed", finished_at=_now(),
             result={"error": {"msgid": exc.msgid, "params": _plain(exc.params)}})
        return {"import_id": import_id, "state": "failed"}
    counts = result.counts()
    created = list(result.created)
    if again:
        for plan, link in _links_again(session, result.plan.rows, moment, base_url):
            counts[plan.outcome] -= 1
            counts[roster.CREATED] += 1
            created.append(link)
    created.sort(key=lambda c: c.row)
    ticket = None
    if created:
        ticket = roster_files.keep_links(instance, "\ufeff" + roster.RosterResult(result.plan, created).links_csv())
    _set(session, import_id, state="done", finished_at=_now(), rows_done=len(rows), links_ticket=ticket, result={
        "counts": counts,
        "created": [[c.row, c.name, c.username, c.role, c.group] for c in created[:ROWS_SHOWN]],
        "rejected": [[p.row, p.reason, _plain(p.params)] for p in result.plan.first(roster.REJECTED, ROWS_SHOWN)],
        "batches": result.batches, "longest_batch_seconds": round(result.longest_batch_seconds, 3)})
    roster_files.discard_upload(instance, row.digest, row.kind)
    return {"import_id": import_id, "state": "done", **counts}


def _set(session: Session, import_id: int, **values: Any) -> None:
    """Change the import's row in a short transaction of its own (the page reads it while the job runs)."""
    session.execute(update(m.RosterImport).where(m.RosterImport.id == import_id).values(**values))
    session.commit()


def _chunks(values: Sequence[int], size: int = roster.LOOKUP_CHUNK) -> Iterable[Sequence[int]]:
    for begin in range(0, len(values), size):
        yield values[begin:begin + size]


def _links_again(session: Session, plans: Iterable[roster.RowPlan], moment: datetime,
                 base_url: str) -> list[tuple[roster.RowPlan, roster.Created]]:
    """The accounts of this file that a cut-off run of the same import created: their links (written at the
    import's time and never used) get new secrets, which only the cut-off run knew; a batch per transaction."""
    matched = {p.user_id: p for p in plans
               if p.outcome in (roster.UNCHANGED, roster.UPDATED) and p.user_id is not None}
    expires = sign_in_links.expiry(moment)
    found: list[tuple[roster.RowPlan, roster.Created]] = []
    for chunk in _chunks(sorted(matched)):
        links = session.execute(select(m.SignInLink.id, m.SignInLink.user_id).where(
            m.SignInLink.user_id.in_(chunk), m.SignInLink.created_at == moment,
            m.SignInLink.used_at.is_(None))).all()
        if not links:
            continue
        secrets = []
        for link_id, user_id in links:
            raw, digest = sign_in_links.new_secret()
            secrets.append({"id": link_id, "token_hash": digest})
            plan = matched[user_id]
            found.append((plan, roster.Created(plan.row, plan.username, plan.name, plan.role, plan.group,
                                               sign_in_links.url(base_url, raw), expires)))
        session.execute(update(m.SignInLink), secrets)
        session.commit()
    return found
