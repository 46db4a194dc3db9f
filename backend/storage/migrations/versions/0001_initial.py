"""The first schema: traces, batches, events, api_tokens, jobs.

Revision ID: 0001
Revises:
Create Date: 2026-11-25
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "traces",
        sa.Column("trace_id", sa.String(64), primary_key=True),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("developer_id", sa.String(256), nullable=False),
        sa.Column("repository", sa.Text, nullable=False),
        sa.Column("commit", sa.String(64), nullable=False),
        sa.Column("meta", sa.LargeBinary, nullable=False),
        sa.Column("upload_token_hash", sa.String(64), nullable=False),
        sa.Column("event_count", sa.Integer, nullable=False),
        sa.Column("artifacts", sa.LargeBinary),
        sa.Column("sealed_at", sa.Float),
        sa.Column("document_key", sa.Text),
        sa.Column("qa_status", sa.String(16), nullable=False),
        sa.Column("qa_tests", sa.LargeBinary),
        sa.Column("qa_judge", sa.LargeBinary),
        sa.Column("verdict", sa.String(32)),
        sa.Column("overall", sa.Float),
        sa.Column("qa_updated_at", sa.Float),
    )
    op.create_index("ix_traces_created_at", "traces", ["created_at"])
    op.create_index("ix_traces_developer_id", "traces", ["developer_id"])
    op.create_index("ix_traces_repository", "traces", ["repository"])
    op.create_table(
        "batches",
        sa.Column("trace_id", sa.String(64), nullable=False),
        sa.Column("seq", sa.BigInteger, nullable=False),
        sa.Column("body_hash", sa.String(64), nullable=False),
        sa.Column("count", sa.Integer, nullable=False),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.PrimaryKeyConstraint("trace_id", "seq"),
    )
    op.create_table(
        "events",
        sa.Column("trace_id", sa.String(64), nullable=False),
        sa.Column("seq", sa.BigInteger, nullable=False),
        sa.Column("idx", sa.Integer, nullable=False),
        sa.Column("event_id", sa.String(128), nullable=False),
        sa.Column("type", sa.String(32), nullable=False),
        sa.Column("t", sa.Float, nullable=False),
        sa.Column("body", sa.LargeBinary, nullable=False),
        sa.Column("blob_fields", sa.LargeBinary),
        sa.PrimaryKeyConstraint("trace_id", "seq", "idx"),
        sa.UniqueConstraint("trace_id", "event_id", name="uq_events_trace_event_id"),
    )
    op.create_index("ix_events_trace_type", "events", ["trace_id", "type"])
    op.create_table(
        "api_tokens",
        sa.Column("token_hash", sa.String(64), primary_key=True),
        sa.Column("name", sa.String(128), nullable=False),
        sa.Column("created_at", sa.Float, nullable=False),
    )
    op.create_table(
        "jobs",
        sa.Column("job_id", sa.String(64), primary_key=True),
        sa.Column("kind", sa.String(64), nullable=False),
        sa.Column("trace_id", sa.String(64)),
        sa.Column("payload", sa.LargeBinary),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("max_attempts", sa.Integer, nullable=False),
        sa.Column("lease_owner", sa.String(128)),
        sa.Column("lease_expires_at", sa.Float),
        sa.Column("run_after", sa.Float, nullable=False),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.Column("updated_at", sa.Float, nullable=False),
        sa.Column("result", sa.LargeBinary),
        sa.Column("error", sa.Text),
    )
    op.create_index("ix_jobs_trace_id", "jobs", ["trace_id"])
    op.create_index("ix_jobs_status_run_after", "jobs", ["status", "run_after"])


def downgrade() -> None:
    for table in ("jobs", "api_tokens", "events", "batches", "traces"):
        op.drop_table(table)
