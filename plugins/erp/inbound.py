"""Applying an ERP's stock feed: validated, deduplicated, in source-version order, in one
transaction with the cursor (so a page is applied once, and a crash re-pulls it)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

from sqlalchemy.ext.asyncio import AsyncSession

from centers.product import api as product_api
from centers.stock import api as stock_api
from centers.store import api as store_api
from kernel.dispatch.inbound import Inbound
from kernel.errors import UserInputError
from kernel.plugins.manifest import PluginError

MAX_PAGES_PER_PULL = 20


@dataclass(frozen=True, slots=True)
class StockCount:
    version: int
    location_code: str
    sku_code: str
    on_hand: int


def parse_stock(items: Sequence[Any]) -> list[StockCount]:
    """Validate a page (garbage raises ``PluginError``: nothing of it is applied), drop
    duplicates, and sort by source version (pages may arrive out of order)."""
    by_version: dict[int, StockCount] = {}
    for index, item in enumerate(items):
        try:
            count = StockCount(
                version=int(item["version"]),
                location_code=str(item["store_code"]),
                sku_code=str(item["sku_code"]),
                on_hand=int(item["on_hand"]),
            )
        except (KeyError, TypeError, ValueError):
            raise PluginError(f"malformed stock item #{index} from the ERP") from None
        if count.version < 1 or count.on_hand < 0:
            raise PluginError(f"stock item #{index}: bad version or negative count")
        by_version[count.version] = count
    return [by_version[v] for v in sorted(by_version)]


@dataclass
class PullStats:
    applied: int = 0
    stale: int = 0
    unknown: int = 0


async def apply_stock(
    inbound: Inbound,
    counts: Sequence[StockCount],
    cursor_key: str,
    source: str,
    *,
    skip_seen: bool = True,
) -> tuple[int, PullStats]:
    """Apply counts newer than the cursor; returns the new cursor value and stats.

    ``skip_seen=False`` for a backend whose versions are per record rather than one
    global sequence (Odoo's write dates): the stock center's per-level version check
    then decides alone what is stale."""
    stats = PullStats()
    async with inbound.transaction() as session:
        cursor = await inbound.cursor(session)
        since = int(cursor.get(cursor_key, 0))
        locations = {
            x.code: x.id for x in await stock_api.list_locations(session, inbound.tenant_id)
        }
        for count in counts:
            if skip_seen and count.version <= since:
                stats.stale += 1
                continue
            sku = await product_api.sku_by_code(session, inbound.tenant_id, count.sku_code)
            # A warehouse's code, a registered store's "store:<code>", or a store's code.
            location_id = locations.get(count.location_code)
            if location_id is None:
                store = await store_api.store_by_code(
                    session, inbound.tenant_id, count.location_code
                )
                location_id = store.id if store else None
                if location_id is not None:
                    locations[count.location_code] = location_id
            if sku is None or location_id is None:
                # The ERP tracks items and places this tenant does not sell or stock.
                stats.unknown += 1
                continue
            result = await stock_api.sync_level(
                session,
                inbound.tenant_id,
                location_id,
                sku.id,
                count.on_hand,
                count.version,
                source,
            )
            if result.applied:
                stats.applied += 1
            else:
                stats.stale += 1
        newest = max([since, *(c.version for c in counts)])
        await inbound.save_cursor(session, {**cursor, cursor_key: newest})
    return newest, stats


@dataclass(frozen=True, slots=True)
class ProductChange:
    version: int
    code: str
    name: str
    skus: tuple[product_api.NewSku, ...]


def parse_products(items: Sequence[Any]) -> list[ProductChange]:
    """Validate a page of products (garbage raises ``PluginError``), drop duplicates and
    sort by source version."""
    by_version: dict[int, ProductChange] = {}
    for index, item in enumerate(items):
        try:
            change = ProductChange(
                version=int(item["version"]),
                code=str(item["code"]),
                name=str(item["name"]),
                skus=tuple(
                    product_api.NewSku(
                        code=str(sku["code"]), name=str(sku["name"]), price_amount=int(sku["price"])
                    )
                    for sku in item["skus"]
                ),
            )
        except (KeyError, TypeError, ValueError):
            raise PluginError(f"malformed product #{index} from the ERP") from None
        if change.version < 1 or not change.skus:
            raise PluginError(f"product #{index}: bad version or no SKUs")
        by_version[change.version] = change
    return [by_version[v] for v in sorted(by_version)]


class Versioned(Protocol):
    @property
    def version(self) -> int: ...


Change = TypeVar("Change", bound=Versioned)


async def apply_versioned(
    inbound: Inbound,
    changes: Sequence[Change],
    cursor_key: str,
    *,
    describe: Callable[[Change], str],
    apply: Callable[[AsyncSession, Change], Awaitable[bool]],
) -> tuple[int, PullStats]:
    """Apply the changes newer than the cursor (``apply`` says whether the center took
    it or found its version stale) in one transaction with the cursor. A change the
    center refuses fails the page, visibly: nothing of it is applied."""
    stats = PullStats()
    async with inbound.transaction() as session:
        cursor = await inbound.cursor(session)
        since = int(cursor.get(cursor_key, 0))
        for change in changes:
            if change.version <= since:
                stats.stale += 1
                continue
            try:
                applied = await apply(session, change)
            except UserInputError as error:
                raise PluginError(
                    f"{describe(change)} (version {change.version}): {error.code}: {error.message}"
                ) from None
            if applied:
                stats.applied += 1
            else:
                stats.stale += 1
        newest = max([since, *(c.version for c in changes)])
        await inbound.save_cursor(session, {**cursor, cursor_key: newest})
    return newest, stats


async def apply_products(
    inbound: Inbound, changes: Sequence[ProductChange], cursor_key: str
) -> tuple[int, PullStats]:
    """Upsert products by external code and source version (the product center ignores
    a version not newer than the last applied)."""

    async def upsert(session: AsyncSession, change: ProductChange) -> bool:
        outcome = await product_api.upsert_product(
            session,
            inbound.tenant_id,
            external_code=change.code,
            source_version=change.version,
            name=change.name,
            skus=change.skus,
        )
        return outcome.applied

    return await apply_versioned(
        inbound, changes, cursor_key, describe=lambda c: f"product {c.code}", apply=upsert
    )
