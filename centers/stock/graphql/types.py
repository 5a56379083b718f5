"""GraphQL types of the stock subgraph; ``Sku`` and ``Store`` are other centers' entities."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Mapping, Sequence
from datetime import datetime
from typing import Any

import strawberry
from graphql import GraphQLResolveInfo
from strawberry import Info

from centers.stock import loaders, policy
from centers.stock.dto import (
    DeductionStrategy,
    LevelInfo,
    LocationInfo,
    LocationKind,
    MovementInfo,
    StockSettings,
)
from kernel.authz.stores import covers
from kernel.context import RequestContext
from kernel.graphql.ids import try_parse_id
from kernel.graphql.prefetch import (
    MISSING,
    MaybeAwaitable,
    Missing,
    field_type,
    loaded,
    peek,
    prefetch,
    prime,
)

Ctx = Info[RequestContext, None]
RawInfo = GraphQLResolveInfo[RequestContext]

strawberry.enum(
    DeductionStrategy,
    description="When an order takes stock off: AT_ORDER (下单减库存, held until payment or "
    "the reservation TTL) or AT_PAYMENT (付款减库存, re-checked at payment).",
)
strawberry.enum(LocationKind, description="A store, or a warehouse (仓库).")


def _level_loaded(
    context: RequestContext, store_id: uuid.UUID, sku_id: uuid.UUID
) -> LevelInfo | Missing | None:
    """``level_at`` from what the request's loaders already hold, else ``MISSING``."""
    found = peek(loaders.levels(context), (store_id, sku_id))
    if found is not None:
        return found
    location = peek(loaders.known_locations(context), store_id)
    if location is not True:
        return None if location is False else MISSING
    sku = peek(loaders.known_skus(context), sku_id)
    if sku is not True:
        return None if sku is False else MISSING
    return LevelInfo(store_id, sku_id, 0, 0, None)


async def _stock_level(found: Awaitable[LevelInfo | None]) -> StockLevel | None:
    level = await found
    return StockLevel.of(level) if level else None


# Prefetches (kernel.graphql.prefetch): a page's root loads a whole level at once, as
# ``level_at`` would for each SKU (levels, then the existence checks for pairs without
# a row), so the fields answer at once.


async def _prefetch_stock(
    info: RawInfo, skus: Sequence[Sku], arguments: Mapping[str, Any]
) -> list[Any]:
    context = info.context
    store = try_parse_id(str(arguments.get("storeId")))
    # Only where the caller reads stock: the field refuses the others without loading.
    if store is None or not context.allows_at(policy.READ_STOCK, store):
        return []
    keys = [(store, sku_id) for sku_id in (try_parse_id(s.id) for s in skus) if sku_id]
    levels = loaders.levels(context)
    await prime(levels, keys)
    unstocked = [sku_id for key in keys if peek(levels, key) is None for sku_id in key[1:]]
    if unstocked:
        await prime(loaders.known_locations(context), [store])
        if peek(loaders.known_locations(context), store) is True:
            await prime(loaders.known_skus(context), unstocked)
    return []  # a level's location is prefetched from levels reached by stockLevels only


async def _prefetch_stock_levels(
    info: RawInfo, skus: Sequence[Sku], _arguments: Mapping[str, Any]
) -> list[StockLevel]:
    context = info.context
    ids = [sku_id for sku_id in (try_parse_id(s.id) for s in skus) if sku_id]
    await prime(loaders.levels_of_sku(context), ids)
    scope = context.stores(policy.READ_STOCK)
    return [
        StockLevel.of(x)
        for sku_id in ids
        if not isinstance(found := peek(loaders.levels_of_sku(context), sku_id), Missing)
        for x in found
        if covers(scope, x.store_id)
    ]


async def _prefetch_locations(
    info: RawInfo, levels: Sequence[StockLevel], _arguments: Mapping[str, Any]
) -> list[Any]:
    await prime(loaders.locations(info.context), [x.store_id for x in levels])
    return []


@strawberry.federation.type(keys=["id"])
class Store:
    id: strawberry.ID


@strawberry.federation.type(keys=["id"])
class Sku:
    id: strawberry.ID

    @strawberry.field(
        graphql_type=field_type("StockLevel | None", globals()),
        description="Stock of this SKU at one store or warehouse (zero if never stocked; "
        "null for an id that is not one of the brand's SKUs, stores or warehouses).",
        metadata=prefetch(_prefetch_stock),
    )
    def stock(self, info: Ctx, store_id: strawberry.ID) -> MaybeAwaitable[StockLevel | None]:
        sku_id, store = try_parse_id(self.id), try_parse_id(store_id)
        if sku_id is None or store is None:
            return None
        # Reached through a level (``StockLevel.sku``) this field skips the entity
        # permission, so a role held at a store gets here: its stores' stock only.
        info.context.authorize_at(policy.READ_STOCK, store)
        found = _level_loaded(info.context, store, sku_id)
        if isinstance(found, Missing):
            return _stock_level(level_at(info.context, store, sku_id))
        return StockLevel.of(found) if found else None

    @strawberry.field(
        graphql_type=field_type("list[StockLevel]", globals()),
        description="Stock of this SKU at every location that holds it.",
        metadata=prefetch(_prefetch_stock_levels),
    )
    def stock_levels(self, info: Ctx) -> MaybeAwaitable[list[StockLevel]]:
        sku_id = try_parse_id(self.id)
        if sku_id is None:
            return []
        scope = info.context.stores(policy.READ_STOCK)
        return loaded(
            self,
            "stock_levels",
            loaders.levels_of_sku(info.context),
            sku_id,
            lambda found: [StockLevel.of(x) for x in found if covers(scope, x.store_id)],
        )


