"""Every business table can become a Citus table distributed by ``tenant_id``.

The catalog of the migrated database is the proof (docs/scale-out.md gives the plan):
``tenant_id`` leads each primary key, every unique constraint and unique index contains
it, every foreign key carries it to the same column of the row it references (so no
reference crosses tenants or shards), and no table draws its ids from a sequence
(sequences are per node in Citus; ids are UUIDv7 made by the application).
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import create_async_engine

CENTER_SCHEMAS = (
    "store",
    "product",
    "stock",
    "order",
    "promotion",
    "member",
    "points",
    "payment",
    "fulfillment",
    "kernel",
)

SCALE_OUT_DOC = Path(__file__).resolve().parents[2] / "docs" / "scale-out.md"

# Replicated to every node instead of distributed (Citus reference tables), and why.
REFERENCE_TABLES = {
    # Small, rarely written, read at sign-in by slug, which is unique across tenants:
    # a distributed table could not enforce that uniqueness.
    "store.tenant",
}


@dataclass(frozen=True)
class Table:
    name: str
    has_tenant: bool
    primary_key: tuple[str, ...]


_TABLES = """
SELECT n.nspname || '.' || c.relname AS name,
       EXISTS (SELECT 1 FROM pg_attribute a
               WHERE a.attrelid = c.oid AND a.attname = 'tenant_id' AND NOT a.attisdropped)
         AS has_tenant,
       coalesce((SELECT array_agg(a.attname::text ORDER BY k.ord)
                 FROM pg_constraint p CROSS JOIN LATERAL unnest(p.conkey) WITH ORDINALITY k(att, ord)
                 JOIN pg_attribute a ON a.attrelid = p.conrelid AND a.attnum = k.att
                 WHERE p.conrelid = c.oid AND p.contype = 'p'), '{}') AS primary_key
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = ANY(:schemas) AND c.relkind IN ('r', 'p') AND NOT c.relispartition
  AND c.relname NOT LIKE 'alembic_version%'
ORDER BY 1
"""

# Unique indexes (those behind unique and primary-key constraints included).
_UNIQUE_INDEXES = """
SELECT n.nspname || '.' || t.relname AS table_name, i.relname AS index_name,
       array_agg(a.attname::text ORDER BY k.ord) FILTER (WHERE a.attname IS NOT NULL)
         AS columns
FROM pg_index x
JOIN pg_class i ON i.oid = x.indexrelid
JOIN pg_class t ON t.oid = x.indrelid
JOIN pg_namespace n ON n.oid = t.relnamespace
CROSS JOIN LATERAL unnest(x.indkey) WITH ORDINALITY k(att, ord)
LEFT JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = k.att
WHERE n.nspname = ANY(:schemas) AND x.indisunique AND t.relkind IN ('r', 'p')
  AND t.relname NOT LIKE 'alembic_version%'
GROUP BY 1, 2
ORDER BY 1, 2
"""

# Each foreign key as (column, referenced column) pairs.
_FOREIGN_KEYS = """
SELECT n.nspname || '.' || t.relname AS table_name, c.conname,
       rn.nspname || '.' || r.relname AS referenced,
       array_agg(a.attname::text ORDER BY k.ord) AS columns,
       array_agg(ra.attname::text ORDER BY k.ord) AS referenced_columns
FROM pg_constraint c
JOIN pg_class t ON t.oid = c.conrelid
JOIN pg_namespace n ON n.oid = t.relnamespace
JOIN pg_class r ON r.oid = c.confrelid
JOIN pg_namespace rn ON rn.oid = r.relnamespace
CROSS JOIN LATERAL unnest(c.conkey, c.confkey) WITH ORDINALITY k(att, ratt, ord)
JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = k.att
JOIN pg_attribute ra ON ra.attrelid = r.oid AND ra.attnum = k.ratt
WHERE c.contype = 'f' AND n.nspname = ANY(:schemas)
GROUP BY 1, 2, 3
ORDER BY 1, 2
"""

# Columns filled from a sequence: serial/identity, or any default calling nextval.
_SEQUENCE_COLUMNS = """
SELECT n.nspname || '.' || t.relname AS table_name, a.attname AS column_name
FROM pg_attribute a
JOIN pg_class t ON t.oid = a.attrelid
JOIN pg_namespace n ON n.oid = t.relnamespace
LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
WHERE n.nspname = ANY(:schemas) AND t.relkind IN ('r', 'p') AND a.attnum > 0
  AND NOT a.attisdropped AND t.relname NOT LIKE 'alembic_version%'
  AND (a.attidentity <> '' OR pg_get_expr(d.adbin, d.adrelid) LIKE 'nextval(%')
