"""Reservations of orders: reserve at placement, deduct at payment, release, expire.

Deduction strategy (减库存时机), per tenant with per-product overrides:
- AT_ORDER (下单减库存): placement holds the units (``reserved``) until payment deducts
  them; unpaid orders lose their hold when the reservation's time-to-live ends (a
  durable job), and payment after that re-checks availability.
- AT_PAYMENT (付款减库存): placement only checks and records the line; payment re-checks
  and deducts, and may find the stock gone (``OUT_OF_STOCK``).
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from centers.product import api as product_api
from centers.stock import repository
from centers.stock.dto import ReserveLine
from centers.stock.repository import HeldLine
from centers.stock.service.levels import notify_change, notify_if_low
from kernel.errors import UserInputError
from kernel.jobs import cancel_job

EXPIRY_JOB = "stock.reservation_expiry"
HELD, PENDING, EXPIRED, DEDUCTED = "HELD", "PENDING", "EXPIRED", "DEDUCTED"


async def reserve(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    store_id: uuid.UUID,
    order_id: uuid.UUID,
    lines: Sequence[ReserveLine],
) -> None:
    """Reserve every line (at ``store_id``, or the line's own location) or nothing;
    raises ``OUT_OF_STOCK`` naming the first short line. One statement locks, checks and
    reserves (``repository.reserve_all``), so the hot rows stay locked for it and the
    commit only."""
    wanted: dict[tuple[uuid.UUID, uuid.UUID], int] = {}
    first_line: dict[tuple[uuid.UUID, uuid.UUID], int] = {}
    products: dict[uuid.UUID, uuid.UUID | None] = {}
    for index, line in enumerate(lines):
        key = (line.location_id or store_id, line.sku_id)
        wanted[key] = wanted.get(key, 0) + line.quantity
        first_line.setdefault(key, index)
        products[line.sku_id] = line.product_id or products.get(line.sku_id)
    missing = [sku for sku, product in products.items() if product is None]
    if missing:
        # The caller did not say; their products decide a per-product strategy override.
        skus = await product_api.get_skus(session, tenant_id, missing)
        products.update({sku: found.product_id for sku, found in skus.items()})
    outcomes = await repository.reserve_all(
        session,
        tenant_id,
        order_id,
        [
            repository.Wanted(location, sku, quantity, products[sku])
            for (location, sku), quantity in wanted.items()
        ],
        expiry_kind=EXPIRY_JOB,
        now=datetime.now(UTC),
    )
    if not all(o.taken for o in outcomes):
        short = [o for o in outcomes if o.available_before < wanted[(o.location_id, o.sku_id)]]
        if not short:  # unreachable while the rows are locked; never oversell on a bug
            raise UserInputError("stock changed while reserving", code="OUT_OF_STOCK")
        first = min(short, key=lambda o: first_line[(o.location_id, o.sku_id)])
        raise UserInputError(
            f"only {max(first.available_before, 0)} left of SKU {first.sku_id}",
            code="OUT_OF_STOCK",
            field=[
                "input",
                "lines",
                str(first_line[(first.location_id, first.sku_id)]),
                "quantity",
            ],
        )
    for taken in outcomes:
        if taken.held and taken.low_threshold is not None:
            await notify_if_low(
                session,
                tenant_id,
                taken.location_id,
                taken.sku_id,
                before=taken.available_after + wanted[(taken.location_id, taken.sku_id)],
                after=taken.available_after,
                threshold=taken.low_threshold,
            )


async def _unhold(
    session: AsyncSession, tenant_id: uuid.UUID, order_id: uuid.UUID, line: HeldLine, reason: str
) -> None:
    """Give a held line's units back: to its flash-sale bucket if the sale is still
    open, else to the level's available stock."""
    if line.bucket is not None and await repository.return_to_bucket(
        session, tenant_id, line.location_id, line.sku_id, line.bucket, line.quantity
    ):
        return
    changed = await repository.apply_change(
        session,
        tenant_id,
        line.location_id,
        line.sku_id,
        on_hand_delta=0,
        reserved_delta=-line.quantity,
        reason=reason,
        source_id=str(order_id),
    )
    if changed is None:  # reserved always covers a held line; the CHECK says so too
        raise RuntimeError("held units missing from the level")


async def release(session: AsyncSession, tenant_id: uuid.UUID, order_id: uuid.UUID) -> None:
    """Give back what the order holds and forget its undeducted lines (idempotent).

    Lines already deducted at payment stay deducted: goods that left come back
    through an adjustment (reason ``return``) after inspection.
    """
    for line in await repository.lock_order_reservations(session, tenant_id, order_id):
        if line.status == DEDUCTED:
            continue
        if line.status == HELD:
            await _unhold(session, tenant_id, order_id, line, "release")
        await repository.delete_reservation(session, tenant_id, order_id, line.sku_id)
    await cancel_job(session, tenant_id, EXPIRY_JOB, str(order_id))


async def expire(session: AsyncSession, tenant_id: uuid.UUID, order_id: uuid.UUID) -> int:
    """End the hold of an unpaid order's lines (their TTL passed); returns lines expired.

    The lines stay recorded as EXPIRED, so a late payment re-checks and deducts them.
    """
    expired = 0
    for line in await repository.lock_order_reservations(session, tenant_id, order_id):
        if line.status != HELD:
            continue
        await _unhold(session, tenant_id, order_id, line, "expire")
        await repository.set_reservation_status(session, tenant_id, order_id, line.sku_id, EXPIRED)
        expired += 1
    return expired


async def expire_job(
    session: AsyncSession, tenant_id: uuid.UUID, payload: Mapping[str, Any]
) -> None:
    """Durable job ``stock.reservation_expiry``: runs once when an order's hold ends."""
    await expire(session, tenant_id, uuid.UUID(str(payload["order_id"])))


async def confirm_for_order(
    session: AsyncSession, tenant_id: uuid.UUID, order_id: uuid.UUID
) -> None:
    """Deduct the order's lines from on hand at payment (idempotent).

    Held lines are deducted as they are; lines not held (deduct-at-payment, or held
    until their TTL ended) are re-checked and raise ``OUT_OF_STOCK`` if the stock is
    gone, deducting nothing.
    """
    for line in await repository.lock_order_reservations(session, tenant_id, order_id):
        if line.status == DEDUCTED:
            continue
        held = line.status == HELD
        changed = await repository.apply_change(
            session,
            tenant_id,
            line.location_id,
            line.sku_id,
            on_hand_delta=-line.quantity,
            reserved_delta=-line.quantity if held else 0,
            reason="deduct",
            source_id=str(order_id),
        )
        if changed is None:
            raise UserInputError(
                f"SKU {line.sku_id} is no longer in stock", code="OUT_OF_STOCK", field=None
            )
        if not held:
            await notify_change(
                session, tenant_id, changed.level.available + line.quantity, changed.level
            )
        await repository.set_reservation_status(session, tenant_id, order_id, line.sku_id, DEDUCTED)
    await cancel_job(session, tenant_id, EXPIRY_JOB, str(order_id))
