"""Members (会员): the entity, its identities, addresses and tags, and their mutations."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from datetime import datetime

import strawberry
from strawberry import Info

from centers.member import loaders, policy, profile, repository, service
from centers.member.dto import AddressInfo, IdentityKind, MemberInfo
from kernel.context import RequestContext
from kernel.graphql.fields import mutation, query
from kernel.graphql.ids import parse_id, try_parse_id
from kernel.graphql.mutations import attempt
from kernel.graphql.pagination import Connection, connection, page_request
from kernel.graphql.types import UserError

Ctx = Info[RequestContext, None]


@strawberry.federation.type(keys=["id"], description="A member (会员) of the brand.")
class Member:
    id: strawberry.ID
    phone: str = strawberry.field(description="E.164 phone number, the member's identity.")
    display_name: str = strawberry.field(description="How staff and receipts address the member.")
    level: int = strawberry.field(description="Membership level, 1 and up.")
    created_at: datetime = strawberry.field(description="When the member registered (UTC).")
    growth: int = strawberry.field(description="Growth value (成长值); it sets the level.")
    blacklisted: bool = strawberry.field(description="Order review holds this member's orders.")

    @classmethod
    def of(cls, value: MemberInfo) -> Member:
        return cls(
            id=strawberry.ID(str(value.id)),
            phone=value.phone,
            display_name=value.display_name,
            level=value.level,
            created_at=value.created_at,
            growth=value.growth,
            blacklisted=value.blacklisted,
        )

    @strawberry.field(description="Every channel id that leads to this member.")
    async def identities(self, info: Ctx) -> list[MemberIdentity]:
        found = await loaders.identities(info.context).load(uuid.UUID(self.id))
        return [MemberIdentity(kind=IdentityKind(k), external_id=e) for k, e in found]

    @strawberry.field(description="Delivery addresses, the default first.")
    async def addresses(self, info: Ctx) -> list[MemberAddress]:
        found = await loaders.addresses(info.context).load(uuid.UUID(self.id))
        return [MemberAddress.of(a) for a in found]

    @strawberry.field(description="Labels (会员标签), sorted.")
    async def tags(self, info: Ctx) -> list[str]:
        return await loaders.tags(info.context).load(uuid.UUID(self.id))

    @classmethod
    async def resolve_reference(cls, info: Ctx, id: strawberry.ID) -> Member | None:
        member_id = try_parse_id(id)
        found = await loaders.members(info.context).load(member_id) if member_id else None
        return cls.of(found) if found else None


strawberry.enum(
    IdentityKind,
    description="A channel's id of a member: phone, the app account, the mini-program openid.",
)


@strawberry.type
class MemberIdentity:
    kind: IdentityKind
    external_id: str


@strawberry.type(description="A delivery address (收货地址).")
class MemberAddress:
    id: strawberry.ID
    receiver: str
    phone: str
    region: str
    detail: str
    is_default: bool
    created_at: datetime

    @classmethod
    def of(cls, value: AddressInfo) -> MemberAddress:
        return cls(
            id=strawberry.ID(str(value.id)),
            receiver=value.receiver,
            phone=value.phone,
            region=value.region,
            detail=value.detail,
            is_default=value.is_default,
            created_at=value.created_at,
        )


@strawberry.input
class RegisterMemberInput:
    phone: str = strawberry.field(description="E.164, e.g. +8613800138000; spaces and dashes ok.")
    display_name: str


@strawberry.type
class RegisterMemberPayload:
    member: Member | None
    user_errors: list[UserError]


@strawberry.type
class MemberQuery:
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
class MemberMutation:
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


@strawberry.type
class MemberPayload:
    member: Member | None
    user_errors: list[UserError]


@strawberry.input
class LinkMemberIdentityInput:
    member_id: strawberry.ID
    kind: IdentityKind
    external_id: str


@strawberry.input
class AddMemberAddressInput:
    member_id: strawberry.ID
    receiver: str
    phone: str
    region: str = strawberry.field(description="Province / city / district.")
    detail: str
    is_default: bool = False


@strawberry.input
class RemoveMemberAddressInput:
    member_id: strawberry.ID
    address_id: strawberry.ID


@strawberry.input
class TagMemberInput:
    member_id: strawberry.ID
    add: list[str] = strawberry.field(default_factory=list)
    remove: list[str] = strawberry.field(default_factory=list)


@strawberry.input
class SetMemberBlacklistedInput:
    member_id: strawberry.ID
    blacklisted: bool
    reason: str | None = strawberry.field(default=None, description="Required to blacklist.")


async def _member_payload(
    context: RequestContext, run: Callable[[], Awaitable[uuid.UUID]]
) -> MemberPayload:
    changed, errors = await attempt(context, run)
    if changed is None:
        return MemberPayload(member=None, user_errors=errors)
    found = await repository.members_by_ids(context.session, context.tenant_id, [changed])
    return MemberPayload(member=Member.of(found[0]) if found else None, user_errors=errors)


@strawberry.type
class MemberProfileQuery:
    @query(
        policy.READ_OWN_MEMBER,
        description="The caller's own membership (by their app account); null when they "
        "have not joined.",
    )
    async def my_membership(self, info: Ctx) -> Member | None:
        context = info.context
        found = await profile.member_by_identity(
            context.session,
            context.tenant_id,
            IdentityKind.APP,
            context.principal.subject_id,
        )
        return Member.of(found) if found else None

    @query(
        policy.READ_MEMBER,
        description="The member a channel id belongs to (phone, app account, mini-program "
        "openid); null when none.",
    )
    async def member_by_identity(
        self, info: Ctx, kind: IdentityKind, external_id: str
    ) -> Member | None:
        context = info.context
        found = await profile.member_by_identity(
            context.session, context.tenant_id, kind, external_id
        )
        return Member.of(found) if found else None


@strawberry.type
class MemberProfileMutation:
    @mutation(
        policy.MANAGE_MEMBER,
        description="Tie a channel's id to a member (one identity across channels); "
        "idempotent. Codes: INVALID_ID, MEMBER_NOT_FOUND, INVALID_PHONE, "
        "INVALID_EXTERNAL_ID, IDENTITY_TAKEN.",
    )
    async def link_member_identity(
        self, info: Ctx, input: LinkMemberIdentityInput
    ) -> MemberPayload:
        context = info.context

        async def run() -> uuid.UUID:
            member_id = parse_id(input.member_id, ["input", "memberId"])
            await profile.link_identity(
                context.session,
                context.tenant_id,
                member_id=member_id,
                kind=input.kind,
                external_id=input.external_id,
            )
            return member_id

        return await _member_payload(context, run)

    @mutation(
        policy.MANAGE_MEMBER,
        description="Add a delivery address. Codes: INVALID_ID, MEMBER_NOT_FOUND, "
        "INVALID_PHONE, INVALID_ADDRESS, TOO_MANY_ADDRESSES.",
    )
    async def add_member_address(self, info: Ctx, input: AddMemberAddressInput) -> MemberPayload:
        context = info.context

        async def run() -> uuid.UUID:
            member_id = parse_id(input.member_id, ["input", "memberId"])
            await profile.add_address(
                context.session,
                context.tenant_id,
                member_id=member_id,
                receiver=input.receiver,
                phone=input.phone,
                region=input.region,
                detail=input.detail,
                is_default=input.is_default,
            )
            return member_id

        return await _member_payload(context, run)

    @mutation(
        policy.MANAGE_MEMBER,
        description="Remove a delivery address. Codes: INVALID_ID, ADDRESS_NOT_FOUND.",
    )
    async def remove_member_address(
        self, info: Ctx, input: RemoveMemberAddressInput
    ) -> MemberPayload:
        context = info.context

        async def run() -> uuid.UUID:
            member_id = parse_id(input.member_id, ["input", "memberId"])
            await profile.remove_address(
                context.session,
                context.tenant_id,
                member_id=member_id,
                address_id=parse_id(input.address_id, ["input", "addressId"]),
            )
            return member_id

        return await _member_payload(context, run)

    @mutation(
        policy.MANAGE_MEMBER,
        description="Add and remove tags. Codes: INVALID_ID, MEMBER_NOT_FOUND, INVALID_TAG, "
        "TOO_MANY_TAGS.",
    )
    async def tag_member(self, info: Ctx, input: TagMemberInput) -> MemberPayload:
        context = info.context

        async def run() -> uuid.UUID:
            member_id = parse_id(input.member_id, ["input", "memberId"])
            await profile.tag_member(
                context.session,
                context.tenant_id,
                member_id=member_id,
                add=input.add,
                remove=input.remove,
            )
            return member_id

        return await _member_payload(context, run)

    @mutation(
        policy.MANAGE_BLACKLIST,
        description="Put a member on the blacklist (order review holds their orders) or "
        "take them off. Codes: INVALID_ID, MEMBER_NOT_FOUND, INVALID_REASON.",
    )
    async def set_member_blacklisted(
        self, info: Ctx, input: SetMemberBlacklistedInput
    ) -> MemberPayload:
        context = info.context

        async def run() -> uuid.UUID:
            member_id = parse_id(input.member_id, ["input", "memberId"])
            await profile.set_blacklisted(
                context.session,
                context.tenant_id,
                member_id=member_id,
                blacklisted=input.blacklisted,
                reason=input.reason,
            )
            return member_id

        return await _member_payload(context, run)
