"""One state machine per order type. Adding a type adds a definition here, nothing else.

Guard and effect names are implemented once in ``centers/order/transitions.py``:

guards   ``pays_deposit`` (the payment is the presale deposit), ``pays_balance`` (the
         payment is exactly what is still owed), ``fully_paid``,
         ``after_sale_window_over``, ``group_complete`` (a group-buy order's group is
         complete; other orders pass).
effects  ``record_payment``, ``confirm_stock``, ``release_stock``, ``release_benefits`` (coupons, budgets,
         points), ``close_payment``, ``settle_deposit`` (close a presale payment: the
         deposit kept or refunded), ``stamp_cancelled``, ``schedule_payment_timeout``,
         ``schedule_balance_timeout``, ``issue_pickup_code``, ``schedule_completion``,
         ``count_group_payment`` (a group-buy member paid; no-op for other orders).

The payment-timeout job is never cancelled by a transition: cancelling it would wait on
the job row the runner holds while the runner waits on the order row (a deadlock).
When it fires on an order that was paid or cancelled meanwhile, it does nothing.
"""

from __future__ import annotations

from centers.order.machine.model import Actor, Machine, StatusView, Transition

BUYER, STAFF, SYSTEM = Actor.BUYER, Actor.STAFF, Actor.SYSTEM


def _t(
    event: str,
    sources: str | tuple[str, ...],
    target: str,
    by: tuple[Actor, ...],
    guards: tuple[str, ...] = (),
    effects: tuple[str, ...] = (),
) -> Transition:
    return Transition(
        event=event,
        sources=frozenset((sources,) if isinstance(sources, str) else sources),
        target=target,
        by=frozenset(by),
        guards=guards,
        effects=effects,
    )


_GIVE_BACK = ("release_stock", "release_benefits", "close_payment", "stamp_cancelled")

# Review (审核): placement flags risky orders PENDING_REVIEW; staff approve or reject.
_REVIEW = (
    _t("APPROVE", "PENDING_REVIEW", "PLACED", (STAFF,), effects=("schedule_payment_timeout",)),
    _t("REJECT_REVIEW", "PENDING_REVIEW", "CANCELLED", (STAFF,), effects=_GIVE_BACK),
)


def _unpaid_exits(states: tuple[str, ...] = ("PENDING_REVIEW", "PLACED")) -> tuple[Transition, ...]:
    """Cancel by buyer, staff or risk control; cancel by payment timeout."""
    return (
        _t("CANCEL", states, "CANCELLED", (BUYER, STAFF, SYSTEM), effects=_GIVE_BACK),
        _t("TIMEOUT", "PLACED", "CANCELLED", (SYSTEM,), effects=_GIVE_BACK),
    )


_PAY_IN_FULL = _t(
    "PAY",
    "PLACED",
    "PAID",
    (SYSTEM,),
    guards=("pays_balance",),
    effects=("record_payment", "confirm_stock", "count_group_payment"),
)

# Ship → receive → complete once the after-sale window has passed.
_DELIVERY_TAIL = (
    _t("SHIP", "PAID", "SHIPPED", (STAFF, SYSTEM), guards=("group_complete",)),
    _t(
        "RECEIVE",
        "SHIPPED",
        "RECEIVED",
        (BUYER, STAFF, SYSTEM),
        guards=("fully_paid",),
        effects=("schedule_completion",),
    ),
    _t("COMPLETE", "RECEIVED", "COMPLETED", (STAFF, SYSTEM), guards=("after_sale_window_over",)),
)

_KITCHEN = (
    _t("ACCEPT", "PAID", "ACCEPTED", (STAFF, SYSTEM)),
    _t("START_PREPARING", "ACCEPTED", "PREPARING", (STAFF, SYSTEM)),
    _t(
        "MARK_READY",
        ("ACCEPTED", "PREPARING"),
        "READY",
        (STAFF, SYSTEM),
        effects=("issue_pickup_code",),
    ),
)


def _v(buyer: str, merchant: str, erp: str) -> StatusView:
    return StatusView(buyer=buyer, merchant=merchant, erp=erp)


