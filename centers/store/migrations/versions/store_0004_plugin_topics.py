"""store: remember the topics a plugin subscribed to on its installation

So events keep being fanned out (and wait, pending) to a plugin a tenant enabled whose
distribution has been uninstalled or fails to load (decision 0120).

Revision ID: store_0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import ARRAY

revision = "store_0004"
down_revision = "store_0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("SET LOCAL lock_timeout = '5s'")
    # Nullable, no default: adding it rewrites nothing. Filled on the next configure or
    # enable, and by the dispatcher from the manifest while the plugin is installed.
    op.add_column(
        "plugin_installation",
        sa.Column("topics", ARRAY(sa.String(100)), nullable=True),
        schema="store",
    )


def downgrade() -> None:
    op.drop_column("plugin_installation", "topics", schema="store")
