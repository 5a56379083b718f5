"""Console entry point ``zhongtai``: the kernel CLI wired to the nine centers."""

from __future__ import annotations

import argparse
import sys
import uuid
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncSession

from centers.product import api as product_api
from centers.store import api as store_api
from kernel.cli import Command, Composition, main_with
from kernel.db import Database
from kernel.errors import UserInputError
from kernel.settings import Settings
from schema import demo
from schema.subgraphs import composed_sdl, served_api, subgraph_sdls


async def tenant_id_by_slug(session: AsyncSession, slug: str) -> uuid.UUID | None:
    tenant = await store_api.tenant_by_slug(session, slug)
    return tenant.id if tenant else None


async def store_id_by_code(
    session: AsyncSession, tenant_id: uuid.UUID, code: str
) -> uuid.UUID | None:
    store = await store_api.store_by_code(session, tenant_id, code)
    return store.id if store else None


def _configure_import(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", type=Path, help="UTF-8 CSV, one SKU per row (docs/catalog.md)")
    parser.add_argument("--tenant", required=True, help="tenant slug or id")
    parser.add_argument(
        "--batch", type=int, default=product_api.CSV_BATCH_ROWS, help="rows per transaction"
    )


async def _import_products(settings: Settings, db: Database, args: argparse.Namespace) -> int:
    """Import a catalog CSV with a progress line; print the rejected rows; exit 1 if any."""
    if not args.file.is_file():
        print(f"no such file: {args.file}", file=sys.stderr)
        return 2
    async with db.unit_of_work() as session:
        tenant_id = await tenant_id_by_slug(session, args.tenant)
        if tenant_id is None:
            try:
                candidate = uuid.UUID(args.tenant)
            except ValueError:
                candidate = None
            if candidate and await store_api.get_tenant(session, candidate):
                tenant_id = candidate
    if tenant_id is None:
        print(f"no tenant {args.tenant!r}", file=sys.stderr)
        return 2
    total = max(sum(1 for _ in args.file.open(encoding="utf-8-sig")) - 1, 0)

    def progress(done: int) -> None:
        if done % 50 == 0 or done == total:
            share = f" ({100 * done // total}%)" if total else ""
            print(f"\rimported {done} of ~{total} rows{share}", end="", file=sys.stderr, flush=True)

    try:
        report = await product_api.import_csv_file(
            db, tenant_id, args.file, batch_size=max(args.batch, 1), progress=progress
        )
    except UserInputError as error:
        print(f"\n{error.code}: {error.message}", file=sys.stderr)
        return 2
    print(file=sys.stderr)
    print(
        f"{report.rows} rows: {report.created} created a product, {report.updated} updated one, "
        f"{len(report.rejected)} rejected"
    )
    for row in report.rejected:
        print(f"  line {row.line}, {row.column or '-'}: {row.code}: {row.message}")
    return 1 if report.rejected else 0


IMPORT_PRODUCTS = Command(
    name="import-products",
    help="import or update products from a CSV file, reporting rejected rows",
    configure=_configure_import,
    run=_import_products,
)

COMPOSITION = Composition(
    served_api=served_api,
    subgraph_sdls=subgraph_sdls,
    composed_sdl=composed_sdl,
    seed_demo=demo.seed_demo,
    tenant_id_by_slug=tenant_id_by_slug,
    store_id_by_code=store_id_by_code,
    commands=(IMPORT_PRODUCTS,),
    asgi_factory="schema.asgi:app",
)


def main() -> None:
    main_with(COMPOSITION)
