"""The ``caselab`` command: content, database, accounts and cohorts from the shell.

Each command parses its arguments, calls a service and commits at the end:
the command is the unit of work.
"""
from __future__ import annotations

import json
import os
import sys
from datetime import datetime, timezone
from typing import Any

import click

from .services import accounts, channels, cohorts, jobs, roster, roster_imports, runtime
from .services.catalog import load_catalog
from .services.content import import_catalog, scenario_catalogue
from .services.demo import seed_demo
from .services.errors import ServiceError
from .settings import Settings, SettingsError


class Context:
    def __init__(self, settings: Settings):
        self.settings = settings         # built once for the command; the services read the same
        self._engine: runtime.Engine | None = None

    @property
    def engine(self):
        if self._engine is None:
            self._engine = runtime.make_engine(self.settings.database_url)
        return self._engine

    def session(self):
        if not runtime.has_tables(self.engine):
            raise click.ClickException("the database has no tables yet: run 'caselab db upgrade' first")
        return runtime.unit_of_work(runtime.session_factory(self.engine))


pass_ctx = click.make_pass_decorator(Context)
# background tasks declared when the command loads: `caselab serve`, `tick` and `worker` hand (and run) their jobs
# (the similarity tasks, which load scikit-learn, come with the commands that need them)
TASKS_LOADED = (roster_imports.TASK,)


def _fail(error: ServiceError) -> click.ClickException:
    return click.ClickException(error.message)


@click.group()
@click.option("--database", default=None,
              help="SQLAlchemy URL (default: CASELAB_DATABASE_URL or sqlite:///instance/caselab.db).")
@click.pass_context
def main(ctx: click.Context, database: str | None) -> None:
    """CaseLab: case-based learning, group discussion and essays with rubrics and similarity checks.

    Settings come from CASELAB_* variables (docs/deployment.md); a bad one stops every command, naming it."""
    try:
        settings = Settings.load({"DATABASE_URL": database} if database else None)
    except SettingsError as exc:
        raise click.ClickException(str(exc)) from None
    runtime.configure(settings)
    ctx.obj = Context(settings)


@main.group("db")
def db_group() -> None:
    """Database schema (Alembic migrations)."""


@db_group.command("upgrade")
@click.option("--revision", default="head", show_default=True)
@pass_ctx
def db_upgrade(ctx: Context, revision: str) -> None:
    """Create or migrate the tables."""
    runtime.upgrade(ctx.engine, revision)
    click.echo(f"database at {ctx.engine.url.render_as_string(hide_password=True)} is at {revision}")


@db_group.command("downgrade")
@click.option("--revision", default="base", show_default=True)
@pass_ctx
def db_downgrade(ctx: Context, revision: str) -> None:
    """Undo migrations (down to an empty database by default)."""
    runtime.downgrade(ctx.engine, revision)
    click.echo(f"database is at {revision}")


def _report_errors(catalog) -> None:
    for error in catalog.errors:
        click.echo(str(error), err=True)


@main.command("validate")
@click.argument("paths", nargs=-1, required=True)
def validate(paths: tuple[str, ...]) -> None:
    """Check scenario, rubric and course files; exit 1 on any error."""
    catalog = load_catalog(list(paths))
    if not catalog.ok:
        _report_errors(catalog)
        click.echo(f"{len(catalog.errors)} error(s)", err=True)
        sys.exit(1)
    for loaded in catalog.courses:
        click.echo(f"course {loaded.course.id}: {loaded.course.title}")
    titles = {(c.course.id, str(t.id)): t.title for c in catalog.courses for t in c.course.topics}
    for (course_id, topic), count in catalog.per_topic().items():
        click.echo(f"  topic {topic}: {count} scenario(s)  {titles.get((course_id, topic), '')}")
    click.echo(f"ok: {len(catalog.scenarios)} scenario(s), {len(catalog.rubrics)} rubric(s), "
               f"{len(catalog.courses)} course(s)")


