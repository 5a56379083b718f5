"""Validating activity rules and scopes, and their stored (JSON) form."""

from __future__ import annotations

import uuid
from typing import Any

from centers.promotion.dto import PromotionKind, PromotionRules, PromotionScope, SpendTier
from kernel.errors import UserInputError

MAX_AMOUNT = 10**12  # minor units: a guard against typos, far above any real price
MAX_SCOPE_ITEMS = 500
MAX_TIERS = 10
MAX_CHANNEL_LENGTH = 32
MAX_GROUP_LENGTH = 64

# Checkout prices these kinds; group buy and presale deposit need their own order flows.
PRICED_KINDS = frozenset(
    {
        PromotionKind.SPEND_AND_SAVE,
        PromotionKind.PERCENT_OFF,
        PromotionKind.FIXED_PRICE,
        PromotionKind.FLASH_SALE,
        PromotionKind.BUY_X_GET_Y,
        PromotionKind.BUNDLE,
        PromotionKind.PRESALE_DEPOSIT,
        PromotionKind.GROUP_BUY,
    }
)


def _error(message: str, *path: str) -> UserInputError:
    return UserInputError(message, code="INVALID_RULES", field=["input", "rules", *path])


def _amount(value: int, *path: str, least: int = 0) -> None:
    if not least <= value <= MAX_AMOUNT:
        raise _error(f"{path[-1]} must be between {least} and {MAX_AMOUNT}", *path)


def check_scope(scope: PromotionScope, *path: str) -> None:
    for name in (
        "store_ids",
        "channels",
        "member_levels",
        "sku_ids",
        "product_ids",
        "category_ids",
    ):
        if len(getattr(scope, name)) > MAX_SCOPE_ITEMS:
            raise _error(f"at most {MAX_SCOPE_ITEMS} entries per scope list", *path, name)
    for channel in scope.channels:
        if not channel or len(channel) > MAX_CHANNEL_LENGTH or not channel.isprintable():
            raise _error(f"a channel is 1 to {MAX_CHANNEL_LENGTH} characters", *path, "channels")
    if any(level < 1 for level in scope.member_levels):
        raise _error("member levels start at 1", *path, "memberLevels")


def check_rules(kind: PromotionKind, rules: PromotionRules) -> None:
    """Refuse rules that cannot be priced for ``kind`` (code ``INVALID_RULES``)."""
    check_scope(rules.scope, "scope")
    if not -1000 <= rules.priority <= 1000:
        raise _error("priority must be between -1000 and 1000", "priority")
    if rules.stack_group is not None and not (
        0 < len(rules.stack_group) <= MAX_GROUP_LENGTH and rules.stack_group.isprintable()
    ):
        raise _error(f"stackGroup is 1 to {MAX_GROUP_LENGTH} characters", "stackGroup")
    if rules.budget is not None:
        _amount(rules.budget, "budget", least=1)
    if rules.per_member_limit is not None and not 1 <= rules.per_member_limit <= 1000:
        raise _error("perMemberLimit must be between 1 and 1000", "perMemberLimit")
    if kind is PromotionKind.SPEND_AND_SAVE:
        if not 1 <= len(rules.tiers) <= MAX_TIERS:
            raise _error(f"满减 needs 1 to {MAX_TIERS} tiers", "tiers")
        thresholds = [t.threshold for t in rules.tiers]
        if len(set(thresholds)) != len(thresholds):
            raise _error("tier thresholds must differ", "tiers")
        for index, tier in enumerate(rules.tiers):
            _amount(tier.threshold, "tiers", str(index), "threshold", least=1)
            if not 1 <= tier.discount <= tier.threshold:
                raise _error(
                    "a tier's discount is at least 1 and at most its threshold",
                    "tiers",
                    str(index),
                    "discount",
                )
    elif kind is PromotionKind.PERCENT_OFF:
        if not 1 <= rules.discount_bp <= 9999:
            raise _error("discountBasisPoints must be 1 to 9999", "discountBasisPoints")
    elif kind in (
        PromotionKind.FIXED_PRICE,
        PromotionKind.FLASH_SALE,
        PromotionKind.PRESALE_DEPOSIT,
        PromotionKind.GROUP_BUY,
    ):
        _amount(rules.unit_price, "unitPrice")
        if kind is PromotionKind.GROUP_BUY and not 2 <= rules.group_size <= 100:
            raise _error("groupSize must be 2 to 100", "groupSize")
        if kind is PromotionKind.GROUP_BUY and not 1 <= rules.group_minutes <= 7 * 24 * 60:
            raise _error("groupMinutes must be 1 to 10080 (a week)", "groupMinutes")
        scope = rules.scope
        if not (scope.sku_ids or scope.product_ids or scope.category_ids):
            raise _error(
                "a fixed price needs the goods it is for (skus, products or categories)", "scope"
            )
    elif kind is PromotionKind.BUY_X_GET_Y:
        if not 1 <= rules.buy_quantity <= 100 or not 1 <= rules.get_quantity <= 100:
            raise _error("buyQuantity and getQuantity must be 1 to 100", "buyQuantity")
    elif kind is PromotionKind.BUNDLE:
        if len(set(rules.bundle_sku_ids)) != len(rules.bundle_sku_ids) or not (
            2 <= len(rules.bundle_sku_ids) <= 20
        ):
            raise _error("a bundle is 2 to 20 different skus", "bundleSkuIds")
        _amount(rules.bundle_price, "bundlePrice")