ORDER BY 1, 2
"""


@pytest.fixture(scope="module")
def catalog(database_url: str) -> Iterator[dict[str, list[sa.Row[tuple[object, ...]]]]]:
    async def read() -> dict[str, list[sa.Row[tuple[object, ...]]]]:
        engine = create_async_engine(database_url)
        try:
            async with engine.connect() as connection:
                found = {}
                for key, sql in (
                    ("tables", _TABLES),
                    ("unique", _UNIQUE_INDEXES),
                    ("foreign", _FOREIGN_KEYS),
                    ("sequences", _SEQUENCE_COLUMNS),
                ):
                    result = await connection.execute(
                        sa.text(sql), {"schemas": list(CENTER_SCHEMAS)}
                    )
                    found[key] = list(result)
                return found
        finally:
            await engine.dispose()

    yield asyncio.run(read())


def _tables(catalog: dict[str, list[sa.Row[tuple[object, ...]]]]) -> list[Table]:
    return [
        Table(str(row.name), bool(row.has_tenant), tuple(row.primary_key))
        for row in catalog["tables"]
    ]


def test_the_catalog_lists_the_centers_tables(catalog: dict[str, list[sa.Row]]) -> None:
    names = {table.name for table in _tables(catalog)}
    # A broken catalog query would make every other test here pass vacuously.
    assert {"order.trade_order", "stock.level", "store.tenant"} <= names
    assert len(names) > 40


def test_every_table_has_tenant_id_leading_its_primary_key(
    catalog: dict[str, list[sa.Row]],
) -> None:
    # Platform rows (platform roles, the tenant directory) live in tables keyed by
    # tenant too: the nil tenant's rows and each tenant's own directory row.
    wrong = [
        f"{table.name} {table.primary_key}"
        for table in _tables(catalog)
        if not table.has_tenant or not table.primary_key or table.primary_key[0] != "tenant_id"
    ]
    assert wrong == []


def test_every_unique_index_contains_tenant_id(catalog: dict[str, list[sa.Row]]) -> None:
    wrong = [
        f"{row.table_name}.{row.index_name} {row.columns}"
        for row in catalog["unique"]
        if row.table_name not in REFERENCE_TABLES and "tenant_id" not in (row.columns or [])
    ]
    assert wrong == []


def test_every_foreign_key_stays_within_its_tenant(catalog: dict[str, list[sa.Row]]) -> None:
    wrong = []
    for row in catalog["foreign"]:
        pairs = set(zip(row.columns, row.referenced_columns, strict=True))
        if ("tenant_id", "tenant_id") not in pairs:
            wrong.append(f"{row.table_name}.{row.conname} -> {row.referenced}")
    assert wrong == []


def test_no_table_draws_ids_from_a_sequence(catalog: dict[str, list[sa.Row]]) -> None:
    assert [f"{row.table_name}.{row.column_name}" for row in catalog["sequences"]] == []


def test_the_citus_plan_distributes_every_table(catalog: dict[str, list[sa.Row]]) -> None:
    plan = SCALE_OUT_DOC.read_text()
    distributed = set(re.findall(r"create_distributed_table\('([a-z_]+\.[a-z_]+)'", plan))
    replicated = set(re.findall(r"create_reference_table\('([a-z_]+\.[a-z_]+)'", plan))
    assert replicated == REFERENCE_TABLES
    assert distributed == {table.name for table in _tables(catalog)} - REFERENCE_TABLES
