"""Marking workflow: examiner absences, extensions, late policy, group reports as submissions, release per
submission, corrections, inline comments, appeals, notifications

Revision ID: 0004
Revises: 0003
"""
import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)
# SQLite reflects the essays table's unique constraint without a name: this gives it one to drop.
NAMES = {"uq": "uq_%(table_name)s_%(column_0_N_name)s"}


def upgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("email", sa.String(254), nullable=False, server_default=""))
        batch.add_column(sa.Column("email_notifications", sa.Boolean(), nullable=False, server_default=sa.true()))
    with op.batch_alter_table("assignments") as batch:
        batch.add_column(sa.Column("late_policy", sa.String(20), nullable=False, server_default="refuse"))
        batch.add_column(sa.Column("auto_submit_drafts", sa.Boolean(), nullable=False, server_default=sa.false()))
        batch.add_column(sa.Column("appeal_days", sa.Integer(), nullable=False, server_default="7"))
    with op.batch_alter_table("assignment_examiners") as batch:
        batch.add_column(sa.Column("absent", sa.Boolean(), nullable=False, server_default=sa.false()))
    op.create_table(
        "assignment_extensions",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("assignment_id", sa.Integer(), sa.ForeignKey("assignments.id"), nullable=False),
        sa.Column("user_id", sa.Integer(), sa.ForeignKey("users.id"), nullable=False),
        sa.Column("closes_at", TS, nullable=False),
        sa.Column("reason", sa.String(500), nullable=False),
        sa.Column("granted_by_id", sa.Integer(), sa.ForeignKey("users.id"), nullable=True),
        sa.Column("created_at", TS, nullable=False),
        sa.UniqueConstraint("assignment_id", "user_id"))
    op.create_index("ix_assignment_extensions_assignment_id", "assignment_extensions", ["assignment_id"])
    op.create_index("ix_assignment_extensions_user_id", "assignment_extensions", ["user_id"])

    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        op.drop_constraint("essays_assignment_id_user_id_version_key", "essays", type_="unique")
    with op.batch_alter_table("essays", naming_convention=NAMES) as batch:
        if bind.dialect.name == "sqlite":
            batch.drop_constraint("uq_essays_assignment_id_user_id_version", type_="unique")
        batch.add_column(sa.Column("kind", sa.String(10), nullable=False, server_default="essay"))
        batch.add_column(sa.Column("group_id", sa.Integer(), sa.ForeignKey("groups.id", name="fk_essays_group_id"),
                                   nullable=True))
        batch.add_column(sa.Column("late", sa.Boolean(), nullable=False, server_default=sa.false()))
        batch.add_column(sa.Column("auto_submitted", sa.Boolean(), nullable=False, server_default=sa.false()))
        batch.create_unique_constraint("uq_essays_submission", ["assignment_id", "user_id", "version", "kind"])
        batch.create_index("ix_essays_group_id", ["group_id"])

    op.create_index("ix_grades_examiner_open", "grades", ["examiner_id", "finalised_at"])
    with op.batch_alter_table("essay_results") as batch:
        batch.add_column(sa.Column("marks_done", sa.Integer(), nullable=False, server_default="0"))
        batch.add_column(sa.Column("needs_examiner", sa.Boolean(), nullable=False, server_default=sa.false()))
        batch.add_column(sa.Column("released_at", TS, nullable=True))
        batch.add_column(sa.Column("corrected_at", TS, nullable=True))
        batch.add_column(sa.Column("correction_reason", sa.Text(), nullable=False, server_default=""))
        batch.create_index("ix_essay_results_status", ["status"])
        batch.create_index("ix_essay_results_needs_examiner", ["needs_examiner"])
    # Marks released before this revision were released for the whole assignment.
    op.execute("UPDATE essay_results SET released_at = (SELECT a.grades_released_at FROM essays e "
               "JOIN assignments a ON a.id = e.assignment_id WHERE e.id = essay_results.essay_id) "
               "WHERE status = 'final'")

    op.create_table(
        "grade_annotations",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("grade_id", sa.Integer(), sa.ForeignKey("grades.id", ondelete="CASCADE"), nullable=False),
        sa.Column("start", sa.Integer(), nullable=False),
        sa.Column("end", sa.Integer(), nullable=False),
        sa.Column("quote", sa.Text(), nullable=False),
        sa.Column("comment", sa.Text(), nullable=False),
        sa.Column("created_at", TS, nullable=False))
    op.create_index("ix_grade_annotations_grade_id", "grade_annotations", ["grade_id"])
    op.create_table(
        "appeals",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("essay_id", sa.Integer(), sa.ForeignKey("essays.id"), nullable=False, unique=True),
        sa.Column("user_id", sa.Integer(), sa.ForeignKey("users.id"), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("previous_final", sa.Float(), nullable=True),
        sa.Column("outcome", sa.Float(), nullable=True),
        sa.Column("rule", sa.String(200), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("decided_at", TS, nullable=True),
        sa.Column("released_at", TS, nullable=True))
    op.create_index("ix_appeals_user_id", "appeals", ["user_id"])
    op.create_index("ix_appeals_status", "appeals", ["status"])
    op.create_table(
        "notifications",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("user_id", sa.Integer(), sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
        sa.Column("kind", sa.String(40), nullable=False),
        sa.Column("params", sa.JSON(), nullable=False),
        sa.Column("link", sa.String(300), nullable=False),
        sa.Column("dedupe_key", sa.String(200), nullable=True),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("read_at", TS, nullable=True),
        sa.Column("emailed_at", TS, nullable=True),
        sa.UniqueConstraint("user_id", "dedupe_key"))
    op.create_index("ix_notifications_unread", "notifications", ["user_id", "read_at"])
    op.create_index("ix_notifications_unmailed", "notifications", ["emailed_at"])


def downgrade() -> None:
    op.drop_table("notifications")
    op.drop_table("appeals")
    op.drop_table("grade_annotations")
    with op.batch_alter_table("essay_results") as batch:
        batch.drop_index("ix_essay_results_needs_examiner")
        batch.drop_index("ix_essay_results_status")
        for column in ("correction_reason", "corrected_at", "released_at", "needs_examiner", "marks_done"):
            batch.drop_column(column)
    op.drop_index("ix_grades_examiner_open", "grades")
    with op.batch_alter_table("essays") as batch:
        batch.drop_index("ix_essays_group_id")
        batch.drop_constraint("uq_essays_submission", type_="unique")
        batch.drop_constraint("fk_essays_group_id", type_="foreignkey")
        for column in ("auto_submitted", "late", "group_id", "kind"):
            batch.drop_column(column)
        batch.create_unique_constraint("uq_essays_assignment_id_user_id_version",
                                       ["assignment_id", "user_id", "version"])
    op.drop_table("assignment_extensions")
    with op.batch_alter_table("assignment_examiners") as batch:
        batch.drop_column("absent")
    with op.batch_alter_table("assignments") as batch:
        for column in ("appeal_days", "auto_submit_drafts", "late_policy"):
            batch.drop_column(column)
    with op.batch_alter_table("users") as batch:
        batch.drop_column("email_notifications")
        batch.drop_column("email")
