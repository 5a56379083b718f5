"""The member subgraph: members (会员), their identities, addresses, tags and levels."""

from __future__ import annotations

import strawberry

from centers.member import policy
from centers.member.graphql.levels import LevelMutation, LevelQuery
from centers.member.graphql.members import (
    MemberMutation,
    MemberProfileMutation,
    MemberProfileQuery,
    MemberQuery,
)
from centers.member.pricing import LevelPricing
from centers.product import api as product_api
from kernel.graphql.subgraph import Subgraph

# Product quotes for a member carry the member's level price (会员价), as checkout does.
product_api.set_member_pricing(LevelPricing())


@strawberry.type
class Query(MemberQuery, MemberProfileQuery, LevelQuery):
    pass


@strawberry.type
class Mutation(MemberMutation, MemberProfileMutation, LevelMutation):
    pass


subgraph = Subgraph(
    name="member",
    schema=strawberry.federation.Schema(query=Query, mutation=Mutation),
    entity_permissions={"Member": policy.READ_MEMBER},
    grants=policy.GRANTS,
    store_permissions=policy.STORE_PERMISSIONS,
)
