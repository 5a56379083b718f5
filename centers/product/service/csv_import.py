"""Bulk import and update of the catalog from CSV (how a brand moves its menu in).

One row per SKU; rows sharing ``product_code`` are SKUs of one product (its external
code: created the first time, updated after). Each row is applied on its own (a
savepoint): a bad row is reported with its line, column and reason, and the others go
in. See docs/catalog.md for the columns.
"""

from __future__ import annotations

import csv
import io
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from sqlalchemy.ext.asyncio import AsyncSession

from centers.product.dto import ImportReport, ListingInfo, NewSku, Pairs, RejectedRow
from centers.product.repository import upsert_listing
from centers.product.service.catalog import category_by_path, check_channel
from centers.product.service.products import KnownContext, currency_of, upsert_product
from kernel.errors import UserInputError

REQUIRED = ("product_code", "product_name", "sku_code", "sku_name", "price")
OPTIONAL = ("description", "category", "specs", "attributes", "images", "channels")
# Where a service error points, as a CSV column.
_COLUMN_OF_CODE = {
    "INVALID_EXTERNAL_CODE": "product_code",
    "INVALID_SKU_CODE": "sku_code",
    "SKU_CODE_TAKEN": "sku_code",
    "INVALID_PRICE": "price",
    "INVALID_SPEC": "specs",
    "INVALID_ATTRIBUTE": "attributes",
    "INVALID_IMAGE": "images",
    "INVALID_DESCRIPTION": "description",
    "INVALID_CATEGORY": "category",
    "INVALID_CHANNEL": "channels",
}
MAX_FIELD = 5000


class RowError(UserInputError):
    def __init__(self, column: str, code: str, message: str) -> None:
        super().__init__(message, code=code, field=[column])


def read_csv(text: str | Iterable[str]) -> Iterator[tuple[int, dict[str, str]]]:
    """``(line, row)`` pairs; raises ``UserInputError`` for a missing column."""
    lines = io.StringIO(text) if isinstance(text, str) else text
    reader = csv.DictReader(lines)
    try:
        header = [h.strip() for h in reader.fieldnames or []]
    except csv.Error as error:
        raise UserInputError(
            f"not a CSV file: {error}", code="MALFORMED_CSV", field=["input", "csv"]
        ) from None
    missing = [c for c in REQUIRED if c not in header]
    if missing:
        raise UserInputError(
            f"the header lacks {', '.join(missing)} (required: {', '.join(REQUIRED)})",
            code="MISSING_COLUMN",
            field=["input", "csv"],
        )
    reader.fieldnames = header
    while True:
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as error:
            raise UserInputError(
                f"line {reader.line_num}: {error}", code="MALFORMED_CSV", field=["input", "csv"]
            ) from None
        yield reader.line_num, {k: (v or "").strip() for k, v in row.items() if isinstance(k, str)}


def _pairs(value: str, column: str) -> Pairs:
    """``size=L;spice=hot``."""
    if not value:
        return ()
    found = []
    for part in value.split(";"):
        name, sep, item = part.partition("=")
        if not sep:
            raise RowError(
                column, f"INVALID_{column.upper().rstrip('S')}", f"{part!r} is not name=value"
            )
        found.append((name.strip(), item.strip()))
    return tuple(found)


def _price(value: str) -> int:
    """``12.50`` yuan to 1250 fen: at most two decimals."""
    try:
        amount = Decimal(value)
    except InvalidOperation:
        raise RowError("price", "INVALID_PRICE", f"{value!r} is not a price like 12.50") from None
    minor = amount * 100
    if not amount.is_finite() or minor != minor.to_integral_value():
        raise RowError("price", "INVALID_PRICE", f"{value!r} has more than two decimals")
    return int(minor)


@dataclass
class Batch:
    """Lookups shared by the rows of one import: the tenant's currency, and category paths
    resolved by rows that went in (a rejected row's new category was rolled back)."""

    currency: str
    categories: dict[str, uuid.UUID] = field(default_factory=dict)


async def import_row(
    session: AsyncSession, tenant_id: uuid.UUID, row: dict[str, str], batch: Batch
) -> tuple[bool, dict[str, uuid.UUID]]:
    """Apply one row; returns whether its product was created and the category path it
    resolved. Raises ``UserInputError``."""
    for column, value in row.items():
        if len(value) > MAX_FIELD:
            raise RowError(column, "FIELD_TOO_LONG", f"at most {MAX_FIELD} characters")
    category = row.get("category", "")
    resolved: dict[str, uuid.UUID] = {}
    category_id: uuid.UUID | None = None
    if category:
        category_id = batch.categories.get(category)
        if category_id is None:
            category_id = (await category_by_path(session, tenant_id, category, ["category"])).id
            resolved[category] = category_id
    channels = [
        check_channel(c.strip(), ["channels"])
        for c in row.get("channels", "").split(";")
        if c.strip()
    ]
    images = [i.strip() for i in row.get("images", "").split("|") if i.strip()]
    outcome = await upsert_product(
        session,
        tenant_id,
        external_code=row["product_code"],
        source_version=None,
        name=row["product_name"],
        description=row.get("description", ""),
        category_id=category_id,
        attributes=_pairs(row.get("attributes", ""), "attributes"),
        images=images,
        known=KnownContext(currency=batch.currency, category_checked=True),
        skus=[
            NewSku(
                code=row["sku_code"],
                name=row["sku_name"],
                price_amount=_price(row["price"]),
                specs=_pairs(row.get("specs", ""), "specs"),
            )
        ],
    )
    for channel in channels:  # the product exists: written just above
        await upsert_listing(
            session,
            tenant_id,
            ListingInfo(product_id=outcome.product.id, channel=channel, on_sale=True),
        )
    return outcome.created, resolved


def _column(error: UserInputError) -> str | None:
    if isinstance(error, RowError) and error.field:
        return error.field[0]
    path = error.field or []
    if error.code == "INVALID_NAME":
        return "sku_name" if "skus" in path else "product_name"
    return _COLUMN_OF_CODE.get(error.code)


async def import_rows(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    rows: Iterable[tuple[int, dict[str, str]]],
    progress: Callable[[int], None] | None = None,
) -> ImportReport:
    """Apply each row in a savepoint; report the rejected ones. Never commits."""
    count = created = updated = 0
    rejected: list[RejectedRow] = []
    batch = Batch(currency=await currency_of(session, tenant_id))
    for line, row in rows:
        count += 1
        savepoint = await session.begin_nested()
        try:
            made, resolved = await import_row(session, tenant_id, row, batch)
            if made:
                created += 1
            else:
                updated += 1
        except UserInputError as error:
            await savepoint.rollback()
            rejected.append(RejectedRow(line, _column(error), error.code, error.message))
        except BaseException:
            await savepoint.rollback()
            raise
        else:
            await savepoint.commit()
            batch.categories.update(resolved)
        if progress is not None:
            progress(count)
    return ImportReport(rows=count, created=created, updated=updated, rejected=tuple(rejected))


def merge_reports(reports: Sequence[ImportReport]) -> ImportReport:
    return ImportReport(
        rows=sum(r.rows for r in reports),
        created=sum(r.created for r in reports),
        updated=sum(r.updated for r in reports),
        rejected=tuple(x for r in reports for x in r.rejected),
    )
