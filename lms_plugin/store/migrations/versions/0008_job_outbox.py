"""Background jobs as rows written with the work that asks for them (a transactional outbox)

Revision ID: 0008
Revises: 0007
"""
import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)
WAITING = sa.text("state = 'queued'")


def upgrade() -> None:
    op.create_table(
        "jobs",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("name", sa.String(80), nullable=False),
        sa.Column("args", sa.JSON(), nullable=False),
        sa.Column("key", sa.String(200), nullable=False),
        sa.Column("queue", sa.String(20), nullable=False),
        sa.Column("state", sa.String(20), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("due_at", TS, nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("runner", sa.String(120), nullable=True),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("started_at", TS, nullable=True),
        sa.Column("finished_at", TS, nullable=True))
    op.create_index("ix_jobs_waiting_key", "jobs", ["key"], unique=True, sqlite_where=WAITING,
                    postgresql_where=WAITING)
    op.create_index("ix_jobs_state_due", "jobs", ["state", "due_at"])
    op.create_index("ix_jobs_state_finished", "jobs", ["state", "finished_at"])


def downgrade() -> None:
    op.drop_index("ix_jobs_state_finished", table_name="jobs")
    op.drop_index("ix_jobs_state_due", table_name="jobs")
    op.drop_index("ix_jobs_waiting_key", table_name="jobs")
    op.drop_table("jobs")
