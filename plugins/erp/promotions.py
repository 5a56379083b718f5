"""Applying an ERP's promotion activities (促销同步): validated, deduplicated, in
source-version order, through ``promotion.api.import_activity`` in one transaction with
the cursor (a page applies once; a crash re-pulls it)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from centers.promotion import api as promotion_api
from kernel.dispatch.inbound import Inbound
from kernel.plugins.manifest import PluginError
from plugins.erp.inbound import PullStats, apply_versioned


@dataclass(frozen=True, slots=True)
class ActivityChange:
    version: int
    external_id: str
    name: str
    kind: promotion_api.PromotionKind
    starts_at: datetime
    ends_at: datetime
    rules: promotion_api.PromotionRules | None


def _optional_int(rules: Mapping[str, Any], name: str) -> int | None:
    value = rules.get(name)
    return None if value is None else _int(value)


def _int(value: Any) -> int:
    # bool is an int in Python; an ERP sending true for a price is garbage.
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(value)
    return value


def _rules(raw: Any) -> promotion_api.PromotionRules | None:
    if raw is None:
        return None
    if not isinstance(raw, dict):
        raise TypeError(raw)
    # What an ERP can express: amounts and counts, not the ids of our SKUs or stores
    # (bundles and scopes are set here by an operator while the activity is a DRAFT).
    stack_group = raw.get("stack_group")
    return promotion_api.PromotionRules(
        tiers=tuple(
            promotion_api.SpendTier(threshold=_int(t["threshold"]), discount=_int(t["discount"]))
            for t in raw.get("tiers", [])
        ),
        discount_bp=_int(raw.get("discount_bp", 0)),
        unit_price=_int(raw.get("unit_price", 0)),
        buy_quantity=_int(raw.get("buy_quantity", 0)),
        get_quantity=_int(raw.get("get_quantity", 0)),
        group_size=_int(raw.get("group_size", 0)),
        group_minutes=_int(raw.get("group_minutes", 0)),
        priority=_int(raw.get("priority", 0)),
        exclusive=bool(raw.get("exclusive", False)),
        stack_group=None if stack_group is None else str(stack_group),
        budget=_optional_int(raw, "budget"),
        per_member_limit=_optional_int(raw, "per_member_limit"),
    )


def parse_activities(items: Sequence[Any]) -> list[ActivityChange]:
    """Validate a page (garbage raises ``PluginError``: nothing of it is applied), drop
    duplicates, and sort by source version (pages may arrive out of order)."""
    by_version: dict[int, ActivityChange] = {}
    for index, item in enumerate(items):
        try:
            change = ActivityChange(
                version=_int(item["version"]),
                external_id=str(item["id"]),
                name=str(item["name"]),
                kind=promotion_api.PromotionKind(item["type"]),
                starts_at=datetime.fromisoformat(item["starts_at"]),
                ends_at=datetime.fromisoformat(item["ends_at"]),
                rules=_rules(item.get("rules")),
            )
        except (KeyError, TypeError, ValueError, AttributeError):
            raise PluginError(f"malformed promotion activity #{index} from the ERP") from None
        if change.version < 1:
            raise PluginError(f"promotion activity #{index}: bad version")
        by_version[change.version] = change
    return [by_version[v] for v in sorted(by_version)]


async def apply_activities(
    inbound: Inbound, changes: Sequence[ActivityChange], cursor_key: str
) -> tuple[int, PullStats]:
    """Import activities by external id and source version (the promotion center
    ignores a version not newer than the last applied)."""

    async def import_one(session: AsyncSession, change: ActivityChange) -> bool:
        outcome = await promotion_api.import_activity(
            session,
            inbound.tenant_id,
            external_id=change.external_id,
            source_version=change.version,
            name=change.name,
            kind=change.kind,
            starts_at=change.starts_at,
            ends_at=change.ends_at,
            rules=change.rules,
        )
        return outcome.applied

    return await apply_versioned(
        inbound,
        changes,
        cursor_key,
        describe=lambda c: f"promotion {c.external_id}",
        apply=import_one,
    )
