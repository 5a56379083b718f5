"""Dispatch (派单): choose, for each line of a (sub-)order, the store or warehouse it ships
from, and say why.

Rules, in order:
1. O2O: the store the customer ordered from ships everything if it has every line.
2. Otherwise one location that has every line, the best by warehouse priority (lower
   first), then distance to the destination, then most stock of the lines.
3. Otherwise the order splits: each line from the best location that has it, preferring
   locations already chosen (fewer parcels), then the same ranking.
A line no active location can fill makes dispatch fail with ``OUT_OF_STOCK``.
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Sequence
from dataclasses import asdict
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from centers.fulfillment import repository
from centers.fulfillment.dto import (
    Assignment,
    Candidate,
    Destination,
    DispatchLine,
    DispatchPlan,
)
from centers.fulfillment.events import OrderDispatched
from centers.product import api as product_api
from centers.stock import api as stock_api
from centers.store import api as store_api
from kernel.errors import UserInputError
from kernel.outbox import emit

EARTH_RADIUS_M = 6_371_000
MAX_LINES = 200


def distance_m(a: tuple[int, int] | None, b: tuple[int, int] | None) -> int | None:
    """Great-circle distance between two micro-degree points (haversine), in metres."""
    if a is None or b is None:
        return None
    lat1, lng1, lat2, lng2 = (math.radians(v / 1e6) for v in (*a, *b))
    h = (
        math.sin((lat2 - lat1) / 2) ** 2
        + math.cos(lat1) * math.cos(lat2) * math.sin((lng2 - lng1) / 2) ** 2
    )
    return round(2 * EARTH_RADIUS_M * math.asin(math.sqrt(h)))


def _km(metres: int | None) -> str:
    return "distance unknown" if metres is None else f"{metres / 1000:.1f} km"


async def _origin(
    session: AsyncSession, tenant_id: uuid.UUID, where: Destination
) -> tuple[int, int] | None:
    if where.pickup_point_id is not None:
        found = await repository.pickup_points_by_ids(session, tenant_id, [where.pickup_point_id])
        if not found or not found[0].active:
            raise UserInputError(
                "pickup point not found",
                code="PICKUP_POINT_NOT_FOUND",
                field=["input", "pickupPointId"],
            )
        point = found[0]
        if point.latitude_e6 is not None and point.longitude_e6 is not None:
            return point.latitude_e6, point.longitude_e6
        return None
    if where.latitude_e6 is not None and where.longitude_e6 is not None:
        return where.latitude_e6, where.longitude_e6
    return None


def _merge_lines(lines: Sequence[DispatchLine]) -> dict[uuid.UUID, int]:
    if not lines:
        raise UserInputError("nothing to dispatch", code="NO_LINES", field=["input", "lines"])
    if len(lines) > MAX_LINES:
        raise UserInputError(
            f"at most {MAX_LINES} lines", code="TOO_MANY_LINES", field=["input", "lines"]
        )
    wanted: dict[uuid.UUID, int] = {}
    for index, line in enumerate(lines):
        if line.quantity < 1:
            raise UserInputError(
                "quantity must be positive",
                code="INVALID_QUANTITY",
                field=["input", "lines", str(index), "quantity"],
            )
        wanted[line.sku_id] = wanted.get(line.sku_id, 0) + line.quantity
    return wanted


async def plan(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    *,
    order_id: uuid.UUID,
    lines: Sequence[DispatchLine],
    destination: Destination,
) -> DispatchPlan:
    """Choose locations for the lines (reads stock; reserves nothing, records the plan)."""
    wanted = _merge_lines(lines)
    origin = await _origin(session, tenant_id, destination)
    locations = {x.id: x for x in await stock_api.list_locations(session, tenant_id) if x.active}
    stock = await stock_api.available_at(session, tenant_id, list(wanted))
    codes = {
        k: v.code for k, v in (await product_api.get_skus(session, tenant_id, list(wanted))).items()
    }

    def label(sku_id: uuid.UUID) -> str:
        """A SKU as staff know it: by its code."""
        return f"SKU {codes.get(sku_id, sku_id)}"

    o2o = destination.store_id
    store_name: str | None = None
    if o2o is not None and o2o not in locations:
        store = await store_api.get_store(session, tenant_id, o2o)
        if store is None:
            raise UserInputError(
                "store not found", code="STORE_NOT_FOUND", field=["input", "storeId"]
            )
        store_name = store.name

    def has(location_id: uuid.UUID, sku_id: uuid.UUID, quantity: int) -> bool:
        return stock.get(location_id, {}).get(sku_id, 0) >= quantity

    def covered(location_id: uuid.UUID) -> int:
        return sum(1 for sku, qty in wanted.items() if has(location_id, sku, qty))

    def position(location_id: uuid.UUID) -> tuple[int, int] | None:
        x = locations.get(location_id)
        if x is None or x.latitude_e6 is None or x.longitude_e6 is None:
            return None
        return x.latitude_e6, x.longitude_e6

    def rank(location_id: uuid.UUID) -> tuple[int, float, int, str]:
        x = locations[location_id]
        metres = distance_m(position(location_id), origin)
        held = sum(stock.get(location_id, {}).get(sku, 0) for sku in wanted)
        return (x.priority, math.inf if metres is None else metres, -held, str(location_id))

    explanation: list[str] = []
    chosen: dict[uuid.UUID, uuid.UUID] = {}  # sku -> location
    names = {i: x.name for i, x in locations.items()}
    kinds = {i: x.kind.value for i, x in locations.items()}
    if o2o is not None:
        names.setdefault(o2o, store_name or str(o2o))
        kinds.setdefault(o2o, "STORE")
        if covered(o2o) == len(wanted):
            chosen = dict.fromkeys(wanted, o2o)
            explanation.append(f"Store first (O2O): {names[o2o]} has every line.")
        else:
            short = [
                f"{stock.get(o2o, {}).get(sku, 0)} of {qty} of {label(sku)}"
                for sku, qty in wanted.items()
                if not has(o2o, sku, qty)
            ]
            explanation.append(f"Store first (O2O): {names[o2o]} lacks " + "; ".join(short) + ".")
    others = sorted((i for i in locations if i != o2o), key=rank)
    if not chosen:
        whole = [i for i in others if covered(i) == len(wanted)]
        if whole:
            best = whole[0]
            chosen = dict.fromkeys(wanted, best)
            explanation.append(
                f"{names[best]} has every line: priority {locations[best].priority}, "
                f"{_km(distance_m(position(best), origin))}."
            )
        else:
            explanation.append("No single location has every line: the order splits.")
            for sku, qty in wanted.items():
                able = [i for i in ([o2o] if o2o else []) + others if has(i, sku, qty)]
                if not able:
                    raise UserInputError(
                        f"no location has {qty} of {label(sku)}",
                        code="OUT_OF_STOCK",
                        field=["input", "lines"],
                    )
                used = set(chosen.values())
                best = min(
                    able,
                    key=lambda i: (
                        i not in used,
                        *(rank(i) if i in locations else (-1, 0.0, 0, "")),
                    ),
                )
                chosen[sku] = best
                explanation.append(f"{label(sku)} × {qty} from {names[best]}.")
    candidates = []
    for location_id in ([o2o] if o2o else []) + others:
        metres = distance_m(position(location_id), origin)
        is_chosen = location_id in chosen.values()
        x = locations.get(location_id)
        note = (
            "chosen"
            if is_chosen
            else f"not chosen: has {covered(location_id)} of {len(wanted)} lines"
            + (f", priority {x.priority}" if x else "")
            + f", {_km(metres)}"
        )
        candidates.append(
            Candidate(
                location_id=location_id,
                name=names[location_id],
                kind=kinds[location_id],
                priority=x.priority if x else 0,
                distance_m=metres,
                lines_covered=covered(location_id),
                chosen=is_chosen,
                note=note,
            )
        )
    result = DispatchPlan(
        order_id=order_id,
        assignments=tuple(
            Assignment(sku, qty, chosen[sku], names[chosen[sku]], kinds[chosen[sku]])
            for sku, qty in wanted.items()
        ),
        candidates=tuple(candidates),
        explanation=tuple(explanation),
    )
    await repository.save_dispatch(session, tenant_id, order_id, to_json(result))
    await emit(
        session, tenant_id, OrderDispatched(order_id=order_id, location_ids=list(result.locations))
    )
    return result


def to_json(value: DispatchPlan) -> dict[str, Any]:
    def plain(item: Any) -> Any:
        if isinstance(item, uuid.UUID):
            return str(item)
        if isinstance(item, dict):
            return {k: plain(v) for k, v in item.items()}
        if isinstance(item, list | tuple):
            return [plain(v) for v in item]
        return item

    return {
        "assignments": plain([asdict(a) for a in value.assignments]),
        "candidates": plain([asdict(c) for c in value.candidates]),
        "explanation": list(value.explanation),
    }


def from_json(order_id: uuid.UUID, data: dict[str, Any]) -> DispatchPlan:
    def ids(item: dict[str, Any], *keys: str) -> dict[str, Any]:
        return {k: uuid.UUID(v) if k in keys else v for k, v in item.items()}

    return DispatchPlan(
        order_id=order_id,
        assignments=tuple(
            Assignment(**ids(a, "sku_id", "location_id")) for a in data["assignments"]
        ),
        candidates=tuple(Candidate(**ids(c, "location_id")) for c in data["candidates"]),
        explanation=tuple(data["explanation"]),
    )
