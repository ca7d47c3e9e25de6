"""One assignment per cohort and scenario version

Revision ID: 0002
Revises: 0001
"""
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("assignments") as batch:
        batch.create_unique_constraint("uq_assignments_cohort_version", ["cohort_id", "scenario_version_id"])


def downgrade() -> None:
    with op.batch_alter_table("assignments") as batch:
        batch.drop_constraint("uq_assignments_cohort_version", type_="unique")
