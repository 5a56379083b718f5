"""After-sale (售后) state machines, one per kind, in the same vocabulary as orders.

Effects (``centers/order/refunds.py``): ``refund_money`` (to the original tenders, by
line, through the payment center), ``retry_money`` (again, what a provider refused),
``restock`` (returned units back on hand after inspection), ``take_replacement`` (the
units sent out again for an exchange).

Every request that refunds money can meet a provider that refuses the refund after
the fact (its callback): ``REFUSE`` (system) moves it to ``REFUND_FAILED`` until
staff ``RETRY``.
"""

from __future__ import annotations

from centers.order.machine.model import Actor, Machine, StatusView, Transition

BUYER, STAFF, SYSTEM = Actor.BUYER, Actor.STAFF, Actor.SYSTEM


def _t(
    event: str, sources: tuple[str, ...], target: str, by: tuple[Actor, ...], *effects: str
) -> Transition:
    return Transition(
        event=event, sources=frozenset(sources), target=target, by=frozenset(by), effects=effects
    )


_VIEWS = {
    "REQUESTED": StatusView("WAITING_FOR_MERCHANT", "TO_DECIDE", "REFUND_REQUESTED"),
    "REJECTED": StatusView("REJECTED", "REJECTED", "REFUND_REJECTED"),
    "ARBITRATION": StatusView("IN_ARBITRATION", "IN_ARBITRATION", "REFUND_REQUESTED"),
    "AWAITING_RETURN": StatusView("SEND_IT_BACK", "AWAITING_RETURN", "RETURN_EXPECTED"),
    "REFUNDED": StatusView("REFUNDED", "REFUNDED", "REFUNDED"),
    "REFUND_FAILED": StatusView("REFUND_DELAYED", "REFUND_FAILED", "REFUND_FAILED"),
    "CLOSED": StatusView("CLOSED", "CLOSED", "REFUND_CLOSED"),
    "EXCHANGED": StatusView("EXCHANGED", "EXCHANGED", "EXCHANGED"),
}

# A refund the provider refused after the fact waits for staff to send it again.
_REFUSED = (
    _t("REFUSE", ("REFUNDED", "REFUND_FAILED"), "REFUND_FAILED", (SYSTEM,)),
    _t("RETRY", ("REFUND_FAILED",), "REFUNDED", (STAFF, SYSTEM), "retry_money"),
)
_REFUSED_VIEWS = ("REFUND_FAILED",)

# Merchant rejects → the buyer escalates → customer service arbitrates (仲裁).
_DISPUTE = (
    _t("REJECT", ("REQUESTED",), "REJECTED", (STAFF,)),
    _t("ESCALATE", ("REJECTED",), "ARBITRATION", (BUYER,)),
    _t("WITHDRAW", ("REQUESTED", "REJECTED"), "CLOSED", (BUYER,)),
    _t("DISMISS", ("ARBITRATION",), "CLOSED", (STAFF,)),
)

REFUND_ONLY = Machine(
    order_type="REFUND_ONLY",
    description="Refund only (仅退款): money back, nothing returned.",
    initial="REQUESTED",
    transitions=(
        _t("APPROVE", ("REQUESTED", "ARBITRATION"), "REFUNDED", (STAFF,), "refund_money"),
        *_DISPUTE,
        *_REFUSED,
    ),
    views={
        s: _VIEWS[s]
        for s in ("REQUESTED", "REJECTED", "ARBITRATION", "REFUNDED", "CLOSED", *_REFUSED_VIEWS)
    },
)

RETURN_AND_REFUND = Machine(
    order_type="RETURN_AND_REFUND",
    description="Return and refund (退货退款): refunded once the goods are back and inspected.",
    initial="REQUESTED",
    transitions=(
        _t("APPROVE", ("REQUESTED", "ARBITRATION"), "AWAITING_RETURN", (STAFF,)),
        _t(
            "RECEIVE_RETURN",
            ("AWAITING_RETURN",),
            "REFUNDED",
            (STAFF, SYSTEM),
            "restock",
            "refund_money",
        ),
        _t("FAIL_INSPECTION", ("AWAITING_RETURN",), "REJECTED", (STAFF,)),
        *_DISPUTE,
        *_REFUSED,
    ),
    views=dict(_VIEWS),
)

OUT_OF_STOCK = Machine(
    order_type="OUT_OF_STOCK",
    description="Out of stock (报缺): the store cannot supply; refunded at once.",
    initial="REQUESTED",
    transitions=(
        _t("APPROVE", ("REQUESTED",), "REFUNDED", (STAFF, SYSTEM), "refund_money"),
        *_REFUSED,
    ),
    views={s: _VIEWS[s] for s in ("REQUESTED", "REFUNDED", *_REFUSED_VIEWS)},
)

GROUP_BUY_FAILED = Machine(
    order_type="GROUP_BUY_FAILED",
    description="Group buy failed (拼团失败): the group did not fill in time; the system "
    "refunds everything paid, delivery fee included, and puts the units back.",
    initial="REQUESTED",
    transitions=(
        _t("APPROVE", ("REQUESTED",), "REFUNDED", (SYSTEM,), "refund_money", "restock"),
        *_REFUSED,
    ),
    views={s: _VIEWS[s] for s in ("REQUESTED", "REFUNDED", *_REFUSED_VIEWS)},
)

EXCHANGE = Machine(
    order_type="EXCHANGE",
    description="Exchange (换货): the goods come back, the same SKU goes out again; no money.",
    initial="REQUESTED",
    transitions=(
        _t("APPROVE", ("REQUESTED", "ARBITRATION"), "AWAITING_RETURN", (STAFF,)),
        _t(
            "RECEIVE_RETURN",
            ("AWAITING_RETURN",),
            "EXCHANGED",
            (STAFF, SYSTEM),
            "restock",
            "take_replacement",
        ),
        _t("FAIL_INSPECTION", ("AWAITING_RETURN",), "REJECTED", (STAFF,)),
        *_DISPUTE,
    ),
    views={
        s: _VIEWS[s]
        for s in (
            "REQUESTED",
            "REJECTED",
            "ARBITRATION",
            "AWAITING_RETURN",
            "EXCHANGED",
            "CLOSED",
        )
    },
)

REFUND_MACHINES: dict[str, Machine] = {
    m.order_type: m
    for m in (REFUND_ONLY, RETURN_AND_REFUND, OUT_OF_STOCK, EXCHANGE, GROUP_BUY_FAILED)
}
REFUND_EVENTS: tuple[str, ...] = tuple(
    sorted({e for m in REFUND_MACHINES.values() for e in m.events})
)
REFUND_STATES: tuple[str, ...] = tuple(
    sorted({s for m in REFUND_MACHINES.values() for s in m.states})
)
