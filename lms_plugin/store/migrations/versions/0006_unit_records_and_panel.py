"""Unit types' own records; the expert panel's questions, votes and answers

Revision ID: 0006
Revises: 0005
"""
import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "unit_records",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("unit_type", sa.String(60), nullable=False),
        sa.Column("assignment_id", sa.Integer(), sa.ForeignKey("assignments.id", ondelete="CASCADE"),
                  nullable=False),
        sa.Column("owner_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(60), nullable=False),
        sa.Column("value", sa.String(200), nullable=False),
        sa.Column("data", sa.JSON(), nullable=True),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.UniqueConstraint("unit_type", "assignment_id", "owner_id", "name"))
    op.create_index("ix_unit_records_tally", "unit_records", ["unit_type", "assignment_id", "name", "value"])
    op.create_table(
        "panel_boards",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("course_id", sa.Integer(), sa.ForeignKey("courses.id"), nullable=False),
        sa.Column("scenario_id", sa.Integer(), sa.ForeignKey("scenarios.id"), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("live", sa.Boolean(), nullable=False),
        sa.Column("closed_at", TS, nullable=True),
        sa.UniqueConstraint("course_id", "scenario_id"))
    op.create_table(
        "panel_questions",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("board_id", sa.Integer(), sa.ForeignKey("panel_boards.id"), nullable=False),
        sa.Column("assignment_id", sa.Integer(), sa.ForeignKey("assignments.id"), nullable=False),
        sa.Column("author_id", sa.Integer(), sa.ForeignKey("users.id"), nullable=False),
        sa.Column("group_id", sa.Integer(), sa.ForeignKey("groups.id"), nullable=True),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("status", sa.String(12), nullable=False),
        sa.Column("merged_into_id", sa.Integer(), sa.ForeignKey("panel_questions.id"), nullable=True),
        sa.Column("votes", sa.Integer(), nullable=False),
        sa.Column("created_at", TS, nullable=False))
    op.create_index("ix_panel_questions_ranked", "panel_questions", ["board_id", "status", "votes", "id"])
    op.create_index("ix_panel_questions_assignment_id", "panel_questions", ["assignment_id"])
    op.create_index("ix_panel_questions_author_id", "panel_questions", ["author_id"])
    op.create_table(
        "panel_votes",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("question_id", sa.Integer(), sa.ForeignKey("panel_questions.id", ondelete="CASCADE"),
                  nullable=False),
        sa.Column("user_id", sa.Integer(), sa.ForeignKey("users.id"), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.UniqueConstraint("question_id", "user_id"))
    op.create_index("ix_panel_votes_user_id", "panel_votes", ["user_id"])
    op.create_table(
        "panel_answers",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("question_id", sa.Integer(), sa.ForeignKey("panel_questions.id", ondelete="CASCADE"),
                  nullable=False),
        sa.Column("author_id", sa.Integer(), sa.ForeignKey("users.id"), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("created_at", TS, nullable=False))
    op.create_index("ix_panel_answers_question_id", "panel_answers", ["question_id"])


def downgrade() -> None:
    for table in ("panel_answers", "panel_votes", "panel_questions", "panel_boards", "unit_records"):
        op.drop_table(table)