@main.command("import")
@click.argument("paths", nargs=-1, required=True)
@pass_ctx
def import_(ctx: Context, paths: tuple[str, ...]) -> None:
    """Store courses, rubrics and scenarios; a changed file becomes a new version."""
    catalog = load_catalog(list(paths))
    if not catalog.ok:
        _report_errors(catalog)
        click.echo("nothing imported", err=True)
        sys.exit(1)
    with ctx.session() as session:
        done = import_catalog(session, catalog)
    counts: dict[str, int] = {}
    for item in done:
        counts[item.status] = counts.get(item.status, 0) + 1
        if item.status != "unchanged":
            version = f" v{item.version}" if item.version else ""
            click.echo(f"{item.status:9} {item.kind} {item.id}{version}")
    click.echo(", ".join(f"{n} {status}" for status, n in sorted(counts.items())))


@main.group("scenarios")
def scenarios_group() -> None:
    """Scenarios in the database."""


@scenarios_group.command("list")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
@pass_ctx
def scenarios_list(ctx: Context, fmt: str) -> None:
    with ctx.session() as session:
        rows = [{"id": v.slug, "version": v.number, "topic": v.topic, "title": v.title,
                 "course": v.course_slug, "versions": v.versions}
                for v in scenario_catalogue(session)]
    if fmt == "json":
        click.echo(json.dumps(rows, ensure_ascii=False, indent=2))
        return
    for row in rows:
        click.echo(f"{row['topic']:>3}  {row['id']:45} v{row['version']:<3} {row['title']}")
    click.echo(f"{len(rows)} scenario(s)")


@main.group("users")
def users_group() -> None:
    """Accounts."""


@users_group.command("add")
@click.argument("username")
@click.option("--role", type=click.Choice(accounts.ROLES), required=True)
@click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True,
              help="At least 8 characters (asked for when not given).")
@click.option("--name", "display_name", default="")
@click.option("--province", default="")
@click.option("--commune", default="")
@click.option("--temporary", is_flag=True, help="The owner must replace this password at the first sign-in.")
@pass_ctx
def users_add(ctx: Context, username, role, password, display_name, province, commune, temporary) -> None:
    try:
        with ctx.session() as session:
            user = accounts.create_user(session, username, role, password, display_name=display_name,
                                        province=province, commune=commune)
            user.must_change_password = temporary
    except ServiceError as exc:
        raise _fail(exc) from None
    click.echo(f"added {role} {username}" + (" (password to be replaced at the first sign-in)" if temporary else ""))


@users_group.command("reset-password")
@click.argument("username")
@pass_ctx
def users_reset_password(ctx: Context, username) -> None:
    """Print a new one-time password for USERNAME (e.g. the only organiser, locked out);
    it must be replaced at the next sign-in."""
    try:
        with ctx.session() as session:
            _user, password = accounts.reset_password(session, None, accounts.get_user(session, username).id)
    except ServiceError as exc:
        raise _fail(exc) from None
    click.echo(f"{username}: {password}  (shown once; to be replaced at the next sign-in)")


@main.group("cohorts")
def cohorts_group() -> None:
    """Cohorts, groups, members and assignments."""


@cohorts_group.command("create")
@click.argument("name")
@click.option("--course", "course_slug", required=True, help="Course id from its course.yaml.")
@pass_ctx
def cohorts_create(ctx: Context, name: str, course_slug: str) -> None:
    try:
        with ctx.session() as session:
            cohorts.add_cohort(session, name, course_slug)
    except ServiceError as exc:
        raise _fail(exc) from None
    click.echo(f"created cohort {name}")


@cohorts_group.command("add-member")
@click.argument("cohort")
@click.argument("username")
@click.option("--group", "group_name", default=None, help="Group (usually the commune); created if new.")
@pass_ctx
def cohorts_add_member(ctx: Context, cohort: str, username: str, group_name: str | None) -> None:
    try:
        with ctx.session() as session:
            cohorts.enrol(session, cohort, username, group_name)
    except ServiceError as exc:
        raise _fail(exc) from None
    click.echo(f"{username} is in {cohort}" + (f", group {group_name}" if group_name else ""))


