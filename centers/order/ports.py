"""Ports plugins implement for the order center."""

from __future__ import annotations

from typing import Protocol

from centers.order.dto import OrderInfo, OrderLineInfo


class OrderSink(Protocol):
    """A tenant backend that receives orders: the store POS, the ERP (订单推送)."""

    async def order_placed(self, order: OrderInfo, lines: list[OrderLineInfo]) -> None:
        """Deliver a new order; must be idempotent by ``order.id`` (delivery is at least once)."""
        ...

    async def order_cancelled(self, order: OrderInfo) -> None:
        """Tell the backend an order was cancelled; idempotent by ``order.id``."""
        ...
