"""Pickup points (自提点): places customers give as their delivery address."""

from __future__ import annotations

import re
import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from centers.fulfillment import repository
from centers.fulfillment.dto import PickupPointInfo
from centers.store import api as store_api
from kernel.errors import UserInputError
from kernel.ids import new_id
from kernel.text import required_text

CODE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


async def create_pickup_point(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    *,
    code: str,
    name: str,
    address: str,
    latitude: float | None,
    longitude: float | None,
    store_id: uuid.UUID | None,
) -> PickupPointInfo:
    if not CODE.match(code):
        raise UserInputError(
            "code must be 1-64 letters, digits, '_', '.' or '-'",
            code="INVALID_CODE",
            field=["input", "code"],
        )
    if (latitude is None) != (longitude is None) or (
        latitude is not None
        and longitude is not None
        and not (-90 <= latitude <= 90 and -180 <= longitude <= 180)
    ):
        raise UserInputError(
            "give both latitude (±90) and longitude (±180), or neither",
            code="INVALID_POSITION",
            field=["input", "latitude"],
        )
    if store_id is not None and await store_api.get_store(session, tenant_id, store_id) is None:
        raise UserInputError("store not found", code="STORE_NOT_FOUND", field=["input", "storeId"])
    value = PickupPointInfo(
        id=new_id(),
        code=code,
        name=required_text(
            name, label="name", max_length=200, code="INVALID_NAME", field=["input", "name"]
        ),
        address=required_text(
            address,
            label="address",
            max_length=500,
            code="INVALID_ADDRESS",
            field=["input", "address"],
        ),
        latitude_e6=round(latitude * 1e6) if latitude is not None else None,
        longitude_e6=round(longitude * 1e6) if longitude is not None else None,
        store_id=store_id,
        active=True,
    )
    if not await repository.insert_pickup_point(session, tenant_id, value):
        raise UserInputError(f"code {code!r} is taken", code="CODE_TAKEN", field=["input", "code"])
    return value
