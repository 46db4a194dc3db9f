"""Judgement history: every LLM judgement of a trace (the latest is also traces.qa_judge).

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "judgements",
        sa.Column("judgement_id", sa.String(64), primary_key=True),
        sa.Column("trace_id", sa.String(64), nullable=False),
        sa.Column("job_id", sa.String(64)),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("model", sa.String(256)),
        sa.Column("rubric_id", sa.String(64)),
        sa.Column("rubric_version", sa.String(64)),
        sa.Column("overall", sa.Float),
        sa.Column("result", sa.LargeBinary, nullable=False),
    )
    op.create_index("ix_judgements_trace_created", "judgements", ["trace_id", "created_at"])


def downgrade() -> None:
    op.drop_index("ix_judgements_trace_created", table_name="judgements")
    op.drop_table("judgements")