def scope_to_json(scope: PromotionScope) -> dict[str, Any]:
    return {
        "store_ids": [str(v) for v in scope.store_ids],
        "channels": list(scope.channels),
        "member_levels": list(scope.member_levels),
        "sku_ids": [str(v) for v in scope.sku_ids],
        "product_ids": [str(v) for v in scope.product_ids],
        "category_ids": [str(v) for v in scope.category_ids],
    }


def scope_from_json(raw: dict[str, Any]) -> PromotionScope:
    def ids(name: str) -> tuple[uuid.UUID, ...]:
        return tuple(uuid.UUID(str(v)) for v in raw.get(name) or [])

    return PromotionScope(
        store_ids=ids("store_ids"),
        channels=tuple(str(v) for v in raw.get("channels") or []),
        member_levels=tuple(int(v) for v in raw.get("member_levels") or []),
        sku_ids=ids("sku_ids"),
        product_ids=ids("product_ids"),
        category_ids=ids("category_ids"),
    )


def rule_to_json(rules: PromotionRules) -> dict[str, Any]:
    return {
        "tiers": [{"threshold": t.threshold, "discount": t.discount} for t in rules.tiers],
        "discount_bp": rules.discount_bp,
        "unit_price": rules.unit_price,
        "buy_quantity": rules.buy_quantity,
        "get_quantity": rules.get_quantity,
        "bundle_sku_ids": [str(v) for v in rules.bundle_sku_ids],
        "bundle_price": rules.bundle_price,
        "group_size": rules.group_size,
        "group_minutes": rules.group_minutes,
    }


def rules_from_row(
    rule: dict[str, Any],
    scope: dict[str, Any],
    *,
    priority: int,
    exclusive: bool,
    stack_group: str | None,
    budget: int | None,
    per_member_limit: int | None,
) -> PromotionRules:
    return PromotionRules(
        tiers=tuple(
            SpendTier(threshold=int(t["threshold"]), discount=int(t["discount"]))
            for t in rule.get("tiers") or []
        ),
        discount_bp=int(rule.get("discount_bp") or 0),
        unit_price=int(rule.get("unit_price") or 0),
        buy_quantity=int(rule.get("buy_quantity") or 0),
        get_quantity=int(rule.get("get_quantity") or 0),
        bundle_sku_ids=tuple(uuid.UUID(str(v)) for v in rule.get("bundle_sku_ids") or []),
        bundle_price=int(rule.get("bundle_price") or 0),
        group_size=int(rule.get("group_size") or 0),
        group_minutes=int(rule.get("group_minutes") or 0),
        scope=scope_from_json(scope),
        priority=priority,
        exclusive=exclusive,
        stack_group=stack_group,
        budget=budget,
        per_member_limit=per_member_limit,
    )