@main.group("roster")
def roster_group() -> None:
    """Lists of people (CSV or XLSX) imported into a cohort."""


@roster_group.command("import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@click.option("--cohort", "cohort_ref", required=True, help="Cohort id (or name).")
@click.option("--dry-run", is_flag=True, help="Show what would be created, updated, left unchanged or rejected; "
                                               "write nothing.")
@click.option("--as", "organiser", default=None,
              help="The organiser's username recorded in the audit log (default: the first active admin).")
@click.option("--links", "links_path", default=None, type=click.Path(dir_okay=False),
              help="Where the new accounts' one-time sign-in links go (CSV; default sign-in-links-<cohort>-<time>.csv"
                   "). Written once, readable by you only; the links are not stored anywhere else.")
@click.option("--show", default=20, show_default=True, type=click.IntRange(0),
              help="Rows listed per outcome (the counts cover every row).")
@click.option("--quiet", is_flag=True, help="No progress bar.")
@pass_ctx
def roster_import(ctx: Context, path: str, cohort_ref: str, dry_run: bool, organiser: str | None,
                  links_path: str | None, show: int, quiet: bool) -> None:
    """Import a roster: rows matching an account (by personal number, username, or name + commune + contact)
    update it, the others create one; importing the same file again changes nothing."""
    from pathlib import Path
    from time import perf_counter

    from tqdm import tqdm

    raw = Path(path).read_bytes()
    started = perf_counter()
    try:
        rows = roster.read_roster(path, raw)
        with ctx.session() as session:
            actor = _organiser(session, organiser)
            cohort = cohorts.cohort_view(session, cohort_ref)
            if dry_run:
                plan = roster.plan_roster(session, actor, cohort.id, rows)
                session.rollback()
                _print_plan(plan, show)
                click.echo(f"dry run: nothing written ({perf_counter() - started:.1f} s)")
                return
            target = Path(links_path or f"sign-in-links-{cohort.id}-{datetime.now():%Y%m%d-%H%M%S}.csv")
            if target.exists():
                raise click.ClickException(f"{target} exists: name another file with --links")
            with tqdm(total=len(rows), unit="row", disable=quiet, file=sys.stderr) as bar:
                result = roster.apply_roster(session, actor, cohort.id, rows, base_url=ctx.settings.base_url,
                                             progress=bar.update)
    except ServiceError as exc:
        raise _fail(exc) from None
    _print_plan(result.plan, show)
    if result.created:
        fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8-sig", newline="") as out:
            out.write(result.links_csv())
        click.echo(f"one-time sign-in links of the {len(result.created)} new account(s): {target} "
                   f"(valid {roster.sign_in_links.LINK_DAYS} days; hand them out, then delete the file)")
    click.echo(f"imported in {perf_counter() - started:.1f} s, {result.batches} batch(es), longest "
               f"{result.longest_batch_seconds:.2f} s")


def _organiser(session, username: str | None):
    if username:
        return accounts.get_user(session, username)
    found = accounts.first_organiser(session)
    if found is None:
        raise click.ClickException("no organiser account: add one with 'caselab users add NAME --role admin'")
    return found


def _print_plan(plan, show: int) -> None:
    def plain(msgid: str, **params) -> str:        # the reasons as written (Vietnamese)
        return msgid % params if params else msgid
    counts = plan.counts()
    click.echo(", ".join(f"{counts[o]} {o}" for o in ("created", "updated", "unchanged", "rejected")))
    for outcome in ("rejected", "created", "updated"):
        for p in plan.first(outcome, show):
            detail = p.translated(plain)
            line = f"  row {p.row:>6}  {outcome:9} {p.username or '-':20} {p.name}"
            click.echo(line + (f": {detail}" if detail else ""))
        if counts[outcome] > show and show:
            click.echo(f"  … and {counts[outcome] - show} more {outcome}")


def _when(value: str | None) -> datetime | None:
    if not value:
        return None
    moment = datetime.fromisoformat(value)
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


@cohorts_group.command("assign")
@click.argument("cohort")
@click.argument("scenario_ids", nargs=-1, required=True)
@click.option("--opens", default=None, help="ISO time, e.g. 2026-12-01T07:30+07:00")
@click.option("--closes", default=None)
@click.option("--examiner", "examiners", multiple=True, help="Examiner username (repeat for double marking).")
@pass_ctx
def cohorts_assign(ctx: Context, cohort, scenario_ids, opens, closes, examiners) -> None:
    try:
        with ctx.session() as session:
            found = cohorts.cohort_view(session, cohort)
            people = [accounts.get_user(session, name).id for name in examiners]
            for slug in scenario_ids:
                assignment = cohorts.assign(session, found.id, slug, opens_at=_when(opens), closes_at=_when(closes),
                                            examiner_ids=people)
                click.echo(f"assignment {assignment.id}: {slug} -> {cohort}")
    except ServiceError as exc:
        raise _fail(exc) from None
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None


@main.command("similarity")
@click.option("--input", "input_path", required=True, type=click.Path(exists=True, dir_okay=False),
              help='Essays, one JSON object a line: {"id": …, "text": …}.')
@click.option("--reference", "reference_path", type=click.Path(exists=True, dir_okay=False),
              help="Sources essays may copy from (lecture notes, legal texts), same format.")
@click.option("--exclude", "exclude_path", type=click.Path(exists=True, dir_okay=False),
              help="Texts whose passages never count (the scenario, the essay template).")
@click.option("--min-score", default=0.1, show_default=True, type=click.FloatRange(0, 1),
              help="Report a pair when this share of the essay is found in the source.")
@click.option("--output", "output_path", required=True, type=click.Path(dir_okay=False, writable=True))
@click.option("--on-error", type=click.Choice(["stop", "skip"]), default="stop", show_default=True,
              help="On a bad input line: stop, or report it and go on.")
@click.option("--boilerplate-share", default=None, type=click.FloatRange(0, 1, min_open=True),
              help="Text found in more than this share of the essays (and in more than 5) is boilerplate "
                   "and never counts; raise it when a model answer may have reached many. "
                   "[default: CASELAB_SIMILARITY_BOILERPLATE_SHARE, else 0.1]")
@click.option("--quiet", is_flag=True, help="No progress bar.")
@pass_ctx
def similarity_cmd(ctx: Context, input_path, reference_path, exclude_path, min_score, output_path, on_error,
                   boilerplate_share, quiet) -> None:
    """Find reused passages across essays; one JSON line per (essay, source) pair."""
    from .services.similarity_batch import BatchInputError, run_batch
    if boilerplate_share is None:
        boilerplate_share = ctx.settings.similarity_boilerplate_share
    try:
        summary = run_batch(input_path, output_path, reference_path, exclude_path, min_score,
                            on_error=on_error, progress=not quiet,
                            boilerplate_share=boilerplate_share)
    except BatchInputError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"{summary.essays} essay(s), {summary.references} reference(s), {summary.excluded} excluded, "
               f"{summary.skipped_lines} bad line(s) skipped: {summary.pairs_written} pair(s) written to "
               f"{output_path} in {summary.seconds:.1f} s", err=True)


