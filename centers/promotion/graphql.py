"""The promotion subgraph: promotion activities."""

from __future__ import annotations

from datetime import datetime

import strawberry
from strawberry import Info

from centers.promotion import loaders, policy, repository, service
from centers.promotion.dto import PromotionActivityInfo, PromotionKind, PromotionStatus
from kernel.context import RequestContext
from kernel.graphql.fields import mutation, query
from kernel.graphql.ids import try_parse_id
from kernel.graphql.mutations import attempt
from kernel.graphql.pagination import Connection, connection, page_request
from kernel.graphql.subgraph import Subgraph
from kernel.graphql.types import UserError

Ctx = Info[RequestContext, None]

# The domain enums are the schema's enums: one list of names, no mapping to drift.
strawberry.enum(
    PromotionKind,
    description="What an activity does to the goods: 满减 tiers, discount, fixed price, "
    "buy X get Y, bundle, flash sale (秒杀), group buy (拼团), presale deposit (预售定金).",
)
strawberry.enum(PromotionStatus, description="DRAFT until an operator starts it; ENDED for good.")


@strawberry.federation.type(
    keys=["id"], description="A promotion activity (促销活动) on goods, valid in a time window."
)
class PromotionActivity:
    id: strawberry.ID
    name: str
    kind: PromotionKind
    status: PromotionStatus
    starts_at: datetime = strawberry.field(description="Start of the window (inclusive), UTC.")
    ends_at: datetime = strawberry.field(description="End of the window (exclusive), UTC.")
    created_at: datetime

    @classmethod
    def of(cls, value: PromotionActivityInfo) -> PromotionActivity:
        return cls(
            id=strawberry.ID(str(value.id)),
            name=value.name,
            kind=value.kind,
            status=value.status,
            starts_at=value.starts_at,
            ends_at=value.ends_at,
            created_at=value.created_at,
        )

    @classmethod
    async def resolve_reference(cls, info: Ctx, id: strawberry.ID) -> PromotionActivity | None:
        activity_id = try_parse_id(id)
        found = await loaders.activities(info.context).load(activity_id) if activity_id else None
        return cls.of(found) if found else None


@strawberry.input
class CreatePromotionActivityInput:
    name: str
    kind: PromotionKind
    starts_at: datetime = strawberry.field(description="With a time zone offset.")
    ends_at: datetime = strawberry.field(description="With a time zone offset; after startsAt.")


@strawberry.type
class CreatePromotionActivityPayload:
    promotion_activity: PromotionActivity | None
    user_errors: list[UserError]


@strawberry.type
class Query:
    @query(policy.READ_ACTIVITY)
    async def promotion_activity(self, info: Ctx, id: strawberry.ID) -> PromotionActivity | None:
        return await PromotionActivity.resolve_reference(info, id)

    @query(policy.READ_ACTIVITY, description="The brand's promotion activities, newest first.")
    async def promotion_activities(
        self, info: Ctx, first: int = 20, after: str | None = None
    ) -> Connection[PromotionActivity]:
        context = info.context
        page = page_request(first, after)
        rows = await repository.list_activities(context.session, context.tenant_id, page)
        return connection(rows, page, PromotionActivity.of, lambda a: [a.id])


@strawberry.type
class Mutation:
    @mutation(
        policy.MANAGE_ACTIVITY,
        description="Create a promotion activity as a DRAFT. Codes: INVALID_NAME, INVALID_WINDOW.",
    )
    async def create_promotion_activity(
        self, info: Ctx, input: CreatePromotionActivityInput
    ) -> CreatePromotionActivityPayload:
        context = info.context
        created, errors = await attempt(
            context,
            lambda: service.create_activity(
                context.session,
                context.tenant_id,
                name=input.name,
                kind=input.kind,
                starts_at=input.starts_at,
                ends_at=input.ends_at,
            ),
        )
        return CreatePromotionActivityPayload(
            promotion_activity=PromotionActivity.of(created) if created else None,
            user_errors=errors,
        )


subgraph = Subgraph(
    name="promotion",
    schema=strawberry.federation.Schema(query=Query, mutation=Mutation),
    entity_permissions={"PromotionActivity": policy.READ_ACTIVITY},
    grants=policy.GRANTS,
)
