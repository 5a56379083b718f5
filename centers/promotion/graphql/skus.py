"""``Sku.activePromotions``: the product center's SKU, with the activities live for it."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime

import strawberry
from strawberry import Info
from strawberry.dataloader import DataLoader

from centers.product import api as product_api
from centers.promotion import repository
from centers.promotion.engine import Scope
from centers.promotion.graphql.activities import PromotionActivity
from centers.promotion.pricing import scope_of
from kernel.context import RequestContext
from kernel.graphql.ids import try_parse_id

Ctx = Info[RequestContext, None]


def _live_for_skus(context: RequestContext) -> DataLoader[uuid.UUID, list[PromotionActivity]]:
    async def load(ids: Sequence[uuid.UUID]) -> list[list[PromotionActivity]]:
        # One read of the live activities and one of the SKUs, for all SKUs asked.
        live = await repository.live_activities(
            context.session, context.tenant_id, datetime.now(UTC)
        )
        skus = await product_api.get_skus(context.session, context.tenant_id, list(ids))
        found: list[list[PromotionActivity]] = []
        for sku_id in ids:
            sku = skus.get(sku_id)
            if sku is None:
                found.append([])
                continue
            found.append(
                [
                    PromotionActivity.of(row.info)
                    for row in live
                    if _covers(scope_of(row.scope), sku_id, sku.product_id)
                ]
            )
        return found

    return context.loader("promotion.live_for_skus", lambda: DataLoader(load_fn=load))


def _covers(scope: Scope, sku_id: uuid.UUID, product_id: uuid.UUID) -> bool:
    if not (scope.sku_ids or scope.product_ids or scope.category_ids):
        return True
    return sku_id in scope.sku_ids or product_id in scope.product_ids


# The product center owns Sku and describes it; this stub only adds activePromotions.
@strawberry.federation.type(keys=["id"])
class Sku:
    id: strawberry.ID

    @strawberry.field(
        description="Promotion activities live now whose goods include this SKU, by priority "
        "(store, channel and member-level scopes still apply at checkout)."
    )
    async def active_promotions(self, info: Ctx) -> list[PromotionActivity]:
        sku_id = try_parse_id(self.id)
        return await _live_for_skus(info.context).load(sku_id) if sku_id else []
