"""When an order completes, its member earns points and growth for what they paid.

The payment center knows what an order's member paid net of refunds, so it turns the
order center's ``order.status_changed`` into the points center's earn rule and the
member center's growth, in the order's own transaction, once per order (both are
idempotent by the order). A refund after completion reverses the points in proportion
(``refunds.refund``); one before completion is already netted out here.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Mapping
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from centers.member import api as member_api
from centers.payment import repository
from centers.payment.dto import OrderPaymentStatus
from centers.points import api as points_api
from kernel.errors import UserInputError
from kernel.outbox import EventHandler

log = logging.getLogger("zhongtai.payment.completion")

# The order types' final states: completed after the after-sale window, or served,
# picked up, delivered (restaurant and takeout orders end there).
FINAL_STATES = frozenset({"COMPLETED", "SERVED", "PICKED_UP", "DELIVERED"})


async def order_status_changed(
    session: AsyncSession, tenant_id: uuid.UUID, payload: Mapping[str, Any]
) -> None:
    if payload.get("to_status") not in FINAL_STATES:
        return
    order_id = uuid.UUID(str(payload["order_id"]))
    found = await repository.order_payment_of(session, tenant_id, order_id)
    if found is None or found.member_id is None or found.status is not OrderPaymentStatus.PAID:
        return
    paid = found.paid_amount - found.refunded_amount
    try:
        await points_api.earn_for_order(
            session, tenant_id, member_id=found.member_id, order_id=order_id, amount_paid=paid
        )
    except UserInputError as error:
        # A member at the balance ceiling must not block the order's completion.
        log.warning("no points earned for order %s: %s", order_id, error.code)
    await member_api.add_growth_for_order(
        session, tenant_id, member_id=found.member_id, order_id=order_id, amount_paid=paid
    )


EVENT_HANDLERS: dict[str, EventHandler] = {"order.status_changed": order_status_changed}
