"""Arranging payment tests: real orders (order center), their payments, the sandbox
provider emulator over loopback HTTP, and our app served over loopback for callbacks."""

from __future__ import annotations

import secrets
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from centers.order import api as order_api
from centers.order.dto import LineRequest
from centers.payment import api as payment_api
from centers.payment import providers
from centers.points import api as points_api
from centers.points import orders as points_orders
from centers.points.dto import PointsRules
from kernel.money import allocate
from plugins.emulation import LoopbackServer
from plugins.payment.emulator import SandboxPayEmulator
from plugins.payment.sandbox import SandboxProvider
from tests.builders import open_shop
from tests.centers.promotion.arrange import register
from tests.conftest import TenantFixture

payment_api.register_provider("sandbox", SandboxProvider.from_account)


@dataclass(frozen=True)
class Placed:
    order_id: uuid.UUID
    store_id: uuid.UUID
    amount: int
    lines: list[uuid.UUID]  # the payment's line ids, in a fixed order


async def placed_order(tenant: TenantFixture, quantities: tuple[int, ...] = (1, 2)) -> Placed:
    """A real order (list prices 1200, 800, …) and its open payment."""
    shop = await open_shop(tenant)
    async with tenant.runtime.db.unit_of_work(tenant.id) as session:
        order, _ = await order_api.place_order(
            session,
            tenant.id,
            buyer="user:buyer",
            idempotency_key=f"order-{secrets.token_hex(6)}",
            store_id=shop.store_id,
            lines=[
                LineRequest(sku_id=s, quantity=q)
                for s, q in zip(shop.sku_ids, quantities, strict=False)
            ],
        )
        opened = await payment_api.get_order_payment(session, tenant.id, order.id)
        if opened is None:
            weights = [p * q for p, q in zip(shop.prices, quantities, strict=False)]
            lines = [uuid.uuid4() for _ in weights]
            opened = await payment_api.open_payment(
                session,
                tenant.id,
                order_id=order.id,
                amount=order.total.amount,
                currency=order.total.currency,
                store_id=shop.store_id,
                line_amounts=dict(zip(lines, allocate(order.total.amount, weights), strict=True)),
            )
    return Placed(
        order_id=order.id,
        store_id=shop.store_id,
        amount=opened.amount.amount,
        lines=sorted(opened.line_amounts, key=lambda i: str(i)),
    )


async def points_member(tenant: TenantFixture, points: int) -> uuid.UUID:
    """A member with ``points`` and the brand's rules: 100 points = ¥1, up to all of it."""
    member = await register(tenant)
    async with tenant.runtime.db.unit_of_work(tenant.id) as session:
        await points_orders.set_rules(
            session,
            tenant.id,
            PointsRules(
                earn_points=1,
                earn_per_amount=100,
                redeem_unit_points=100,
                redeem_unit_value=100,
                redeem_max_bp=10_000,
                expiry_days=None,
            ),
        )
        if points:
            await points_api.adjust_points(
                session,
                tenant.id,
                idempotency_key=f"seed-{member}",
                member_id=member,
                delta=points,
                reason="gift",
            )
    return member


@dataclass
class Sandbox:
    emulator: SandboxPayEmulator
    provider_url: str
    app_url: str
    merchant_id: str
    secret: str


@asynccontextmanager
async def sandbox(app: object, tenant: TenantFixture) -> AsyncIterator[Sandbox]:
    """The emulator and our app, both on loopback; the tenant's account configured."""
    emulator = SandboxPayEmulator()
    merchant, secret = f"m-{secrets.token_hex(4)}", secrets.token_hex(24)
    emulator.add_merchant(merchant, secret)
    async with LoopbackServer(emulator.app()) as provider, LoopbackServer(app) as ours:  # type: ignore[arg-type]
        async with tenant.runtime.db.unit_of_work(tenant.id) as session:
            await providers.configure(
                session,
                tenant.id,
                provider="sandbox",
                settings={
                    "base_url": provider.url,
                    "merchant_id": merchant,
                    "notify_url": f"{ours.url}/callbacks/payment/sandbox/{tenant.id}",
                },
                secret=secret,
            )
        try:
            yield Sandbox(emulator, provider.url, ours.url, merchant, secret)
        finally:
            await emulator.close()
