"""promotion.api.import_activity: idempotent by external id, ordered by source version."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from centers.promotion import api as promotion_api
from kernel.db import Database
from kernel.errors import UserInputError
from tests.conftest import TenantFixture

STARTS = datetime(2026, 5, 1, tzinfo=UTC)
ENDS = datetime(2026, 5, 31, tzinfo=UTC)
PERCENT = promotion_api.PromotionKind.PERCENT_OFF


async def _import(
    db: Database, tenant: TenantFixture, version: int, **values: Any
) -> promotion_api.ImportOutcome:
    arguments: dict[str, Any] = {
        "external_id": "ERP-7",
        "source_version": version,
        "name": f"v{version}",
        "kind": PERCENT,
        "starts_at": STARTS,
        "ends_at": ENDS,
        "rules": promotion_api.PromotionRules(discount_bp=1000),
        **values,
    }
    async with db.unit_of_work(tenant.id) as session:
        return await promotion_api.import_activity(session, tenant.id, **arguments)


async def test_a_stale_or_repeated_version_changes_nothing(
    db: Database, tenant: TenantFixture
) -> None:
    created = await _import(db, tenant, 5)
    assert created.created and created.applied
    assert created.activity.external_id == "ERP-7"
    assert created.activity.status is promotion_api.PromotionStatus.DRAFT
    for stale in (3, 5):
        outcome = await _import(db, tenant, stale, name="older")
        assert not outcome.applied and not outcome.created
        assert outcome.activity.id == created.activity.id and outcome.activity.name == "v5"
    newer = await _import(db, tenant, 6)
    assert newer.applied and newer.activity.id == created.activity.id
    async with db.unit_of_work(tenant.id) as session:
        found = await promotion_api.get_activity(session, tenant.id, created.activity.id)
    assert found is not None and found.name == "v6"


@pytest.mark.parametrize(
    ("values", "code"),
    [
        ({"external_id": " "}, "INVALID_EXTERNAL_ID"),
        ({"external_id": "X" * 65}, "INVALID_EXTERNAL_ID"),
        ({"source_version": 0}, "INVALID_SOURCE_VERSION"),
        ({"name": ""}, "INVALID_NAME"),
        ({"ends_at": STARTS}, "INVALID_WINDOW"),
        ({"starts_at": datetime(2026, 5, 1)}, "INVALID_WINDOW"),  # no offset
        ({"rules": promotion_api.PromotionRules(discount_bp=0)}, "INVALID_RULES"),
    ],
)
async def test_bad_imports_are_refused_like_the_mutation_refuses_them(
    db: Database, tenant: TenantFixture, values: dict[str, Any], code: str
) -> None:
    with pytest.raises(UserInputError) as refused:
        await _import(db, tenant, 1, **values)
    assert refused.value.code == code


async def test_an_external_id_cannot_change_kind(db: Database, tenant: TenantFixture) -> None:
    await _import(db, tenant, 1)
    with pytest.raises(UserInputError) as refused:
        await _import(
            db,
            tenant,
            2,
            kind=promotion_api.PromotionKind.FIXED_PRICE,
            rules=None,
        )
    assert refused.value.code == "KIND_CHANGED"


async def test_the_same_external_id_in_two_tenants_is_two_activities(
    db: Database, tenant: TenantFixture, other_tenant: TenantFixture
) -> None:
    ours = await _import(db, tenant, 1)
    theirs = await _import(db, other_tenant, 1)
    assert theirs.created and theirs.activity.id != ours.activity.id
    async with db.unit_of_work(tenant.id) as session:
        assert await promotion_api.get_activity(session, tenant.id, theirs.activity.id) is None
