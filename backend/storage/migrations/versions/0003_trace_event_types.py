"""The event types of each trace in a table of their own, instead of an index on events.

``ix_events_trace_type`` cost every stored event a third index entry (~15 % of
PostgreSQL's work per row on ingest) to answer one question, which types a trace
holds (the trace list's ``has_type``). ``trace_event_types`` answers it with a few
rows per batch. Reading a trace's events of some types scans that trace's events
by the primary key, as it did for most types before.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-03
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "trace_event_types",
        sa.Column("trace_id", sa.String(64), nullable=False),
        sa.Column("type", sa.String(32), nullable=False),
        sa.PrimaryKeyConstraint("trace_id", "type"),
    )
    op.execute(
        "INSERT INTO trace_event_types (trace_id, type) SELECT DISTINCT trace_id, type FROM events"
    )
    op.drop_index("ix_events_trace_type", table_name="events")


def downgrade() -> None:
    op.create_index("ix_events_trace_type", "events", ["trace_id", "type"])
    op.drop_table("trace_event_types")
