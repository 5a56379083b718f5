"""The stock subgraph: levels per SKU per location, the ledger, ERP sync, settings,
locations and flash sales. It adds ``stock``/``stockLevels`` to the product center's ``Sku``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import strawberry

from centers.stock import policy, repository, service
from centers.stock.dto import DeductionStrategy, LevelInfo, LocationInfo, StockSettings
from centers.stock.graphql.types import (
    Ctx,
    StockLevel,
    StockLocation,
    StockMovement,
    StockSettingsType,
)
from kernel.errors import UserInputError
from kernel.graphql.fields import NARROWED, StoreArg, mutation, query
from kernel.graphql.ids import parse_id, try_parse_id
from kernel.graphql.mutations import attempt
from kernel.graphql.pagination import Connection, connection, page_request
from kernel.graphql.subgraph import Subgraph
from kernel.graphql.types import UserError

# One ERP message carries at most this many counts; bigger pushes are split by the sender.
MAX_SYNC_COUNTS = 500


@strawberry.input
class AdjustStockInput:
    idempotency_key: str
    store_id: strawberry.ID = strawberry.field(description="A store's or a warehouse's id.")
    sku_id: strawberry.ID
    delta: int = strawberry.field(description="Units received (+) or removed (−).")
    reason: str = strawberry.field(description="Why, e.g. 'received', 'count', 'waste'.")


@strawberry.type
class AdjustStockPayload:
    stock_level: StockLevel | None
    user_errors: list[UserError]


@strawberry.input
class StockCountInput:
    location_id: strawberry.ID
    sku_id: strawberry.ID
    on_hand: int
    source_version: int = strawberry.field(
        description="The ERP's version of this count (e.g. its change sequence); only a "
        "newer version than the last applied changes the level."
    )


@strawberry.input
class SyncStockLevelsInput:
    source: str = strawberry.field(description="Which system sent the counts, e.g. 'erp'.")
    counts: list[StockCountInput]


@strawberry.type
class StockCountResult:
    applied: bool = strawberry.field(description="False for a stale or repeated version.")
    shortfall: int = strawberry.field(description="Reserved units the count does not cover.")
    stock_level: StockLevel


@strawberry.type
class SyncStockLevelsPayload:
    results: list[StockCountResult]
    user_errors: list[UserError]


@strawberry.input
class SetLowStockThresholdInput:
    location_id: strawberry.ID
    sku_id: strawberry.ID
    threshold: int | None = strawberry.field(description="null stops the alerts.")


@strawberry.type
class StockLevelPayload:
    stock_level: StockLevel | None
    user_errors: list[UserError]


@strawberry.input
class SaveStockSettingsInput:
    deduction_strategy: DeductionStrategy
    reservation_ttl_seconds: int = 900


@strawberry.type
class SaveStockSettingsPayload:
    settings: StockSettingsType | None
    user_errors: list[UserError]


@strawberry.input
class SetProductDeductionStrategyInput:
    product_id: strawberry.ID
    strategy: DeductionStrategy | None = strawberry.field(
        description="null: follow the tenant's strategy."
    )


@strawberry.type
class SetProductDeductionStrategyPayload:
    strategy: DeductionStrategy | None
    user_errors: list[UserError]


@strawberry.input
class CreateWarehouseInput:
    code: str
    name: str
    priority: int = 100
    latitude: float | None = None
    longitude: float | None = None


@strawberry.input
class UpdateWarehouseInput:
    id: strawberry.ID
    name: str
    priority: int
    latitude: float | None = None
    longitude: float | None = None
    active: bool = True


@strawberry.input
class SetStoreLocationInput:
    store_id: strawberry.ID
    priority: int = 0
    latitude: float | None = None
    longitude: float | None = None
    active: bool = True


@strawberry.type
class StockLocationPayload:
    location: StockLocation | None
    user_errors: list[UserError]


@strawberry.input
class OpenFlashSaleInput:
    location_id: strawberry.ID
    sku_id: strawberry.ID
    units: int
    buckets: int = strawberry.field(
        default=16, description="Shards the units are spread over (1-64)."
    )


@strawberry.input
class CloseFlashSaleInput:
    location_id: strawberry.ID
    sku_id: strawberry.ID


async def _level_payload(info: Ctx, run: Callable[[], Awaitable[LevelInfo]]) -> StockLevelPayload:
    level, errors = await attempt(info.context, run)
    return StockLevelPayload(
        stock_level=StockLevel.of(level) if level else None, user_errors=errors
    )


async def _location_payload(
    info: Ctx, run: Callable[[], Awaitable[LocationInfo]]
) -> StockLocationPayload:
    found, errors = await attempt(info.context, run)
    return StockLocationPayload(
        location=StockLocation.of(found) if found else None, user_errors=errors
    )


@strawberry.type
class Query:
    @query(
        policy.READ_STOCK,
        store=StoreArg("storeId"),
        description="Stock levels at one store or warehouse, by SKU id.",
    )
    async def stock_levels(
        self, info: Ctx, store_id: strawberry.ID, first: int = 20, after: str | None = None
    ) -> Connection[StockLevel]:
        context = info.context
        page = page_request(first, after)
        store = try_parse_id(store_id)
        rows = (
            await repository.list_levels(context.session, context.tenant_id, store, page)
            if store
            else []
        )
        return connection(rows, page, StockLevel.of, lambda level: [level.sku_id])

    @query(
        policy.READ_MOVEMENTS,
        store=StoreArg("locationId"),
        description="The ledger of one level, newest first.",
    )
    async def stock_movements(
        self,
        info: Ctx,
        location_id: strawberry.ID,
        sku_id: strawberry.ID,
        first: int = 20,
        after: str | None = None,
    ) -> Connection[StockMovement]:
        context = info.context
        page = page_request(first, after)
        location, sku = try_parse_id(location_id), try_parse_id(sku_id)
        rows = (
            await repository.list_movements(context.session, context.tenant_id, location, sku, page)
            if location and sku
            else []
        )
        return connection(rows, page, StockMovement.of, lambda m: [m.created_at.isoformat(), m.id])

    @query(
        policy.READ_STOCK,
        store=NARROWED,
        description="The brand's stores and warehouses holding stock.",
    )
    async def stock_locations(
        self, info: Ctx, first: int = 20, after: str | None = None
    ) -> Connection[StockLocation]:
        context = info.context
        page = page_request(first, after)
        scope = context.stores(policy.READ_STOCK)
        # A store's location has the store's id, so the held stores name their locations;
        # warehouses are no store's, and only a tenant-wide grant lists them.
        rows = await repository.list_locations(
            context.session,
            context.tenant_id,
            page,
            only=scope if isinstance(scope, frozenset) else None,
        )
        return connection(rows, page, StockLocation.of, lambda x: [x.id])

    @query(policy.MANAGE_SETTINGS, description="Deduction strategy and reservation TTL.")
    async def stock_settings(self, info: Ctx) -> StockSettingsType:
        context = info.context
        return StockSettingsType.of(await service.get_settings(context.session, context.tenant_id))

    @query(
        policy.READ_STOCK,
        store=StoreArg("locationId"),
        description="Units a flash sale still offers for the SKU here; null if none is open.",
    )
    async def flash_sale_units_left(
        self, info: Ctx, location_id: strawberry.ID, sku_id: strawberry.ID
    ) -> int | None:
        context = info.context
        location, sku = try_parse_id(location_id), try_parse_id(sku_id)
        if location is None or sku is None:
            return None
        return await service.flash_units_left(context.session, context.tenant_id, location, sku)


@strawberry.type
class Mutation:
    @mutation(
        policy.ADJUST_STOCK,
        store=StoreArg("input.storeId"),
        description="Change on-hand stock at a store or warehouse. Codes: INVALID_ID, "
        "INVALID_DELTA, INVALID_REASON, STORE_NOT_FOUND, SKU_NOT_FOUND, INSUFFICIENT_STOCK, "
        "INVALID_IDEMPOTENCY_KEY, IDEMPOTENCY_KEY_REUSED.",
    )
    async def adjust_stock(self, info: Ctx, input: AdjustStockInput) -> AdjustStockPayload:
        context = info.context

        async def run() -> LevelInfo:
            return await service.adjust(
                context.session,
                context.tenant_id,
                idempotency_key=input.idempotency_key,
                store_id=parse_id(input.store_id, ["input", "storeId"]),
                sku_id=parse_id(input.sku_id, ["input", "skuId"]),
                delta=input.delta,
                reason=input.reason,
            )

        level, errors = await attempt(context, run)
        return AdjustStockPayload(
            stock_level=StockLevel.of(level) if level else None, user_errors=errors
        )

    @mutation(
        policy.SYNC_STOCK,
        description="Apply on-hand counts from the brand's ERP, idempotent and ordered by "
        "sourceVersion per level (an older count never overwrites a newer one). Codes: "
        "INVALID_ID, TOO_MANY_COUNTS, INVALID_ON_HAND, INVALID_SOURCE_VERSION, INVALID_SOURCE, "
        "LOCATION_NOT_FOUND, SKU_NOT_FOUND.",
    )
    async def sync_stock_levels(
        self, info: Ctx, input: SyncStockLevelsInput
    ) -> SyncStockLevelsPayload:
        context = info.context

        async def run() -> list[StockCountResult]:
            if not 1 <= len(input.counts) <= MAX_SYNC_COUNTS:
                raise UserInputError(
                    f"send 1 to {MAX_SYNC_COUNTS} counts per call",
                    code="TOO_MANY_COUNTS",
                    field=["input", "counts"],
                )
            results = []
            for index, count in enumerate(input.counts):
                path = ["input", "counts", str(index)]
                outcome = await service.sync_level(
                    context.session,
                    context.tenant_id,
                    location_id=parse_id(count.location_id, [*path, "locationId"]),
                    sku_id=parse_id(count.sku_id, [*path, "skuId"]),
                    on_hand=count.on_hand,
                    source_version=count.source_version,
                    source=input.source,
                    field=path,
                )
                results.append(
                    StockCountResult(
                        applied=outcome.applied,
                        shortfall=outcome.shortfall,
                        stock_level=StockLevel.of(outcome.level),
                    )
                )
            return results

        results, errors = await attempt(context, run)
        return SyncStockLevelsPayload(results=results or [], user_errors=errors)

    @mutation(
        policy.MANAGE_SETTINGS,
        description="Alert (event stock.low) when available stock falls to or below a "
        "threshold. Codes: INVALID_ID, INVALID_THRESHOLD, LOCATION_NOT_FOUND, SKU_NOT_FOUND.",
    )
    async def set_low_stock_threshold(
        self, info: Ctx, input: SetLowStockThresholdInput
    ) -> StockLevelPayload:
        context = info.context
        return await _level_payload(
            info,
            lambda: service.set_low_threshold(
                context.session,
                context.tenant_id,
                location_id=parse_id(input.location_id, ["input", "locationId"]),
                sku_id=parse_id(input.sku_id, ["input", "skuId"]),
                threshold=input.threshold,
            ),
        )

    @mutation(
        policy.MANAGE_SETTINGS,
        description="The brand's deduction strategy and reservation TTL. Codes: INVALID_TTL.",
    )
    async def save_stock_settings(
        self, info: Ctx, input: SaveStockSettingsInput
    ) -> SaveStockSettingsPayload:
        context = info.context

        async def run() -> StockSettings:
            return await service.save_settings(
                context.session,
                context.tenant_id,
                deduction_strategy=input.deduction_strategy,
                reservation_ttl_seconds=input.reservation_ttl_seconds,
            )

        saved, errors = await attempt(context, run)
        return SaveStockSettingsPayload(
            settings=StockSettingsType.of(saved) if saved else None, user_errors=errors
        )

    @mutation(
        policy.MANAGE_SETTINGS,
        description="Override the deduction strategy for one product. Codes: INVALID_ID, "
        "PRODUCT_NOT_FOUND.",
    )
    async def set_product_deduction_strategy(
        self, info: Ctx, input: SetProductDeductionStrategyInput
    ) -> SetProductDeductionStrategyPayload:
        context = info.context

        async def run() -> DeductionStrategy | None:
            await service.set_product_strategy(
                context.session,
                context.tenant_id,
                product_id=parse_id(input.product_id, ["input", "productId"]),
                strategy=input.strategy,
            )
            return input.strategy

        strategy, errors = await attempt(context, run)
        return SetProductDeductionStrategyPayload(strategy=strategy, user_errors=errors)

    @mutation(
        policy.MANAGE_SETTINGS,
        description="Add a warehouse (仓库). Codes: INVALID_CODE, CODE_TAKEN, INVALID_NAME, "
        "INVALID_PRIORITY, INVALID_POSITION.",
    )
    async def create_warehouse(
        self, info: Ctx, input: CreateWarehouseInput
    ) -> StockLocationPayload:
        context = info.context
        return await _location_payload(
            info,
            lambda: service.create_warehouse(
                context.session,
                context.tenant_id,
                code=input.code,
                name=input.name,
                priority=input.priority,
                latitude=input.latitude,
                longitude=input.longitude,
            ),
        )

    @mutation(
        policy.MANAGE_SETTINGS,
        description="Change a warehouse. Codes: INVALID_ID, LOCATION_NOT_FOUND, INVALID_NAME, "
        "INVALID_PRIORITY, INVALID_POSITION.",
    )
    async def update_warehouse(
        self, info: Ctx, input: UpdateWarehouseInput
    ) -> StockLocationPayload:
        context = info.context
        return await _location_payload(
            info,
            lambda: service.set_warehouse(
                context.session,
                context.tenant_id,
                location_id=parse_id(input.id, ["input", "id"]),
                name=input.name,
                priority=input.priority,
                latitude=input.latitude,
                longitude=input.longitude,
                active=input.active,
            ),
        )

    @mutation(
        policy.MANAGE_SETTINGS,
        description="Register a store for dispatch with its priority and position. Codes: "
        "INVALID_ID, STORE_NOT_FOUND, CODE_TAKEN, INVALID_PRIORITY, INVALID_POSITION.",
    )
    async def set_store_location(
        self, info: Ctx, input: SetStoreLocationInput
    ) -> StockLocationPayload:
        context = info.context
        return await _location_payload(
            info,
            lambda: service.set_store_location(
                context.session,
                context.tenant_id,
                store_id=parse_id(input.store_id, ["input", "storeId"]),
                priority=input.priority,
                latitude=input.latitude,
                longitude=input.longitude,
                active=input.active,
            ),
        )

    @mutation(
        policy.MANAGE_FLASH_SALE,
        store=StoreArg("input.locationId"),
        description="Set units of a hot SKU aside for a flash sale (秒杀), spread over buckets. "
        "Codes: INVALID_ID, INVALID_UNITS, INVALID_BUCKETS, LOCATION_NOT_FOUND, SKU_NOT_FOUND, "
        "INSUFFICIENT_STOCK.",
    )
    async def open_flash_sale(self, info: Ctx, input: OpenFlashSaleInput) -> StockLevelPayload:
        context = info.context
        return await _level_payload(
            info,
            lambda: service.open_flash_sale(
                context.session,
                context.tenant_id,
                location_id=parse_id(input.location_id, ["input", "locationId"]),
                sku_id=parse_id(input.sku_id, ["input", "skuId"]),
                units=input.units,
                buckets=input.buckets,
            ),
        )

    @mutation(
        policy.MANAGE_FLASH_SALE,
        store=StoreArg("input.locationId"),
        description="End a flash sale: unclaimed units return to available stock. Codes: "
        "INVALID_ID, NO_FLASH_SALE.",
    )
    async def close_flash_sale(self, info: Ctx, input: CloseFlashSaleInput) -> StockLevelPayload:
        context = info.context
        return await _level_payload(
            info,
            lambda: service.close_flash_sale(
                context.session,
                context.tenant_id,
                location_id=parse_id(input.location_id, ["input", "locationId"]),
                sku_id=parse_id(input.sku_id, ["input", "skuId"]),
            ),
        )


subgraph = Subgraph(
    name="stock",
    schema=strawberry.federation.Schema(query=Query, mutation=Mutation, types=[StockLevel]),
    entity_permissions={
        "StockLevel": policy.READ_STOCK,
        "Sku": policy.READ_STOCK,
        "Store": policy.READ_STOCK,
    },
    grants=policy.GRANTS,
    store_permissions=policy.STORE_PERMISSIONS,
    # References answered only within the caller's stores (roles held at a store).
    store_narrowed_entities=frozenset({"Sku", "StockLevel"}),
    job_handlers={service.EXPIRY_JOB: service.expire_job},
)