@main.command("demo")
@click.option("--password", required=True, help="Password for every demo account (at least 8 characters).")
@click.option("--cadres", default=6, show_default=True, type=click.IntRange(1),
              help="cadre1…cadreN, e.g. 100000 for a national course.")
@click.option("--communes", default=2, show_default=True, type=click.IntRange(1),
              help="Commune groups the cadres are spread over (about 97 to a province).")
@click.option("--essays", default=0, show_default=True, type=click.IntRange(0),
              help="The first K cadres have submitted the essay (rounds 1-2 allocated, similarity pending).")
@pass_ctx
def demo(ctx: Context, password: str, cadres: int, communes: int, essays: int) -> None:
    """Seed a demo cohort: lecturer1, examiner1-2, admin1, cadre1-6 in two communes, every scenario assigned and
    open; or, with --cadres/--communes/--essays, a national course at its deadline. A rerun adds only what is
    missing and resets the demo passwords."""
    from time import perf_counter
    if essays > cadres:
        raise click.BadParameter(f"at most --cadres ({cadres}) essays", param_hint="--essays")
    started = perf_counter()
    try:
        with ctx.session() as session:
            summary = seed_demo(session, password, cadres=cadres, communes=communes, essays=essays)
    except ServiceError as exc:
        raise _fail(exc) from None
    click.echo(f"demo cohort '{summary.cohort}': {summary.assignments} assignment(s) open")
    click.echo(f"accounts: {', '.join(summary.staff)}, cadre1…cadre{summary.cadres} in {summary.communes} "
               f"commune group(s) ({summary.people_added} account(s) and {summary.memberships_added} "
               f"membership(s) added now)")
    if summary.essays and summary.essay_assignment_id is not None:
        click.echo(f"essays: cadre1…cadre{summary.essays} submitted on assignment {summary.essay_assignment_id} "
                   f"({summary.essays_added} added now)")
    click.echo(f"password: {password}")
    click.echo(f"seeded in {perf_counter() - started:.1f} s")


