"""Tenants and stores: entities, queries and mutations."""

from __future__ import annotations

import strawberry
from strawberry import Info

from centers.store import loaders, policy, repository, service
from centers.store.dto import StoreInfo, TenantInfo
from kernel.context import RequestContext
from kernel.errors import NotFoundError
from kernel.graphql.fields import mutation, query
from kernel.graphql.ids import parse_id, try_parse_id
from kernel.graphql.mutations import attempt
from kernel.graphql.pagination import Connection, connection, page_request
from kernel.graphql.types import UserError

Ctx = Info[RequestContext, None]


@strawberry.federation.type(keys=["id"], description="A brand (商户/品牌): the tenant.")
class Tenant:
    id: strawberry.ID
    slug: str
    name: str
    currency: str = strawberry.field(description="Default ISO 4217 currency of the brand.")

    @classmethod
    def of(cls, value: TenantInfo) -> Tenant:
        return cls(
            id=strawberry.ID(str(value.id)),
            slug=value.slug,
            name=value.name,
            currency=value.currency,
        )

    @classmethod
    async def resolve_reference(cls, info: Ctx, id: strawberry.ID) -> Tenant | None:
        tenant_id = try_parse_id(id)
        context = info.context
        if tenant_id != context.tenant_id:
            return None  # a caller only ever sees its own tenant
        found = await loaders.own_tenant(context).load(tenant_id)
        return cls.of(found) if found else None


@strawberry.federation.type(keys=["id"], description="A store (门店) of the brand.")
class Store:
    id: strawberry.ID
    code: str = strawberry.field(description="The brand's own store code, unique per brand.")
    name: str
    timezone: str = strawberry.field(description="IANA time zone of the store, e.g. Asia/Shanghai.")

    @classmethod
    def of(cls, value: StoreInfo) -> Store:
        return cls(
            id=strawberry.ID(str(value.id)),
            code=value.code,
            name=value.name,
            timezone=value.timezone,
        )

    @classmethod
    async def resolve_reference(cls, info: Ctx, id: strawberry.ID) -> Store | None:
        store_id = try_parse_id(id)
        found = await loaders.stores(info.context).load(store_id) if store_id else None
        return cls.of(found) if found else None


@strawberry.input
class CreateStoreInput:
    code: str
    name: str
    timezone: str = "Asia/Shanghai"


@strawberry.type
class CreateStorePayload:
    store: Store | None
    user_errors: list[UserError]


@strawberry.input
class UpdateStoreInput:
    id: strawberry.ID
    name: str | None = strawberry.field(default=None, description="Left out: unchanged.")
    timezone: str | None = strawberry.field(default=None, description="Left out: unchanged.")


@strawberry.type
class UpdateStorePayload:
    store: Store | None
    user_errors: list[UserError]


@strawberry.type
class StoreQuery:
    @query(policy.READ_TENANT, description="The caller's own tenant.")
    async def tenant(self, info: Ctx) -> Tenant:
        context = info.context
        found = await repository.tenant_by_id(context.session, context.tenant_id)
        if found is None:
            raise NotFoundError("tenant not found")
        return Tenant.of(found)

    @query(policy.READ_STORE)
    async def store(self, info: Ctx, id: strawberry.ID) -> Store | None:
        return await Store.resolve_reference(info, id)

    @query(policy.READ_STORE, description="The brand's stores, by id.")
    async def stores(
        self, info: Ctx, first: int = 20, after: str | None = None
    ) -> Connection[Store]:
        context = info.context
        page = page_request(first, after)
        rows = await repository.list_stores(context.session, context.tenant_id, page)
        return connection(rows, page, Store.of, lambda s: [s.id])


@strawberry.type
class StoreMutation:
    @mutation(
        policy.MANAGE_STORE,
        description="Open a store. Codes: INVALID_CODE, CODE_TAKEN, "
        "INVALID_NAME, INVALID_TIMEZONE.",
    )
    async def create_store(self, info: Ctx, input: CreateStoreInput) -> CreateStorePayload:
        context = info.context
        created, errors = await attempt(
            context,
            lambda: service.create_store(
                context.session,
                context.tenant_id,
                code=input.code,
                name=input.name,
                timezone=input.timezone,
            ),
        )
        return CreateStorePayload(store=Store.of(created) if created else None, user_errors=errors)

    @mutation(
        policy.MANAGE_STORE,
        description="Rename a store or change its time zone (its code stays); backends "
        "subscribed to store.store_changed receive the new record. Codes: INVALID_ID, "
        "STORE_NOT_FOUND, INVALID_NAME, INVALID_TIMEZONE.",
    )
    async def update_store(self, info: Ctx, input: UpdateStoreInput) -> UpdateStorePayload:
        context = info.context
        updated, errors = await attempt(
            context,
            lambda: service.update_store(
                context.session,
                context.tenant_id,
                parse_id(input.id, ["input", "id"]),
                name=input.name,
                timezone=input.timezone,
            ),
        )
        return UpdateStorePayload(store=Store.of(updated) if updated else None, user_errors=errors)
