"""Stock locations: warehouses, and stores registered with a dispatch priority and position."""

from __future__ import annotations

import re
import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from centers.stock import repository
from centers.stock.dto import LocationInfo, LocationKind
from centers.store import api as store_api
from kernel.errors import UserInputError
from kernel.ids import new_id
from kernel.text import required_text

CODE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
MAX_PRIORITY = 10_000


def _position(latitude: float | None, longitude: float | None) -> tuple[int | None, int | None]:
    """Degrees to micro-degrees; both or neither."""
    if (latitude is None) != (longitude is None):
        raise UserInputError(
            "give both latitude and longitude, or neither",
            code="INVALID_POSITION",
            field=["input", "latitude"],
        )
    if latitude is None or longitude is None:
        return None, None
    if not -90 <= latitude <= 90 or not -180 <= longitude <= 180:
        raise UserInputError(
            "latitude must be within ±90 and longitude within ±180 degrees",
            code="INVALID_POSITION",
            field=["input", "latitude"],
        )
    return round(latitude * 1_000_000), round(longitude * 1_000_000)


def _priority(value: int) -> int:
    if not 0 <= value <= MAX_PRIORITY:
        raise UserInputError(
            f"priority must be between 0 and {MAX_PRIORITY} (lower is preferred)",
            code="INVALID_PRIORITY",
            field=["input", "priority"],
        )
    return value


async def create_warehouse(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    *,
    code: str,
    name: str,
    priority: int,
    latitude: float | None,
    longitude: float | None,
) -> LocationInfo:
    if not CODE.match(code):
        raise UserInputError(
            "code must be 1-64 letters, digits, '_', '.' or '-'",
            code="INVALID_CODE",
            field=["input", "code"],
        )
    lat, lng = _position(latitude, longitude)
    value = LocationInfo(
        id=new_id(),
        kind=LocationKind.WAREHOUSE,
        code=code,
        name=required_text(
            name, label="name", max_length=200, code="INVALID_NAME", field=["input", "name"]
        ),
        priority=_priority(priority),
        latitude_e6=lat,
        longitude_e6=lng,
        active=True,
    )
    if not await repository.insert_location(session, tenant_id, value):
        raise UserInputError(
            f"location code {code!r} is taken", code="CODE_TAKEN", field=["input", "code"]
        )
    return value


async def set_store_location(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    *,
    store_id: uuid.UUID,
    priority: int,
    latitude: float | None,
    longitude: float | None,
    active: bool,
) -> LocationInfo:
    """Register (or update) a store as a stock location with its dispatch data."""
    store = await store_api.get_store(session, tenant_id, store_id)
    if store is None:
        raise UserInputError("store not found", code="STORE_NOT_FOUND", field=["input", "storeId"])
    lat, lng = _position(latitude, longitude)
    value = LocationInfo(
        id=store.id,
        kind=LocationKind.STORE,
        code=f"store:{store.code}",
        name=store.name[:200],
        priority=_priority(priority),
        latitude_e6=lat,
        longitude_e6=lng,
        active=active,
    )
    if not await repository.update_location(
        session, tenant_id, value
    ) and not await repository.insert_location(session, tenant_id, value):
        raise UserInputError(
            "a location with this store's code exists",
            code="CODE_TAKEN",
            field=["input", "storeId"],
        )
    return value


async def set_warehouse(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    *,
    location_id: uuid.UUID,
    name: str,
    priority: int,
    latitude: float | None,
    longitude: float | None,
    active: bool,
) -> LocationInfo:
    found = await repository.locations_by_ids(session, tenant_id, [location_id])
    if not found or found[0].kind is not LocationKind.WAREHOUSE:
        raise UserInputError(
            "warehouse not found", code="LOCATION_NOT_FOUND", field=["input", "id"]
        )
    lat, lng = _position(latitude, longitude)
    value = LocationInfo(
        id=location_id,
        kind=LocationKind.WAREHOUSE,
        code=found[0].code,
        name=required_text(
            name, label="name", max_length=200, code="INVALID_NAME", field=["input", "name"]
        ),
        priority=_priority(priority),
        latitude_e6=lat,
        longitude_e6=lng,
        active=active,
    )
    await repository.update_location(session, tenant_id, value)
    return value
