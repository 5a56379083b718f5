"""Frozen values the member center hands to other centers (re-exported by ``api``)."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum


@dataclass(frozen=True, slots=True)
class MemberInfo:
    id: uuid.UUID
    tenant_id: uuid.UUID
    phone: str
    display_name: str
    level: int
    created_at: datetime
    growth: int = 0  # 成长值, drives the level
    blacklisted: bool = False


@dataclass(frozen=True, slots=True)
class MemberPricingProfile:
    """What pricing needs to know about a member: the level and its benefits.

    ``level_id`` is None while the brand defines no level the member reached; then
    there is no benefit. ``combine`` declares how the benefit meets promotions:
    ``STACK`` or ``UNDISCOUNTED_ONLY`` (only on lines no promotion discounted).
    """

    member_id: uuid.UUID
    level: int
    level_id: uuid.UUID | None
    level_name: str
    discount_bp: int  # basis points off (200 = 9.8折)
    member_prices: Mapping[uuid.UUID, int]  # sku id -> member price per unit, asked skus only
    combine: str
    blacklisted: bool


class IdentityKind(StrEnum):
    PHONE = "PHONE"
    APP = "APP"  # the brand app's account id
    MINI_PROGRAM = "MINI_PROGRAM"  # the mini-program openid


@dataclass(frozen=True, slots=True)
class LevelRuleInfo:
    id: uuid.UUID
    level: int
    name: str
    growth_threshold: int
    discount_bp: int
    combine: str  # STACK or UNDISCOUNTED_ONLY


@dataclass(frozen=True, slots=True)
class AddressInfo:
    id: uuid.UUID
    member_id: uuid.UUID
    receiver: str
    phone: str
    region: str
    detail: str
    is_default: bool
    created_at: datetime


@dataclass(frozen=True, slots=True)
class MemberReview:
    """What order review (风控/审核) needs to know about a buyer."""

    member_id: uuid.UUID
    blacklisted: bool
    reason: str | None
    tags: tuple[str, ...]
    # The member's app account (its APP identity), if linked: who reads the member's orders.
    app_account: str | None = None


@dataclass(frozen=True, slots=True)
class MemberSyncResult:
    """Outcome of one member message from another system (the CRM): ``created`` when it
    registered the member, ``applied`` False for a stale or repeated ``source_version``
    (nothing changed); ``member`` is the member as it is now."""

    member: MemberInfo
    created: bool
    applied: bool
