"""Arranging test data through the centers' public ``api`` modules."""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass

from centers.product import api as product_api
from centers.stock import api as stock_api
from centers.store import api as store_api
from tests.conftest import TenantFixture


@dataclass(frozen=True)
class Shop:
    store_id: uuid.UUID
    sku_ids: list[uuid.UUID]
    prices: list[int]


async def open_shop(
    tenant: TenantFixture, *, prices: tuple[int, ...] = (1200, 800, 350), stock: int = 100
) -> Shop:
    """A store with one product per price, each SKU stocked with ``stock`` units."""
    async with tenant.runtime.db.unit_of_work() as session:
        store = await store_api.create_store(
            session,
            tenant.id,
            code=f"S-{secrets.token_hex(3)}",
            name="Test store",
            timezone="Asia/Shanghai",
        )
        sku_ids: list[uuid.UUID] = []
        for index, price in enumerate(prices):
            _, skus = await product_api.create_product(
                session,
                tenant.id,
                name=f"Dish {index}",
                skus=[
                    product_api.NewSku(
                        code=f"D{index}-{secrets.token_hex(3)}",
                        name=f"Dish {index}",
                        price_amount=price,
                    )
                ],
            )
            sku_ids.append(skus[0].id)
            if stock:
                await stock_api.adjust(
                    session,
                    tenant.id,
                    idempotency_key=f"seed-{skus[0].id}",
                    store_id=store.id,
                    sku_id=skus[0].id,
                    delta=stock,
                    reason="received",
                )
    return Shop(store_id=store.id, sku_ids=sku_ids, prices=list(prices))