def _channel_config(settings: Settings) -> dict[str, Any]:
    """The notification channels' settings: CASELAB_* variables, named without the prefix (a plugged-in
    channel's own ones too), CaseLab's as the command read them (MAIL_PORT a number); refused at once when one
    can never work."""
    config: dict[str, Any] = {key.removeprefix("CASELAB_"): value for key, value in os.environ.items()
                              if key.startswith("CASELAB_")}
    config.update(settings.as_config())
    try:
        channels.check_all(config)
    except (ValueError, channels.ChannelError) as exc:       # a bad setting, or a plugin giving no Channel
        raise click.ClickException(str(exc)) from None
    return config


@main.command("tick")
@pass_ctx
def tick(ctx: Context) -> None:
    """Periodic work, run every minute (cron or a systemd timer): drafts submitted at their deadline where the
    assignment asks for it, deadline reminders, then notifications through every channel (e-mail built in,
    others from plugins).

    Mail settings come from CASELAB_MAIL_SERVER, _PORT, _USERNAME, _PASSWORD, _USE_TLS, _SENDER and
    CASELAB_BASE_URL (links in mails); other channels read their own CASELAB_* variables. Without
    CASELAB_MAIL_SERVER mail is off and notifications wait. Exits 1 when a channel could not be used.
    """
    from .ticker import run_once
    config = _channel_config(ctx.settings)
    with ctx.session():
        pass   # refuse early, with the message, when the database is not migrated
    report = run_once(runtime.session_factory(ctx.engine), config)
    handed = jobs.dispatch(runtime.session_factory(ctx.engine))
    click.echo(f"drafts submitted at the deadline: {report.auto_submitted}")
    click.echo(f"background jobs handed again: {handed}")
    click.echo(f"deadline reminders: {report.reminded}")
    for name, delivery in report.deliveries.items():
        click.echo(f"{name}: {delivery.summary}")
    for name, error in report.errors.items():
        click.echo(f"{name} error: {error}", err=True)
    if report.errors:
        sys.exit(1)


@main.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
@click.option("--workers", default=0, show_default=True, type=click.IntRange(0, 64),
              help="gunicorn worker processes for production; 0 runs the one-process trial server.")
@click.option("--threads", default=1, show_default=True, type=click.IntRange(1, 64),
              help="Threads per gunicorn worker (more than 1: gunicorn's gthread workers).")