async def level_at(
    context: RequestContext, store_id: uuid.UUID, sku_id: uuid.UUID
) -> LevelInfo | None:
    """The level of a SKU at a location: its row, or zero for a pair never stocked, when
    both are the tenant's; ``None`` for anything else (a random or another tenant's id),
    so nothing is made up for ids that do not exist. The existence checks run only for
    pairs without a row, batched per request."""
    found = await loaders.levels(context).load((store_id, sku_id))
    if found is not None:
        return found
    if not await loaders.known_locations(context).load(store_id):
        return None
    if not await loaders.known_skus(context).load(sku_id):
        return None
    return LevelInfo(store_id, sku_id, 0, 0, None)


def level_id(store_id: uuid.UUID, sku_id: uuid.UUID) -> str:
    """A level is identified by its location and SKU; the id carries both."""
    return f"{store_id}.{sku_id}"


def parse_level_id(value: str) -> tuple[uuid.UUID, uuid.UUID] | None:
    store, _, sku = value.partition(".")
    store_id, sku_id = try_parse_id(store), try_parse_id(sku)
    return (store_id, sku_id) if store_id and sku_id else None


@strawberry.type(description="A store or warehouse that holds stock, with its dispatch data.")
class StockLocation:
    id: strawberry.ID
    kind: LocationKind
    code: str
    name: str
    priority: int = strawberry.field(description="Dispatch preference: lower first.")
    latitude: float | None
    longitude: float | None
    active: bool

    @classmethod
    def of(cls, value: LocationInfo) -> StockLocation:
        return cls(
            id=strawberry.ID(str(value.id)),
            kind=value.kind,
            code=value.code,
            name=value.name,
            priority=value.priority,
            latitude=value.latitude_e6 / 1e6 if value.latitude_e6 is not None else None,
            longitude=value.longitude_e6 / 1e6 if value.longitude_e6 is not None else None,
            active=value.active,
        )


@strawberry.federation.type(
    keys=["id"], description="Stock of one SKU at one store or warehouse (库存)."
)
class StockLevel:
    id: strawberry.ID
    store_id: strawberry.Private[uuid.UUID]
    sku_id: strawberry.Private[uuid.UUID]
    on_hand: int = strawberry.field(description="Units physically present.")
    reserved: int = strawberry.field(description="Units held for open orders and flash sales.")
    available: int = strawberry.field(description="onHand - reserved: what can still be sold.")
    low_threshold: int | None = strawberry.field(
        description="stock.low fires when available falls to or below this."
    )

    @classmethod
    def of(cls, value: LevelInfo) -> StockLevel:
        return cls(
            id=strawberry.ID(level_id(value.store_id, value.sku_id)),
            store_id=value.store_id,
            sku_id=value.sku_id,
            on_hand=value.on_hand,
            reserved=value.reserved,
            available=value.available,
            low_threshold=value.low_threshold,
        )

    @strawberry.field(description="The store; for a warehouse's stock, use location.")
    def store(self) -> Store:
        return Store(id=strawberry.ID(str(self.store_id)))

    @strawberry.field(description="Id of the store or warehouse holding this stock.")
    def location_id(self) -> strawberry.ID:
        return strawberry.ID(str(self.store_id))

    @strawberry.field(
        graphql_type=field_type("StockLocation | None", globals()),
        description="The location's dispatch data, if it is registered.",
        metadata=prefetch(_prefetch_locations),
    )
    def location(self, info: Ctx) -> MaybeAwaitable[StockLocation | None]:
        return loaded(
            self,
            "location",
            loaders.locations(info.context),
            self.store_id,
            lambda found: StockLocation.of(found) if found else None,
        )

    @strawberry.field
    def sku(self) -> Sku:
        return Sku(id=strawberry.ID(str(self.sku_id)))

    @classmethod
    async def resolve_reference(cls, info: Ctx, id: strawberry.ID) -> StockLevel | None:
        key = parse_level_id(id)
        # A role held at a store references its stores' levels only (null otherwise).
        if key is None or not info.context.allows_at(policy.READ_STOCK, key[0]):
            return None
        found = await level_at(info.context, *key)
        return cls.of(found) if found else None


@strawberry.type(description="One row of the movements ledger (库存流水).")
class StockMovement:
    id: strawberry.ID
    location_id: strawberry.ID
    on_hand_delta: int
    reserved_delta: int
    reason: str = strawberry.field(
        description="reserve, release, expire, deduct, erp_sync, flash_open, flash_close, "
        "or an adjustment's reason."
    )
    source_id: str = strawberry.field(description="The order, ERP message or key behind it.")
    created_at: datetime

    @classmethod
    def of(cls, value: MovementInfo) -> StockMovement:
        return cls(
            id=strawberry.ID(str(value.id)),
            location_id=strawberry.ID(str(value.location_id)),
            on_hand_delta=value.on_hand_delta,
            reserved_delta=value.reserved_delta,
            reason=value.reason,
            source_id=value.source_id,
            created_at=value.created_at,
        )


@strawberry.type(name="StockSettings")
class StockSettingsType:
    deduction_strategy: DeductionStrategy
    reservation_ttl_seconds: int = strawberry.field(
        description="How long an unpaid order holds its stock (default 900)."
    )

    @classmethod
    def of(cls, value: StockSettings) -> StockSettingsType:
        return cls(
            deduction_strategy=value.deduction_strategy,
            reservation_ttl_seconds=value.reservation_ttl_seconds,
        )
