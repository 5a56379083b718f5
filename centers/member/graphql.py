"""The member subgraph: members (会员)."""

from __future__ import annotations

from datetime import datetime

import strawberry
from strawberry import Info

from centers.member import loaders, policy, repository, service
from centers.member.dto import MemberInfo
from kernel.context import RequestContext
from kernel.graphql.fields import mutation, query
from kernel.graphql.ids import try_parse_id
from kernel.graphql.mutations import attempt
from kernel.graphql.pagination import Connection, connection, page_request
from kernel.graphql.subgraph import Subgraph
from kernel.graphql.types import UserError

Ctx = Info[RequestContext, None]


@strawberry.federation.type(keys=["id"], description="A member (会员) of the brand.")
class Member:
    id: strawberry.ID
    phone: str = strawberry.field(description="E.164 phone number, the member's identity.")
    display_name: str = strawberry.field(description="How staff and receipts address the member.")
    level: int = strawberry.field(description="Membership level, 1 and up.")
    created_at: datetime = strawberry.field(description="When the member registered (UTC).")

    @classmethod
    def of(cls, value: MemberInfo) -> Member:
        return cls(
            id=strawberry.ID(str(value.id)),
            phone=value.phone,
            display_name=value.display_name,
            level=value.level,
            created_at=value.created_at,
        )

    @classmethod
    async def resolve_reference(cls, info: Ctx, id: strawberry.ID) -> Member | None:
        member_id = try_parse_id(id)
        found = await loaders.members(info.context).load(member_id) if member_id else None
        return cls.of(found) if found else None


@strawberry.input
class RegisterMemberInput:
    phone: str = strawberry.field(description="E.164, e.g. +8613800138000; spaces and dashes ok.")
    display_name: str


@strawberry.type
class RegisterMemberPayload:
    member: Member | None
    user_errors: list[UserError]


@strawberry.type
class Query:
    @query(policy.READ_MEMBER, description="A member; null for unknown or other brands' ids.")
    async def member(self, info: Ctx, id: strawberry.ID) -> Member | None:
        return await Member.resolve_reference(info, id)

    @query(policy.READ_MEMBER, description="The brand's members, newest first.")
    async def members(
        self, info: Ctx, first: int = 20, after: str | None = None
    ) -> Connection[Member]:
        context = info.context
        page = page_request(first, after)
        rows = await repository.list_members(context.session, context.tenant_id, page)
        return connection(rows, page, Member.of, lambda m: [m.id])


@strawberry.type
class Mutation:
    @mutation(
        policy.MANAGE_MEMBER,
        description="Register a member by phone. Codes: INVALID_PHONE, PHONE_TAKEN, "
        "INVALID_NAME. Replaying a registration answers PHONE_TAKEN: the phone, unique "
        "per brand, is what makes it idempotent.",
    )
    async def register_member(self, info: Ctx, input: RegisterMemberInput) -> RegisterMemberPayload:
        context = info.context
        created, errors = await attempt(
            context,
            lambda: service.register_member(
                context.session,
                context.tenant_id,
                phone=input.phone,
                display_name=input.display_name,
            ),
        )
        return RegisterMemberPayload(
            member=Member.of(created) if created else None, user_errors=errors
        )


subgraph = Subgraph(
    name="member",
    schema=strawberry.federation.Schema(query=Query, mutation=Mutation),
    entity_permissions={"Member": policy.READ_MEMBER},
    grants=policy.GRANTS,
)
