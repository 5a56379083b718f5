"""Importing a catalog CSV file in batches: each batch is one transaction, so a long
import shows progress, commits as it goes, and a crash loses at most one batch (rerunning
the file is safe: rows upsert by product and SKU code)."""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Callable
from pathlib import Path

from centers.product.dto import ImportReport
from centers.product.service.csv_import import import_rows, merge_reports, read_csv
from kernel.db import Database

# Each row is a savepoint (a subtransaction). Past 64 in one transaction PostgreSQL's
# per-backend cache overflows and other sessions' visibility checks slow down while it
# runs; short batches keep that window short.
DEFAULT_BATCH = 200


async def import_file(
    db: Database,
    tenant_id: uuid.UUID,
    path: Path,
    *,
    batch_size: int = DEFAULT_BATCH,
    progress: Callable[[int], None] | None = None,
) -> ImportReport:
    """Import ``path`` (UTF-8, BOM allowed) for the tenant; ``progress(rows_done)`` after
    every row. Raises ``UserInputError`` (``MISSING_COLUMN``, ``MALFORMED_CSV``)."""
    reports: list[ImportReport] = []
    done = 0

    def counted(count: int) -> None:
        if progress is not None:
            progress(done + count)

    with path.open(encoding="utf-8-sig", newline="") as handle:
        rows = read_csv(handle)
        while batch := list(itertools.islice(rows, batch_size)):
            async with db.unit_of_work(tenant_id) as session:
                report = await import_rows(session, tenant_id, batch, counted)
            reports.append(report)
            done += report.rows
    return merge_reports(reports)
