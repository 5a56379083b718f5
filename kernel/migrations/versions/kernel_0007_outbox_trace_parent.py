"""kernel: each outbox event remembers the trace that wrote it

``trace_parent`` holds the W3C traceparent of the span that wrote the event, taken
from the transaction setting ``zhongtai.traceparent`` (set with the tenant when tracing
is on, ``kernel.db``), so no insert names it; it is null when tracing is off. The
dispatcher makes each delivery span a child of it (``kernel.tracing.delivery_span``).

Revision ID: kernel_0007
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "kernel_0007"
down_revision = "kernel_0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("SET LOCAL lock_timeout = '5s'")
    op.add_column(
        "outbox_event",
        sa.Column(
            "trace_parent",
            sa.Text,
            nullable=True,
            server_default=sa.text("NULLIF(current_setting('zhongtai.traceparent', true), '')"),
        ),
        schema="kernel",
    )


def downgrade() -> None:
    op.drop_column("outbox_event", "trace_parent", schema="kernel")
