"""Frozen values the promotion center hands to other centers (re-exported by ``api``)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum


class PromotionKind(StrEnum):
    SPEND_AND_SAVE = "SPEND_AND_SAVE"  # 满减: spend X, save Y, in tiers
    PERCENT_OFF = "PERCENT_OFF"  # 折扣
    FIXED_PRICE = "FIXED_PRICE"  # 一口价
    BUY_X_GET_Y = "BUY_X_GET_Y"  # 买X送Y
    BUNDLE = "BUNDLE"  # 组合/套餐
    FLASH_SALE = "FLASH_SALE"  # 秒杀
    GROUP_BUY = "GROUP_BUY"  # 拼团
    PRESALE_DEPOSIT = "PRESALE_DEPOSIT"  # 预售定金


class PromotionStatus(StrEnum):
    DRAFT = "DRAFT"
    ACTIVE = "ACTIVE"
    ENDED = "ENDED"


@dataclass(frozen=True, slots=True)
class PromotionActivityInfo:
    id: uuid.UUID
    tenant_id: uuid.UUID
    name: str
    kind: PromotionKind
    status: PromotionStatus
    starts_at: datetime
    ends_at: datetime
    created_at: datetime


@dataclass(frozen=True, slots=True)
class ExternalPromotionActivity:
    """An activity as the tenant's ERP/POS knows it, for import (促销同步)."""

    external_id: str
    name: str
    kind: PromotionKind
    starts_at: datetime
    ends_at: datetime
    # Imports apply in source order: a row older than the one already applied is skipped.
    source_version: int


@dataclass(frozen=True, slots=True)
class ExternalPromotionPage:
    activities: tuple[ExternalPromotionActivity, ...]
    # Opaque to us; handed back on the next pull. ``None``: nothing further for now.
    next_cursor: str | None
