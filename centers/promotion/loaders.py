"""DataLoaders of the promotion center, one per request (see ``RequestContext.loader``)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from strawberry.dataloader import DataLoader

from centers.promotion import coupons, repository, service
from centers.promotion.dto import ActivityDetails, CouponTemplateInfo, PromotionActivityInfo
from kernel.context import RequestContext
from kernel.graphql.batching import one_per_key


def activities(context: RequestContext) -> DataLoader[uuid.UUID, PromotionActivityInfo | None]:
    async def load(ids: Sequence[uuid.UUID]) -> list[PromotionActivityInfo | None]:
        rows = await repository.activities_by_ids(context.session, context.tenant_id, ids)
        return one_per_key(ids, rows, lambda row: row.id)

    return context.loader("promotion.activities", lambda: DataLoader(load_fn=load))


def activity_details(context: RequestContext) -> DataLoader[uuid.UUID, ActivityDetails | None]:
    async def load(ids: Sequence[uuid.UUID]) -> list[ActivityDetails | None]:
        rows = await repository.activity_rows_by_ids(context.session, context.tenant_id, ids)
        return one_per_key(ids, [service.details_of(r) for r in rows], lambda d: d.activity.id)

    return context.loader("promotion.activity_details", lambda: DataLoader(load_fn=load))


def coupon_templates(context: RequestContext) -> DataLoader[uuid.UUID, CouponTemplateInfo | None]:
    async def load(ids: Sequence[uuid.UUID]) -> list[CouponTemplateInfo | None]:
        rows = await repository.templates_by_ids(context.session, context.tenant_id, ids)
        return one_per_key(ids, [coupons.template_info(r) for r in rows], lambda t: t.id)

    return context.loader("promotion.coupon_templates", lambda: DataLoader(load_fn=load))
