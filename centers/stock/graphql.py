"""The stock subgraph: levels per SKU per store, and ``adjustStock``.

It adds ``stock``/``stockLevels`` to the product center's ``Sku``.
"""

from __future__ import annotations

import uuid

import strawberry
from strawberry import Info

from centers.stock import loaders, policy, repository, service
from centers.stock.dto import LevelInfo
from kernel.context import RequestContext
from kernel.graphql.fields import mutation, query
from kernel.graphql.ids import parse_id, try_parse_id
from kernel.graphql.mutations import attempt
from kernel.graphql.pagination import Connection, connection, page_request
from kernel.graphql.subgraph import Subgraph
from kernel.graphql.types import UserError

Ctx = Info[RequestContext, None]


@strawberry.federation.type(keys=["id"])
class Store:
    id: strawberry.ID


@strawberry.federation.type(keys=["id"])
class Sku:
    id: strawberry.ID

    @strawberry.field(description="Stock of this SKU at one store (zero if never stocked).")
    async def stock(self, info: Ctx, store_id: strawberry.ID) -> StockLevel | None:
        sku_id, store = try_parse_id(self.id), try_parse_id(store_id)
        if sku_id is None or store is None:
            return None
        return StockLevel.of(await loaders.levels(info.context).load((store, sku_id)))

    @strawberry.field(description="Stock of this SKU at every store that holds it.")
    async def stock_levels(self, info: Ctx) -> list[StockLevel]:
        sku_id = try_parse_id(self.id)
        found = await loaders.levels_of_sku(info.context).load(sku_id) if sku_id else []
        return [StockLevel.of(level) for level in found]


def level_id(store_id: uuid.UUID, sku_id: uuid.UUID) -> str:
    """A level is identified by its store and SKU; the id carries both."""
    return f"{store_id}.{sku_id}"


def parse_level_id(value: str) -> tuple[uuid.UUID, uuid.UUID] | None:
    store, _, sku = value.partition(".")
    store_id, sku_id = try_parse_id(store), try_parse_id(sku)
    return (store_id, sku_id) if store_id and sku_id else None


@strawberry.federation.type(keys=["id"], description="Stock of one SKU at one store (库存).")
class StockLevel:
    id: strawberry.ID
    store_id: strawberry.Private[uuid.UUID]
    sku_id: strawberry.Private[uuid.UUID]
    on_hand: int = strawberry.field(description="Units physically present.")
    reserved: int = strawberry.field(description="Units held for open orders.")
    available: int = strawberry.field(description="onHand - reserved: what can still be sold.")

    @classmethod
    def of(cls, value: LevelInfo) -> StockLevel:
        return cls(
            id=strawberry.ID(level_id(value.store_id, value.sku_id)),
            store_id=value.store_id,
            sku_id=value.sku_id,
            on_hand=value.on_hand,
            reserved=value.reserved,
            available=value.available,
        )

    @strawberry.field
    def store(self) -> Store:
        return Store(id=strawberry.ID(str(self.store_id)))

    @strawberry.field
    def sku(self) -> Sku:
        return Sku(id=strawberry.ID(str(self.sku_id)))

    @classmethod
    async def resolve_reference(cls, info: Ctx, id: strawberry.ID) -> StockLevel | None:
        key = parse_level_id(id)
        return cls.of(await loaders.levels(info.context).load(key)) if key else None


@strawberry.input
class AdjustStockInput:
    idempotency_key: str
    store_id: strawberry.ID
    sku_id: strawberry.ID
    delta: int = strawberry.field(description="Units received (+) or removed (−).")
    reason: str = strawberry.field(description="Why, e.g. 'received', 'count', 'waste'.")


@strawberry.type
class AdjustStockPayload:
    stock_level: StockLevel | None
    user_errors: list[UserError]


@strawberry.type
class Query:
    @query(policy.READ_STOCK, description="Stock levels at one store, by SKU id.")
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


@strawberry.type
class Mutation:
    @mutation(
        policy.ADJUST_STOCK,
        description="Change on-hand stock at a store. Codes: INVALID_ID, INVALID_DELTA, "
        "INVALID_REASON, STORE_NOT_FOUND, SKU_NOT_FOUND, INSUFFICIENT_STOCK, "
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


subgraph = Subgraph(
    name="stock",
    schema=strawberry.federation.Schema(query=Query, mutation=Mutation, types=[StockLevel]),
    entity_permissions={
        "StockLevel": policy.READ_STOCK,
        "Sku": policy.READ_STOCK,
        "Store": policy.READ_STOCK,
    },
    grants=policy.GRANTS,
)
