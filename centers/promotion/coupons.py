"""Coupons (优惠券): templates an operator defines, coupons issued to members.

A template either has a ``shared_code`` anyone may type (its ``total_quantity`` caps
redemptions, ``per_member_limit`` caps each member's), or is issued coupon by coupon,
each with its own code (``total_quantity`` caps issued coupons, ``per_member_limit``
each member's). Both caps are conditional updates, so they hold under concurrency.
"""

from __future__ import annotations

import secrets
import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import RowMapping
from sqlalchemy.ext.asyncio import AsyncSession

from centers.member import api as member_api
from centers.promotion import repository
from centers.promotion.dto import CouponInfo, CouponKind, CouponTemplateInfo, PromotionScope
from centers.promotion.rules import MAX_AMOUNT, check_scope, scope_from_json, scope_to_json
from centers.promotion.service import check_window, clean_name
from kernel import idempotency
from kernel.errors import UserInputError
from kernel.ids import new_id

# Crockford-like alphabet without look-alikes (0/O, 1/I/L), read aloud at a till.
_CODE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
CODE_LENGTH = 12
MAX_SHARED_CODE_LENGTH = 32


def template_info(row: RowMapping) -> CouponTemplateInfo:
    return CouponTemplateInfo(
        id=row["id"],
        name=row["name"],
        kind=CouponKind(row["kind"]),
        amount_off=row["amount_off"],
        discount_bp=row["discount_bp"],
        max_discount=row["max_discount"],
        min_spend=row["min_spend"],
        scope=scope_from_json(dict(row["scope"] or {})),
        stacks_with_promotions=row["stacks_with_promotions"],
        starts_at=row["starts_at"],
        ends_at=row["ends_at"],
        shared_code=row["shared_code"],
        total_quantity=row["total_quantity"],
        issued=row["issued"],
        redeemed=row["redeemed"],
        per_member_limit=row["per_member_limit"],
        created_at=row["created_at"],
    )


def coupon_info(row: RowMapping) -> CouponInfo:
    return CouponInfo(
        id=row["id"],
        template_id=row["template_id"],
        code=row["code"],
        member_id=row["member_id"],
        status=row["status"],
        order_id=row["order_id"],
        issued_at=row["issued_at"],
        used_at=row["used_at"],
    )


def _invalid(message: str, name: str) -> UserInputError:
    return UserInputError(message, code="INVALID_COUPON", field=["input", name])


async def create_template(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    *,
    name: str,
    kind: CouponKind,
    amount_off: int,
    discount_bp: int,
    max_discount: int | None,
    min_spend: int,
    scope: PromotionScope,
    stacks_with_promotions: bool,
    starts_at: datetime,
    ends_at: datetime,
    shared_code: str | None,
    total_quantity: int | None,
    per_member_limit: int | None,
) -> CouponTemplateInfo:
    cleaned = clean_name(name)
    check_window(starts_at, ends_at)
    check_scope(scope, "scope")
    if kind is CouponKind.AMOUNT_OFF and not 1 <= amount_off <= MAX_AMOUNT:
        raise _invalid("amountOff must be a positive amount", "amountOff")
    if kind is CouponKind.PERCENT_OFF and not 1 <= discount_bp <= 9999:
        raise _invalid("discountBasisPoints must be 1 to 9999", "discountBasisPoints")
    if max_discount is not None and not 1 <= max_discount <= MAX_AMOUNT:
        raise _invalid("maxDiscount must be a positive amount", "maxDiscount")
    if not 0 <= min_spend <= MAX_AMOUNT:
        raise _invalid("minSpend must not be negative", "minSpend")
    if total_quantity is not None and not 1 <= total_quantity <= 100_000_000:
        raise _invalid("totalQuantity must be positive", "totalQuantity")
    if per_member_limit is not None and not 1 <= per_member_limit <= 1000:
        raise _invalid("perMemberLimit must be 1 to 1000", "perMemberLimit")
    if shared_code is not None:
        shared_code = shared_code.strip().upper()
        if not (
            4 <= len(shared_code) <= MAX_SHARED_CODE_LENGTH
            and shared_code.isascii()
            and shared_code.isalnum()
        ):
            raise _invalid(
                f"sharedCode is 4 to {MAX_SHARED_CODE_LENGTH} letters and digits", "sharedCode"
            )
    now = datetime.now(UTC)
    values: dict[str, Any] = {
        "tenant_id": tenant_id,
        "id": new_id(),
        "name": cleaned,
        "kind": kind.value,
        "amount_off": amount_off if kind is CouponKind.AMOUNT_OFF else 0,
        "discount_bp": discount_bp if kind is CouponKind.PERCENT_OFF else 0,
        "max_discount": max_discount,
        "min_spend": min_spend,
        "scope": scope_to_json(scope),
        "stacks_with_promotions": stacks_with_promotions,
        "starts_at": starts_at.astimezone(UTC),
        "ends_at": ends_at.astimezone(UTC),
        "shared_code": shared_code,
        "total_quantity": total_quantity,
        "issued": 0,
        "redeemed": 0,
        "per_member_limit": per_member_limit,
        "created_at": now,
    }
    if not await repository.insert_coupon_template(session, values):
        raise UserInputError(
            "this shared code is taken", code="CODE_TAKEN", field=["input", "sharedCode"]
        )
    (row,) = await repository.templates_by_ids(session, tenant_id, [values["id"]])
    return template_info(row)


