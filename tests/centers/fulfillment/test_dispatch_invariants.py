"""Dispatch invariants over many random stock layouts: every line goes to a location that
has it; one location with everything means one parcel; O2O stores that can serve do."""

from __future__ import annotations

import itertools
import random
import uuid

from centers.fulfillment import api as fulfillment_api
from centers.stock import api as stock_api
from centers.stock import service as stock_service
from kernel.db import Database
from kernel.errors import UserInputError
from tests.builders import open_shop
from tests.conftest import TenantFixture

SCENARIOS = 30


async def test_dispatch_plans_hold_their_invariants(tenant: TenantFixture, db: Database) -> None:
    shop = await open_shop(tenant, prices=(100, 200, 300), stock=0)
    skus = shop.sku_ids
    async with db.unit_of_work(tenant.id) as session:
        # Four warehouses around Shanghai with mixed priorities, plus the shop's store.
        warehouses = [
            (
                await stock_service.create_warehouse(
                    session,
                    tenant.id,
                    code=f"W{i}",
                    name=f"W{i}",
                    priority=i % 2,
                    latitude=31.0 + i / 10,
                    longitude=121.0 + i / 10,
                )
            ).id
            for i in range(4)
        ]
        await stock_service.set_store_location(
            session,
            tenant.id,
            store_id=shop.store_id,
            priority=0,
            latitude=31.1,
            longitude=121.1,
            active=True,
        )
    locations = [shop.store_id, *warehouses]
    versions = itertools.count(1)
    rng = random.Random(11)
    outcomes = {"single": 0, "split": 0, "o2o": 0, "out": 0}
    for _ in range(SCENARIOS):
        async with db.unit_of_work(tenant.id) as session:
            for location in locations:
                for sku in skus:
                    await stock_api.sync_level(
                        session,
                        tenant.id,
                        location,
                        sku,
                        rng.choice([0, 0, 1, 3, 8]),
                        next(versions),
                        "erp",
                    )
        wanted = {sku: rng.randint(1, 4) for sku in rng.sample(skus, rng.randint(1, 3))}
        o2o = rng.random() < 0.5
        async with db.unit_of_work(tenant.id) as session:
            stock = await stock_api.available_at(session, tenant.id, list(wanted))
            try:
                plan = await fulfillment_api.dispatch(
                    session,
                    tenant.id,
                    order_id=uuid.uuid4(),
                    lines=[fulfillment_api.DispatchLine(s, q) for s, q in wanted.items()],
                    destination=fulfillment_api.Destination(
                        latitude_e6=31_100_000,
                        longitude_e6=121_100_000,
                        store_id=shop.store_id if o2o else None,
                    ),
                )
            except UserInputError as error:
                assert error.code == "OUT_OF_STOCK"
                # Refused only when some line fits nowhere.
                assert any(
                    all(stock.get(loc, {}).get(s, 0) < q for loc in locations)
                    for s, q in wanted.items()
                )
                outcomes["out"] += 1
                continue
        has = {
            loc
            for loc in locations
            if all(stock.get(loc, {}).get(s, 0) >= q for s, q in wanted.items())
        }
        for assignment in plan.assignments:
            assert (
                stock.get(assignment.location_id, {}).get(assignment.sku_id, 0)
                >= assignment.quantity
            )
        assert {a.sku_id: a.quantity for a in plan.assignments} == wanted
        if o2o and shop.store_id in has:
            assert plan.locations == (shop.store_id,)
            outcomes["o2o"] += 1
        elif has:
            assert len(plan.locations) == 1 and plan.locations[0] in has
            outcomes["single"] += 1
        else:
            assert len(plan.locations) > 1
            outcomes["split"] += 1
    assert all(outcomes.values()), outcomes  # every rule was exercised