# Views shared by every type; a type overrides the states that read differently.
_VIEWS = {
    "PENDING_REVIEW": _v("PROCESSING", "TO_REVIEW", "CREATED"),
    "PLACED": _v("TO_PAY", "UNPAID", "CREATED"),
    "DEPOSIT_PAID": _v("TO_PAY_BALANCE", "DEPOSIT_PAID", "LOCKED"),
    "PAID": _v("TO_SHIP", "TO_SHIP", "LOCKED"),
    "SHIPPED": _v("TO_RECEIVE", "SHIPPED", "SHIPPED"),
    "RECEIVED": _v("TO_REVIEW", "AFTER_SALE_WINDOW", "SIGNED"),
    "COMPLETED": _v("COMPLETED", "COMPLETED", "COMPLETED"),
    "CANCELLED": _v("CANCELLED", "CANCELLED", "CANCELLED"),
    "ACCEPTED": _v("PREPARING", "ACCEPTED", "LOCKED"),
    "PREPARING": _v("PREPARING", "PREPARING", "LOCKED"),
    "READY": _v("READY_FOR_PICKUP", "READY", "SHIPPED"),
    "SERVED": _v("COMPLETED", "SERVED", "COMPLETED"),
    "PICKED_UP": _v("COMPLETED", "PICKED_UP", "COMPLETED"),
    "DELIVERING": _v("TO_RECEIVE", "DELIVERING", "SHIPPED"),
    "DELIVERED": _v("COMPLETED", "DELIVERED", "COMPLETED"),
    "ISSUED": _v("TO_USE", "ISSUED", "SHIPPED"),
    "CLOSED": _v("REFUNDED", "CLOSED", "CLOSED"),
}


def _views(*states: str, **overrides: StatusView) -> dict[str, StatusView]:
    return {state: overrides.get(state, _VIEWS[state]) for state in states}


STANDARD = Machine(
    order_type="STANDARD",
    description="Pay online, then ship, receive and complete after the after-sale window.",
    initial="PLACED",
    transitions=(*_REVIEW, *_unpaid_exits(), _PAY_IN_FULL, *_DELIVERY_TAIL),
    views=_views(
        "PENDING_REVIEW", "PLACED", "PAID", "SHIPPED", "RECEIVED", "COMPLETED", "CANCELLED"
    ),
)

COD = Machine(
    order_type="COD",
    description="Cash on delivery (货到付款): ship first; payment collected at the door.",
    initial="PLACED",
    transitions=(
        *_REVIEW,
        _t(
            "CANCEL",
            ("PENDING_REVIEW", "PLACED"),
            "CANCELLED",
            (BUYER, STAFF, SYSTEM),
            effects=_GIVE_BACK,
        ),
        _t("SHIP", "PLACED", "SHIPPED", (STAFF, SYSTEM)),
        _t("REFUSE", "SHIPPED", "CANCELLED", (STAFF, SYSTEM), effects=_GIVE_BACK),
        # A buyer may still pay before it ships (at pickup, or online after all).
        _PAY_IN_FULL,
        *_DELIVERY_TAIL[:2],
        _t(
            "PAY",
            "SHIPPED",
            "RECEIVED",
            (SYSTEM,),
            guards=("pays_balance",),
            effects=("record_payment", "confirm_stock", "schedule_completion"),
        ),
        _t(
            "COMPLETE", "RECEIVED", "COMPLETED", (STAFF, SYSTEM), guards=("after_sale_window_over",)
        ),
    ),
    views=_views(
        "PENDING_REVIEW",
        "PLACED",
        "PAID",
        "SHIPPED",
        "RECEIVED",
        "COMPLETED",
        "CANCELLED",
        PLACED=_v("TO_SHIP", "TO_SHIP", "LOCKED"),
    ),
)

PRESALE = Machine(
    order_type="PRESALE",
    description="Presale (预售): a deposit now, the balance later, then ship.",
    initial="PLACED",
    transitions=(
        *_REVIEW,
        *_unpaid_exits(),
        _t(
            "PAY",
            "PLACED",
            "DEPOSIT_PAID",
            (SYSTEM,),
            guards=("pays_deposit",),
            effects=("record_payment", "schedule_balance_timeout"),
        ),
        # settle_deposit: kept when the buyer abandons the balance (a buyer's cancel, the
        # balance timeout: 定金不退), refunded when staff or the system cancel.
        _t(
            "CANCEL",
            "DEPOSIT_PAID",
            "CANCELLED",
            (BUYER, STAFF, SYSTEM),
            effects=("release_stock", "release_benefits", "settle_deposit", "stamp_cancelled"),
        ),
        _t(
            "BALANCE_TIMEOUT",
            "DEPOSIT_PAID",
            "CANCELLED",
            (SYSTEM,),
            effects=("release_stock", "release_benefits", "settle_deposit", "stamp_cancelled"),
        ),
        _t(
            "PAY",
            "DEPOSIT_PAID",
            "PAID",
            (SYSTEM,),
            guards=("pays_balance",),
            # Stock stays held (not sold) until the balance: an abandoned deposit frees it.
            effects=("record_payment", "confirm_stock"),
        ),
        *_DELIVERY_TAIL,
    ),
    views=_views(
        "PENDING_REVIEW",
        "PLACED",
        "DEPOSIT_PAID",
        "PAID",
        "SHIPPED",
        "RECEIVED",
        "COMPLETED",
        "CANCELLED",
        PLACED=_v("TO_PAY_DEPOSIT", "UNPAID", "CREATED"),
    ),
)