@click.option("--timeout", default=60, show_default=True, type=click.IntRange(5, 3600),
              help="Seconds before gunicorn restarts a worker stuck in one request.")
@pass_ctx
def serve(ctx: Context, host: str, port: int, workers: int, threads: int, timeout: int) -> None:
    """Serve the web app: the one-process trial server, or gunicorn with --workers (production).

    Either way this process also runs the periodic work (CASELAB_TICK_SECONDS; 0: none, run `caselab tick`
    from a timer instead) and hands again background jobs that were lost (a killed worker, a restarted broker)."""
    with ctx.session():
        pass   # refuse early, with the message, when the database is not migrated
    config = _channel_config(ctx.settings)
    if workers:
        from .web import production
        click.echo(f"CaseLab on http://{host}:{port}/ (gunicorn, {workers} worker(s) x {threads} thread(s))")
        production.serve(ctx.settings, host, port, workers, threads, timeout,
                         on_ready=lambda: _background(ctx.settings, config, runtime.make_unpooled_engine()))
        return
    from .web import create_app
    app = create_app(settings=ctx.settings)
    _background(ctx.settings, config, app.extensions["caselab.engine"])
    click.echo(f"CaseLab on http://{host}:{port}/")
    from .web.headers import QuietRequestHandler
    # Never the debugger (it runs Python for whoever sees its page) nor the reloader, whatever FLASK_DEBUG or
    # a .env says; the request handler answers "Server: CaseLab", without Werkzeug's and Python's versions.
    app.run(host=host, port=port, threaded=True, debug=False, use_debugger=False, use_reloader=False,
            load_dotenv=False, request_handler=QuietRequestHandler)


DISPATCH_SECONDS = 5      # how soon a lost job is handed again, at most (after its grace or lease has run out)


def _background(settings: Settings, config: dict[str, Any], engine) -> None:
    """The periodic work and the job dispatcher, in daemon threads of this process."""
    factory = runtime.session_factory(engine)
    if settings.tick_seconds > 0:
        from .ticker import start_background
        start_background(factory, config, settings.tick_seconds)
        jobs.start_dispatcher(factory, min(DISPATCH_SECONDS, settings.job_grace_seconds))


@main.command("worker")
@click.option("--queues", default="checks,index", show_default=True,
              help="Queues this worker takes: checks (similarity checks), index (course index rebuilds, roster "
                   "imports).")
@click.option("--concurrency", default=1, show_default=True, type=click.IntRange(1, 64),
              help="Processes of this worker (1: the worker runs tasks itself; start one worker per core).")
@click.option("--loglevel", default="info", show_default=True,
              type=click.Choice(["debug", "info", "warning", "error"]))
@pass_ctx
def worker(ctx: Context, queues: str, concurrency: int, loglevel: str) -> None:
    """Run a Celery worker for the background jobs (CASELAB_JOBS=celery, broker CASELAB_BROKER_URL).

    It also hands again jobs that were lost: written but never handed, or cut off when a worker died."""
    wanted = [q.strip() for q in queues.split(",") if q.strip()]
    unknown = sorted(set(wanted) - set(jobs.QUEUES))
    if unknown or not wanted:
        named = ", ".join(unknown) or repr(queues)
        raise click.ClickException(f"unknown queue: {named} (known: {', '.join(jobs.QUEUES)})")
    if ctx.settings.jobs != "celery":
        raise click.ClickException("CASELAB_JOBS is not celery: jobs run in the web process; no worker is needed")
    with ctx.session():
        pass   # refuse early, with the message, when the database is not migrated
    from .services import similarity  # noqa: F401  # declares the similarity tasks
    jobs.start_dispatcher(runtime.session_factory(ctx.engine), min(DISPATCH_SECONDS, ctx.settings.job_grace_seconds))
    jobs.run_worker(wanted, concurrency, loglevel)


if __name__ == "__main__":
    main()
