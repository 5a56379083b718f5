"""Domain logic of the stock center. Never commits."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from centers.product import api as product_api
from centers.stock import repository
from centers.stock.dto import LevelInfo, ReserveLine
from centers.stock.events import StockAdjusted
from centers.store import api as store_api
from kernel import idempotency
from kernel.errors import UserInputError
from kernel.ids import new_id
from kernel.outbox import emit
from kernel.text import required_text

# One adjustment moves at most this many units: a typo guard, not a business rule.
MAX_ADJUSTMENT = 1_000_000


async def reserve(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    store_id: uuid.UUID,
    order_id: uuid.UUID,
    lines: Sequence[ReserveLine],
) -> None:
    """Reserve every line or nothing; raises ``OUT_OF_STOCK`` naming the first short line."""
    quantities: dict[uuid.UUID, int] = {}
    first_line: dict[uuid.UUID, int] = {}
    for index, line in enumerate(lines):
        quantities[line.sku_id] = quantities.get(line.sku_id, 0) + line.quantity
        first_line.setdefault(line.sku_id, index)
    available = await repository.lock_available(session, tenant_id, store_id, list(quantities))
    for sku_id, wanted in quantities.items():
        if available.get(sku_id, 0) < wanted:
            raise UserInputError(
                f"only {max(available.get(sku_id, 0), 0)} left of SKU {sku_id}",
                code="OUT_OF_STOCK",
                field=["input", "lines", str(first_line[sku_id]), "quantity"],
            )
    if await repository.reserve(session, tenant_id, store_id, order_id, quantities) != len(
        quantities
    ):
        # Unreachable while the rows are locked; kept so a bug can never oversell.
        raise UserInputError("stock changed while reserving", code="OUT_OF_STOCK")


async def release(session: AsyncSession, tenant_id: uuid.UUID, order_id: uuid.UUID) -> None:
    """Give back exactly what the order reserved (no-op when nothing is reserved)."""
    await repository.release(session, tenant_id, order_id)


async def adjust(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    *,
    idempotency_key: str,
    store_id: uuid.UUID,
    sku_id: uuid.UUID,
    delta: int,
    reason: str,
) -> LevelInfo:
    """Receive (+) or remove (−) on-hand units; never below what is reserved."""
    if delta == 0 or abs(delta) > MAX_ADJUSTMENT:
        raise UserInputError(
            f"delta must be non-zero and at most {MAX_ADJUSTMENT} units",
            code="INVALID_DELTA",
            field=["input", "delta"],
        )
    reason = required_text(
        reason, label="reason", max_length=64, code="INVALID_REASON", field=["input", "reason"]
    )
    if await store_api.get_store(session, tenant_id, store_id) is None:
        raise UserInputError("store not found", code="STORE_NOT_FOUND", field=["input", "storeId"])
    if sku_id not in await product_api.get_skus(session, tenant_id, [sku_id]):
        raise UserInputError("SKU not found", code="SKU_NOT_FOUND", field=["input", "skuId"])
    movement_id = new_id()
    claim = await idempotency.claim(
        session,
        tenant_id,
        "stock.adjust",
        idempotency_key,
        {"store": store_id, "sku": sku_id, "delta": delta, "reason": reason},
        movement_id,
    )
    if claim.replayed:
        found = await repository.levels_by_keys(session, tenant_id, [(store_id, sku_id)])
        return found[0]
    await repository.ensure_level(session, tenant_id, store_id, sku_id)
    changed = await repository.adjust_on_hand(
        session,
        tenant_id,
        store_id,
        sku_id,
        delta=delta,
        reason=reason,
        movement_id=movement_id,
        source_id=idempotency_key,
    )
    if changed is None:
        raise UserInputError(
            "on-hand stock cannot fall below what is reserved",
            code="INSUFFICIENT_STOCK",
            field=["input", "delta"],
        )
    await emit(
        session,
        tenant_id,
        StockAdjusted(
            store_id=store_id,
            sku_id=sku_id,
            delta=delta,
            on_hand=changed.on_hand,
            reason=reason,
            movement_id=movement_id,
        ),
    )
    return changed