_RESTAURANT_VIEWS = {"PAID": _v("WAITING_FOR_STORE", "TO_ACCEPT", "LOCKED")}

DINE_IN = Machine(
    order_type="DINE_IN",
    description="Restaurant dine-in: pay, the store accepts, prepares, serves.",
    initial="PLACED",
    transitions=(
        *_REVIEW,
        *_unpaid_exits(),
        _PAY_IN_FULL,
        *_KITCHEN,
        _t("SERVE", "READY", "SERVED", (STAFF, SYSTEM)),
    ),
    views=_views(
        "PENDING_REVIEW",
        "PLACED",
        "PAID",
        "ACCEPTED",
        "PREPARING",
        "READY",
        "SERVED",
        "CANCELLED",
        **_RESTAURANT_VIEWS,
    ),
)

TAKEOUT = Machine(
    order_type="TAKEOUT",
    description="Restaurant takeout: pay, accept, prepare, then picked up or delivered.",
    initial="PLACED",
    transitions=(
        *_REVIEW,
        *_unpaid_exits(),
        _PAY_IN_FULL,
        *_KITCHEN,
        _t("PICK_UP", "READY", "PICKED_UP", (BUYER, STAFF, SYSTEM)),
        _t("DISPATCH", "READY", "DELIVERING", (STAFF, SYSTEM)),
        _t("DELIVER", "DELIVERING", "DELIVERED", (STAFF, SYSTEM)),
    ),
    views=_views(
        "PENDING_REVIEW",
        "PLACED",
        "PAID",
        "ACCEPTED",
        "PREPARING",
        "READY",
        "PICKED_UP",
        "DELIVERING",
        "DELIVERED",
        "CANCELLED",
        **_RESTAURANT_VIEWS,
    ),
)

VIRTUAL = Machine(
    order_type="VIRTUAL",
    description="Virtual goods (vouchers): paying issues a code; redeeming completes.",
    initial="PLACED",
    transitions=(
        *_REVIEW,
        *_unpaid_exits(),
        _t(
            "PAY",
            "PLACED",
            "ISSUED",
            (SYSTEM,),
            guards=("pays_balance",),
            effects=("record_payment", "confirm_stock", "issue_pickup_code"),
        ),
        _t("REDEEM", "ISSUED", "COMPLETED", (STAFF, SYSTEM)),
    ),
    views=_views("PENDING_REVIEW", "PLACED", "ISSUED", "COMPLETED", "CANCELLED"),
)


def _closable(machine: Machine) -> Machine:
    """Every type: once everything paid was refunded (交易关闭), the order closes."""
    unpaid = {"PLACED", "PENDING_REVIEW", "CANCELLED", "COMPLETED"}
    return Machine(
        order_type=machine.order_type,
        description=machine.description,
        initial=machine.initial,
        transitions=(
            *machine.transitions,
            _t("CLOSE", tuple(sorted(machine.states - unpaid)), "CLOSED", (SYSTEM,)),
        ),
        views={**machine.views, "CLOSED": _VIEWS["CLOSED"]},
    )


MACHINES: dict[str, Machine] = {
    m.order_type: _closable(m) for m in (STANDARD, COD, PRESALE, DINE_IN, TAKEOUT, VIRTUAL)
}

ALL_STATES: tuple[str, ...] = tuple(sorted({s for m in MACHINES.values() for s in m.states}))
ALL_EVENTS: tuple[str, ...] = tuple(sorted({e for m in MACHINES.values() for e in m.events}))


def machine_for(order_type: str) -> Machine:
    return MACHINES[order_type]