def _new_code() -> str:
    return "".join(secrets.choice(_CODE_ALPHABET) for _ in range(CODE_LENGTH))


async def issue_coupon(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    *,
    idempotency_key: str,
    template_id: uuid.UUID,
    member_id: uuid.UUID,
) -> CouponInfo:
    """Issue one coupon of the template to the member (领券 / 发券), idempotent by key."""
    claim = await idempotency.claim(
        session,
        tenant_id,
        "promotion.issue_coupon",
        idempotency_key,
        {"template": template_id, "member": member_id},
        new_id(),
    )
    if claim.replayed:
        (first,) = await repository.coupons_by_ids(session, tenant_id, [claim.result_id])
        return coupon_info(first)
    found = await repository.templates_by_ids(session, tenant_id, [template_id])
    if not found:
        raise UserInputError(
            "coupon template not found", code="TEMPLATE_NOT_FOUND", field=["input", "templateId"]
        )
    template = found[0]
    if template["shared_code"] is not None:
        raise UserInputError(
            "this template is redeemed by its shared code, not issued",
            code="SHARED_CODE_TEMPLATE",
            field=["input", "templateId"],
        )
    now = datetime.now(UTC)
    if now >= template["ends_at"]:
        raise UserInputError(
            "this coupon has expired", code="COUPON_EXPIRED", field=["input", "templateId"]
        )
    if await member_api.get_member(session, tenant_id, member_id) is None:
        raise UserInputError(
            "member not found", code="MEMBER_NOT_FOUND", field=["input", "memberId"]
        )
    limit = template["per_member_limit"]
    if limit is not None and not await repository.count_member_use(
        session, tenant_id, template_id, member_id, limit
    ):
        raise UserInputError(
            f"a member may hold {limit} coupon(s) of this kind",
            code="COUPON_LIMIT_REACHED",
            field=["input", "memberId"],
        )
    if not await repository.take_template_issue(session, tenant_id, template_id):
        raise UserInputError(
            "all coupons of this kind are given out",
            code="COUPON_EXHAUSTED",
            field=["input", "templateId"],
        )
    values = {
        "tenant_id": tenant_id,
        "id": claim.result_id,
        "template_id": template_id,
        "code": _new_code(),
        "member_id": member_id,
        "status": "AVAILABLE",
        "order_id": None,
        "issued_at": now,
        "used_at": None,
    }
    await repository.insert_coupon(session, values)
    (row,) = await repository.coupons_by_ids(session, tenant_id, [claim.result_id])
    return coupon_info(row)
