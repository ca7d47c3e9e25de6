"""Safe at the deadline rush: examiner loads kept by the database; essays the database refuses to change

``examiner_loads`` holds each examiner's unfinalised rounds, split into 16 shards by essay id (essay_id % 16),
so two submissions given the same examiners at once update different rows (a PostgreSQL row lock is held
until commit) and choosing examiners reads at most 16 rows per pool member instead of counting their grades.
Triggers on ``grades`` keep it, so no code path (ORM, Core, bulk seeding, SQL by hand) can forget it:
an unfinalised round inserted +1, finalised -1, un-finalised +1, moved to another examiner (or essay) moves
its count, deleted while open -1. PostgreSQL runs one statement-level trigger per event over the transition
tables (a bulk insert of 100,000 grades updates each counter row once per statement, in key order); SQLite
runs row triggers.

``essays`` rows are stored exactly as submitted: UPDATE and DELETE are refused by triggers on both backends
(an IntegrityError naming the rule), whatever code tries.

SQLite drops a table's triggers with the table: a later migration that rebuilds ``grades`` or ``essays``
in batch mode (copy, drop, rename) must create these triggers again (``create_triggers`` below).

Revision ID: 0007
Revises: 0006
"""
import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

SHARDS = 16
IMMUTABLE = "essays are stored as submitted and never changed"

# ---- PostgreSQL ------------------------------------------------------------------------------------------

_PG_UPSERT = """
    INSERT INTO examiner_loads AS l (examiner_id, shard, open_rounds)
    {rows}
    ON CONFLICT (examiner_id, shard) DO UPDATE SET open_rounds = l.open_rounds + EXCLUDED.open_rounds;"""
_PG_OPEN = "SELECT examiner_id, essay_id % {shards} AS shard, {sign} AS n FROM {table} WHERE finalised_at IS NULL"
_PG_DELTAS = ("SELECT examiner_id, shard, sum(n) FROM ({parts}) AS d GROUP BY examiner_id, shard "
              "HAVING sum(n) <> 0 ORDER BY examiner_id, shard")


def _pg_deltas(*parts: tuple[str, int]) -> str:
    return _PG_DELTAS.format(parts=" UNION ALL ".join(_PG_OPEN.format(shards=SHARDS, sign=sign, table=table)
                                                      for table, sign in parts))


PG_LOADS_FUNCTION = f"""
CREATE FUNCTION examiner_loads_follow_grades() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'INSERT' THEN{_PG_UPSERT.format(rows=_pg_deltas(("added", 1)))}
  ELSIF TG_OP = 'DELETE' THEN{_PG_UPSERT.format(rows=_pg_deltas(("removed", -1)))}
  ELSE{_PG_UPSERT.format(rows=_pg_deltas(("added", 1), ("removed", -1)))}
  END IF;
  RETURN NULL;
END $$"""
PG_LOADS_TRIGGERS = [
    "CREATE TRIGGER grades_loads_insert AFTER INSERT ON grades REFERENCING NEW TABLE AS added "
    "FOR EACH STATEMENT EXECUTE FUNCTION examiner_loads_follow_grades()",
    "CREATE TRIGGER grades_loads_delete AFTER DELETE ON grades REFERENCING OLD TABLE AS removed "
    "FOR EACH STATEMENT EXECUTE FUNCTION examiner_loads_follow_grades()",
    "CREATE TRIGGER grades_loads_update AFTER UPDATE ON grades REFERENCING OLD TABLE AS removed NEW TABLE AS added "
    "FOR EACH STATEMENT EXECUTE FUNCTION examiner_loads_follow_grades()",
]
PG_IMMUTABLE = [
    f"""CREATE FUNCTION essays_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION '{IMMUTABLE}: % refused', TG_OP USING ERRCODE = 'restrict_violation';
END $$""",
    "CREATE TRIGGER essays_immutable BEFORE UPDATE OR DELETE ON essays "
    "FOR EACH ROW EXECUTE FUNCTION essays_refuse_change()",
    "CREATE TRIGGER essays_no_truncate BEFORE TRUNCATE ON essays "
    "FOR EACH STATEMENT EXECUTE FUNCTION essays_refuse_change()",
]
PG_DROP = [
    "DROP TRIGGER IF EXISTS essays_no_truncate ON essays",
    "DROP TRIGGER IF EXISTS essays_immutable ON essays",
    "DROP FUNCTION IF EXISTS essays_refuse_change()",
    "DROP TRIGGER IF EXISTS grades_loads_update ON grades",
    "DROP TRIGGER IF EXISTS grades_loads_delete ON grades",
    "DROP TRIGGER IF EXISTS grades_loads_insert ON grades",
    "DROP FUNCTION IF EXISTS examiner_loads_follow_grades()",
]

