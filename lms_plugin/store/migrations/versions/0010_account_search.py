"""Accounts an organiser can find among 100,000: a search folded like Vietnamese is typed; a merged account's mark

``caselab_fold(text)`` removes the marks of Vietnamese letters and lower-cases ("Đặng Thị Hằng" -> "dang thi
hang"), with the same table as lms_plugin/core/folding.py (SQLite gets that Python function on every
connection, store/db.py). On PostgreSQL it is an IMMUTABLE SQL function, so indexes can be built on it:

* ``ix_users_search``: a trigram GIN index (pg_trgm) on the folded name, username, contact and e-mail, so
  ``caselab_fold(...) LIKE '%hang%'`` is an index search; without the extension (a database that may not
  create it) a btree that serves prefixes only;
* ``ix_users_commune_fold``: the folded commune, for "commune starts with";
* ``ix_users_province_username`` and ``ix_users_role_username``: a province's or a role's accounts in
  username order, the order the list pages by (keyset, never OFFSET).

``users.merged_into_id``: the account this one was merged into (it is deactivated; its work moved there).
Merging moves essays to the kept account: the essays' immutability trigger (0007) now lets an UPDATE
through when ``user_id`` is the only column it changes (nothing of what was submitted changes).

Revision ID: 0010
Revises: 0009
"""
import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

IMMUTABLE = "essays are stored as submitted and never changed"
FOLD_FROM = ('àáảãạăằắẳẵặâầấẩẫậÀÁẢÃẠĂẰẮẲẴẶÂẦẤẨẪẬèéẻẽẹêềếểễệÈÉẺẼẸÊỀẾỂỄỆìíỉĩịÌÍỈĨỊòóỏõọ'
             'ôồốổỗộơờớởỡợÒÓỎÕỌÔỒỐỔỖỘƠỜỚỞỠỢùúủũụưừứửữựÙÚỦŨỤƯỪỨỬỮỰỳýỷỹỵỲÝỶỸỴđĐ̛̣̀́̃̉̂̆')
FOLD_TO = ('aaaaaaaaaaaaaaaaaAAAAAAAAAAAAAAAAAeeeeeeeeeeeEEEEEEEEEEEiiiiiIIIIIo'
           'ooooooooooooooooOOOOOOOOOOOOOOOOOuuuuuuuuuuuUUUUUUUUUUUyyyyyYYYYYdD')
SEARCHED = "display_name || ' ' || username || ' ' || contact || ' ' || email"

PG_FOLD = f"""CREATE FUNCTION caselab_fold(text) RETURNS text LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$ SELECT lower(translate($1, '{FOLD_FROM}', '{FOLD_TO}')) $$"""


def _pg_essays_function(allow_author_move: bool) -> str:
    move = """
  IF TG_OP = 'UPDATE' THEN
    IF (to_jsonb(NEW) - 'user_id') = (to_jsonb(OLD) - 'user_id') THEN
      RETURN NEW;      -- an account merge: the essay goes to the person's kept account, nothing else changes
    END IF;
  END IF;""" if allow_author_move else ""
    return f"""CREATE OR REPLACE FUNCTION essays_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN{move}
  RAISE EXCEPTION '{IMMUTABLE}: % refused', TG_OP USING ERRCODE = 'restrict_violation';
END $$"""


# every column of essays but user_id (a column added to essays later must be added here too)
SQLITE_ESSAY_COLUMNS = ("id, assignment_id, kind, group_id, version, body, sha256, words, submitted_at, late, "
                        "auto_submitted")
SQLITE_REFUSE = f"BEGIN SELECT RAISE(ABORT, '{IMMUTABLE}: UPDATE refused'); END"


def _trigram_schema(bind) -> str | None:
    """The schema pg_trgm is installed in (installed now if it can be), or None where it cannot be."""
    found = bind.execute(sa.text("SELECT n.nspname FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace "
                                 "WHERE e.extname = 'pg_trgm'")).scalar()
    if found:
        return found
    available = bind.execute(sa.text("SELECT 1 FROM pg_available_extensions WHERE name = 'pg_trgm'")).scalar()
    if not available:
        return None
    try:
        with bind.begin_nested():
            bind.execute(sa.text("CREATE EXTENSION IF NOT EXISTS pg_trgm SCHEMA public"))
    except sa.exc.DBAPIError:          # not allowed to: prefix search through a btree instead
        return None
    return "public"


def upgrade() -> None:
    bind = op.get_bind()
    # no foreign key: SQLite would rebuild the users table for one, and accounts are never deleted
    op.add_column("users", sa.Column("merged_into_id", sa.Integer(), nullable=True))
    op.create_index("ix_users_province_username", "users", ["province", "username"])
    op.create_index("ix_users_role_username", "users", ["role", "username"])
    if bind.dialect.name == "postgresql":
        op.execute(PG_FOLD)
        trigram = _trigram_schema(bind)
        if trigram:
            op.execute(f"CREATE INDEX ix_users_search ON users USING gin "
                       f"(caselab_fold({SEARCHED}) \"{trigram}\".gin_trgm_ops)")
        else:
            op.execute(f"CREATE INDEX ix_users_search ON users (caselab_fold({SEARCHED}) text_pattern_ops)")
        op.execute("CREATE INDEX ix_users_commune_fold ON users (caselab_fold(commune) text_pattern_ops)")
        op.execute(_pg_essays_function(True))
    else:
        op.execute("DROP TRIGGER IF EXISTS essays_no_update")
        op.execute(f"CREATE TRIGGER essays_no_update BEFORE UPDATE OF {SQLITE_ESSAY_COLUMNS} ON essays "
                   + SQLITE_REFUSE)


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        op.execute(_pg_essays_function(False))
        op.execute("DROP INDEX IF EXISTS ix_users_commune_fold")
        op.execute("DROP INDEX IF EXISTS ix_users_search")
        op.execute("DROP FUNCTION IF EXISTS caselab_fold(text)")
    else:
        op.execute("DROP TRIGGER IF EXISTS essays_no_update")
        op.execute("CREATE TRIGGER essays_no_update BEFORE UPDATE ON essays " + SQLITE_REFUSE)
    op.drop_index("ix_users_role_username", table_name="users")
    op.drop_index("ix_users_province_username", table_name="users")
    # a plain DROP COLUMN (SQLite 3.35+ has it): a batch copy of users would break the keys that point at it
    op.execute("ALTER TABLE users DROP COLUMN merged_into_id")
