"""The embedded PostgreSQL from the ``pgserver`` wheel, used when no URL is configured.

Same server and dialect as production; it lives under the data folder and keeps
running after the process exits so the next ``make run`` starts in a second.
"""

from __future__ import annotations

import warnings
from pathlib import Path


def start_embedded_postgres(data_dir: Path) -> str:
    """Start (or reuse) the embedded server and return an asyncpg SQLAlchemy URL."""
    # pgserver asks platformdirs for a runtime dir it never needs; silence the noise.
    warnings.filterwarnings("ignore", message="XDG_RUNTIME_DIR is not set")
    # Imported here: only needed when no DATABASE_URL is set.
    from pgserver import get_server  # type: ignore[attr-defined]

    pgdata = (data_dir / "pgdata").resolve()
    pgdata.parent.mkdir(parents=True, exist_ok=True)
    server = get_server(str(pgdata), cleanup_mode=None)
    uri: str = server.get_uri()
    return uri.replace("postgresql://", "postgresql+asyncpg://", 1)