# ---- SQLite ----------------------------------------------------------------------------------------------


def _sqlite_add(row: str, when: str = "") -> str:
    return (f"INSERT INTO examiner_loads (examiner_id, shard, open_rounds) "
            f"SELECT {row}.examiner_id, {row}.essay_id % {SHARDS}, 1 WHERE {row}.finalised_at IS NULL{when} "
            f"ON CONFLICT (examiner_id, shard) DO UPDATE SET open_rounds = open_rounds + 1;")


def _sqlite_remove(row: str) -> str:
    return (f"UPDATE examiner_loads SET open_rounds = open_rounds - 1 WHERE {row}.finalised_at IS NULL "
            f"AND examiner_id = {row}.examiner_id AND shard = {row}.essay_id % {SHARDS};")


SQLITE_LOADS_TRIGGERS = [
    f"CREATE TRIGGER grades_loads_insert AFTER INSERT ON grades BEGIN {_sqlite_add('NEW')} END",
    f"CREATE TRIGGER grades_loads_delete AFTER DELETE ON grades BEGIN {_sqlite_remove('OLD')} END",
    "CREATE TRIGGER grades_loads_update AFTER UPDATE OF examiner_id, essay_id, finalised_at ON grades "
    f"BEGIN {_sqlite_remove('OLD')} {_sqlite_add('NEW')} END",
]
SQLITE_IMMUTABLE = [
    f"CREATE TRIGGER essays_no_update BEFORE UPDATE ON essays BEGIN SELECT RAISE(ABORT, '{IMMUTABLE}: UPDATE "
    "refused'); END",
    f"CREATE TRIGGER essays_no_delete BEFORE DELETE ON essays BEGIN SELECT RAISE(ABORT, '{IMMUTABLE}: DELETE "
    "refused'); END",
]
SQLITE_DROP = ["DROP TRIGGER IF EXISTS " + name for name in (
    "essays_no_delete", "essays_no_update", "grades_loads_update", "grades_loads_delete", "grades_loads_insert")]


def create_triggers(dialect: str) -> None:
    """The triggers of this revision, on the backend at hand."""
    statements = (PG_IMMUTABLE + [PG_LOADS_FUNCTION] + PG_LOADS_TRIGGERS if dialect == "postgresql"
                  else SQLITE_IMMUTABLE + SQLITE_LOADS_TRIGGERS)
    for statement in statements:
        op.execute(statement)


def upgrade() -> None:
    op.create_table(
        "examiner_loads",
        sa.Column("examiner_id", sa.Integer(), sa.ForeignKey("users.id"), nullable=False),
        sa.Column("shard", sa.Integer(), nullable=False),
        sa.Column("open_rounds", sa.Integer(), nullable=False, server_default="0"),
        sa.PrimaryKeyConstraint("examiner_id", "shard"))
    # the rounds open now; the triggers, created in the same transaction, keep it from here on
    op.execute(f"INSERT INTO examiner_loads (examiner_id, shard, open_rounds) "
               f"SELECT examiner_id, essay_id % {SHARDS}, count(*) FROM grades WHERE finalised_at IS NULL "
               f"GROUP BY examiner_id, essay_id % {SHARDS}")
    create_triggers(op.get_bind().dialect.name)


def downgrade() -> None:
    for statement in PG_DROP if op.get_bind().dialect.name == "postgresql" else SQLITE_DROP:
        op.execute(statement)
    op.drop_table("examiner_loads")
