"""A cart as the pricing engine sees it: one builder for every price a buyer is shown.

``priceCart`` (this center), ``previewOrder`` and ``placeOrder`` (the order center) all
turn their cart into a ``PricingRequest`` here, so they price the same lines the same way:
each SKU at its channel and store price (the product center's most specific price set,
the list price when none is set), with its product and category so category-scoped
activities apply. docs/pricing.md promises that the three agree; this is why they do.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from centers.product import api as product_api
from centers.promotion.dto import PricingLine, PricingRequest
from kernel.batch import Batch
from kernel.errors import UserInputError


@dataclass(frozen=True, slots=True)
class CartLine:
    sku_id: uuid.UUID
    quantity: int  # > 0, checked by the caller


@dataclass(frozen=True, slots=True)
class Cart:
    """What a buyer wants priced, as every entry point receives it."""

    store_id: uuid.UUID
    channel: str
    member_id: uuid.UUID | None
    coupon_codes: tuple[str, ...]
    points_to_redeem: int
    at: datetime
    lines: tuple[CartLine, ...]  # at least one
    order_type: str = "STANDARD"
    group_buy_activity_id: uuid.UUID | None = None


@dataclass(frozen=True, slots=True)
class PricedCart:
    """The engine's request for a cart, and the SKUs it read (the order center keeps them)."""

    request: PricingRequest
    skus: dict[uuid.UUID, product_api.SkuInfo]


async def pricing_request(session: AsyncSession, tenant_id: uuid.UUID, cart: Cart) -> PricedCart:
    """Build the pricing request of ``cart``, reading its SKUs, their channel/store
    prices and their products' categories in one statement (``cart_request``'s errors)."""
    batch = Batch()
    catalog = product_api.cart_catalog_in(
        batch,
        tenant_id,
        list(dict.fromkeys(line.sku_id for line in cart.lines)),
        channel=cart.channel,
        store_id=cart.store_id,
    )
    return cart_request(cart, catalog.of(await batch.fetch_row(session)))


def cart_request(cart: Cart, catalog: product_api.CartCatalog) -> PricedCart:
    """The pricing request of ``cart`` from what its SKUs' catalog says (read by
    ``pricing_request``, or with the caller's other reads in one ``kernel.batch``).
    Raises ``UserInputError``: ``SKU_NOT_FOUND`` (field ``["input", "lines", i,
    "skuId"]``), ``MIXED_CURRENCIES``."""
    skus = catalog.skus
    for index, line in enumerate(cart.lines):
        if line.sku_id not in skus:
            raise UserInputError(
                "SKU not found", code="SKU_NOT_FOUND", field=["input", "lines", str(index), "skuId"]
            )
    unit = catalog.prices
    currency = unit[cart.lines[0].sku_id].currency
    if any(unit[line.sku_id].currency != currency for line in cart.lines):
        raise UserInputError(
            "lines are priced in different currencies",
            code="MIXED_CURRENCIES",
            field=["input", "lines"],
        )
    request = PricingRequest(
        store_id=cart.store_id,
        channel=cart.channel,
        member_id=cart.member_id,
        coupon_codes=cart.coupon_codes,
        points_to_redeem=cart.points_to_redeem,
        currency=currency,
        at=cart.at,
        order_type=cart.order_type,
        group_buy_activity_id=cart.group_buy_activity_id,
        lines=tuple(
            PricingLine(
                sku_id=line.sku_id,
                product_id=skus[line.sku_id].product_id,
                category_id=catalog.categories.get(skus[line.sku_id].product_id),
                quantity=line.quantity,
                unit_price=unit[line.sku_id].amount,
            )
            for line in cart.lines
        ),
    )
    return PricedCart(request=request, skus=skus)
