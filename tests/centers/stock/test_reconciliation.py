"""After a random concurrent workload the ledger sums equal the levels, nothing is
negative, and ``reserved`` is exactly what orders hold plus open flash-sale units."""

from __future__ import annotations

import asyncio
import random
import uuid
from datetime import UTC, datetime, timedelta

from centers.stock import api as stock_api
from kernel.app import Runtime
from kernel.db import Database
from kernel.errors import UserInputError
from kernel.ids import new_id
from tests.builders import open_shop
from tests.centers.stock.arrange import assert_reconciled
from tests.conftest import TenantFixture

WORKERS = 12
STEPS = 12


async def test_ledger_reconciles_after_a_random_concurrent_workload(
    tenant: TenantFixture, db: Database, runtime: Runtime
) -> None:
    shop = await open_shop(tenant, stock=40, prices=(100, 200, 300, 400))
    location, skus = shop.store_id, shop.sku_ids
    async with db.unit_of_work(tenant.id) as session:
        await stock_api.open_flash_sale(
            session, tenant.id, location_id=location, sku_id=skus[0], units=15, buckets=4
        )
    orders: list[uuid.UUID] = []
    versions = iter(range(1, 10_000))

    async def step(rng: random.Random) -> None:
        action = rng.choice(["reserve", "reserve", "flash", "release", "confirm", "adjust", "sync"])
        async with db.unit_of_work(tenant.id) as session:
            if action == "reserve":
                order = new_id()
                picked = rng.sample(skus, rng.randint(1, 3))
                await stock_api.reserve(
                    session,
                    tenant.id,
                    location,
                    order,
                    [stock_api.ReserveLine(s, rng.randint(1, 4)) for s in picked],
                )
                orders.append(order)
            elif action == "flash":
                order = new_id()
                await stock_api.flash_reserve(
                    session, tenant.id, location_id=location, sku_id=skus[0], order_id=order
                )
                orders.append(order)
            elif action in ("release", "confirm") and orders:
                order = rng.choice(orders)
                if action == "release":
                    await stock_api.release(session, tenant.id, order)
                else:
                    await stock_api.confirm_for_order(session, tenant.id, order)
            elif action == "adjust":
                await stock_api.adjust(
                    session,
                    tenant.id,
                    idempotency_key=str(new_id()),
                    store_id=location,
                    sku_id=rng.choice(skus),
                    delta=rng.choice([-3, -1, 2, 5]),
                    reason="count",
                )
            elif action == "sync":
                await stock_api.sync_level(
                    session,
                    tenant.id,
                    location,
                    rng.choice(skus),
                    rng.randint(0, 60),
                    next(versions),
                    "erp",
                )

    async def worker(seed: int) -> None:
        rng = random.Random(seed)
        for _ in range(STEPS):
            try:
                await step(rng)
            except UserInputError as error:  # short stock is a normal answer
                assert error.code in {"OUT_OF_STOCK", "INSUFFICIENT_STOCK"}

    await asyncio.gather(*(worker(seed) for seed in range(WORKERS)))
    # Half-way holds expire, then everything is checked again.
    await runtime.jobs.run_due(now=datetime.now(UTC) + timedelta(hours=1), tenant_id=tenant.id)
    assert len(orders) > WORKERS  # the workload did reserve
    assert await assert_reconciled(db, tenant.id) == len(skus)
