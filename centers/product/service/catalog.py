"""Categories, channel listing (上下架), channel and store prices, member prices, search."""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping, Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from centers.product import repository
from centers.product.dto import (
    CategoryInfo,
    ListingInfo,
    PriceQuote,
    ProductInfo,
    SkuInfo,
    SkuPriceInfo,
)
from centers.product.ports import MemberPricing
from centers.product.service.products import check_price
from centers.store import api as store_api
from kernel.errors import UserInputError
from kernel.graphql.pagination import PageRequest
from kernel.ids import new_id
from kernel.money import Money
from kernel.text import required_text

# Sales channel codes, e.g. mini_program, app, pos, meituan, eleme.
CHANNEL = re.compile(r"^[a-z][a-z0-9_]{0,31}$")
WORD = re.compile(r"\w+")
MAX_TERMS = 8

# The member center fills this at start-up (``api.set_member_pricing``); without it
# quotes carry no member price.
_member_pricing: list[MemberPricing] = []


def member_pricing() -> MemberPricing | None:
    return _member_pricing[0] if _member_pricing else None


def set_member_pricing(provider: MemberPricing | None) -> None:
    _member_pricing.clear()
    if provider is not None:
        _member_pricing.append(provider)


def check_channel(channel: str, field: Sequence[str]) -> str:
    """The channel's code as stored here (lower case). Codes are case-insensitive
    because the order center names channels in upper case (``MINI_PROGRAM``)."""
    code = channel.lower()
    if not CHANNEL.match(code):
        raise UserInputError(
            "channel must be a code of 1-32 letters, digits or '_'",
            code="INVALID_CHANNEL",
            field=list(field),
        )
    return code


async def create_category(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    *,
    name: str,
    parent_id: uuid.UUID | None,
    position: int = 0,
) -> CategoryInfo:
    name = required_text(
        name, label="name", max_length=100, code="INVALID_NAME", field=["input", "name"]
    )
    if "/" in name:
        raise UserInputError(
            "a category name cannot hold '/'", code="INVALID_NAME", field=["input", "name"]
        )
    if parent_id is not None and not await repository.categories_by_ids(
        session, tenant_id, [parent_id]
    ):
        raise UserInputError(
            "parent category not found", code="CATEGORY_NOT_FOUND", field=["input", "parentId"]
        )
    value = CategoryInfo(id=new_id(), parent_id=parent_id, name=name, position=position)
    if not await repository.insert_category(session, tenant_id, value):
        raise UserInputError(
            f"a category {name!r} exists at this level",
            code="CATEGORY_NAME_TAKEN",
            field=["input", "name"],
        )
    return value


async def category_by_path(
    session: AsyncSession, tenant_id: uuid.UUID, path: str, field: Sequence[str]
) -> CategoryInfo:
    """The category at ``Drinks/Tea``, creating missing levels (CSV import)."""
    parent: CategoryInfo | None = None
    names = [n.strip() for n in path.split("/")]
    if not names or len(names) > 5 or not all(names):
        raise UserInputError(
            "category path must be 1-5 names separated by '/'",
            code="INVALID_CATEGORY",
            field=list(field),
        )
    for name in names:
        parent_id = parent.id if parent else None
        found = await repository.category_by_name(session, tenant_id, parent_id, name)
        if found is None:
            if len(name) > 100:
                raise UserInputError(
                    "category names are at most 100 characters",
                    code="INVALID_CATEGORY",
                    field=list(field),
                )
            found = CategoryInfo(id=new_id(), parent_id=parent_id, name=name, position=0)
            if not await repository.insert_category(session, tenant_id, found):
                found = await repository.category_by_name(session, tenant_id, parent_id, name)
                if found is None:
                    raise RuntimeError("category vanished")
        parent = found
    assert parent is not None
    return parent


def descendants(tree: Sequence[CategoryInfo], root: uuid.UUID) -> list[uuid.UUID]:
    """``root`` and every category below it."""
    children: dict[uuid.UUID | None, list[uuid.UUID]] = {}
    for item in tree:
        children.setdefault(item.parent_id, []).append(item.id)
    found, todo = [], [root]
    while todo:
        current = todo.pop()
        found.append(current)
        todo.extend(children.get(current, []))
    return found


async def set_listing(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    *,
    product_id: uuid.UUID,
    channel: str,
    on_sale: bool,
) -> ListingInfo:
    channel = check_channel(channel, ["input", "channel"])
    if not await repository.products_by_ids(session, tenant_id, [product_id]):
        raise UserInputError(
            "product not found", code="PRODUCT_NOT_FOUND", field=["input", "productId"]
        )
    value = ListingInfo(product_id=product_id, channel=channel, on_sale=on_sale)
    await repository.upsert_listing(session, tenant_id, value)
    return value


async def set_sku_price(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    *,
    sku_id: uuid.UUID,
    channel: str | None,
    store_id: uuid.UUID | None,
    price_amount: int | None,
) -> SkuPriceInfo | None:
    """Set (or with ``price_amount=None`` remove) the SKU's price in a channel and/or store."""
    if channel is None and store_id is None:
        raise UserInputError(
            "give a channel, a store or both (the list price is the SKU's own)",
            code="NO_SCOPE",
            field=["input", "channel"],
        )
    if channel is not None:
        channel = check_channel(channel, ["input", "channel"])
    if store_id is not None and await store_api.get_store(session, tenant_id, store_id) is None:
        raise UserInputError("store not found", code="STORE_NOT_FOUND", field=["input", "storeId"])
    skus = await repository.skus_by_ids(session, tenant_id, [sku_id])
    if not skus:
        raise UserInputError("SKU not found", code="SKU_NOT_FOUND", field=["input", "skuId"])
    if price_amount is None:
        await repository.delete_sku_price(session, tenant_id, sku_id, channel, store_id)
        return None
    value = SkuPriceInfo(
        sku_id=sku_id,
        channel=channel,
        store_id=store_id,
        price=Money(check_price(price_amount, ["input", "price"]), skus[0].price.currency),
    )
    await repository.upsert_sku_price(session, tenant_id, value)
    return value


def pick_price(
    list_price: Money,
    overrides: Sequence[SkuPriceInfo],
    channel: str | None,
    store_id: uuid.UUID | None,
) -> Money:
    """The most specific override: channel and store, then store, then channel.
    Channel codes compare case-insensitively (the order center says ``MINI_PROGRAM``)."""
    wanted = channel.lower() if channel else None
    best: tuple[int, Money] | None = None
    for item in overrides:
        if item.channel is not None and item.channel != wanted:
            continue
        if item.store_id is not None and item.store_id != store_id:
            continue
        rank = (2 if item.store_id is not None else 0) + (1 if item.channel is not None else 0)
        if best is None or rank > best[0]:
            best = (rank, item.price)
    return best[1] if best else list_price


async def quote(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    sku_ids: Sequence[uuid.UUID],
    *,
    channel: str | None = None,
    store_id: uuid.UUID | None = None,
    member_id: uuid.UUID | None = None,
    known: Mapping[uuid.UUID, SkuInfo] | None = None,
) -> dict[uuid.UUID, PriceQuote]:
    wanted = set(sku_ids)
    skus = (
        [known[i] for i in wanted if i in known]
        if known is not None and wanted <= known.keys()
        else await repository.skus_by_ids(session, tenant_id, list(wanted))
    )
    overrides: dict[uuid.UUID, list[SkuPriceInfo]] = {}
    for item in await repository.prices_by_skus(session, tenant_id, [s.id for s in skus]):
        overrides.setdefault(item.sku_id, []).append(item)
    prices = {s.id: pick_price(s.price, overrides.get(s.id, []), channel, store_id) for s in skus}
    member: dict[uuid.UUID, Money] = {}
    if member_id is not None and _member_pricing and prices:
        member = dict(await _member_pricing[0].member_prices(session, tenant_id, member_id, prices))
    return {
        s.id: PriceQuote(
            sku_id=s.id, list_price=s.price, price=prices[s.id], member_price=member.get(s.id)
        )
        for s in skus
    }


def search_terms(text: str | None) -> tuple[str, ...]:
    terms = tuple(WORD.findall((text or "").lower()))
    if len(terms) > MAX_TERMS:
        raise UserInputError(
            f"at most {MAX_TERMS} search words", code="INVALID_QUERY", field=["query"]
        )
    return terms


async def search(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    *,
    text: str | None,
    category_id: uuid.UUID | None,
    min_price: int | None,
    max_price: int | None,
    channel: str | None,
    on_sale: bool | None,
    page: PageRequest,
) -> list[ProductInfo]:
    """Products by words (prefix match), category (with sub-categories), list price
    range, and listing in a channel."""
    if channel is not None:
        channel = check_channel(channel, ["channel"])
    for name, bound in (("minPrice", min_price), ("maxPrice", max_price)):
        if bound is not None and bound < 0:
            raise UserInputError(
                "price bounds must not be negative", code="INVALID_PRICE", field=[name]
            )
    categories: tuple[uuid.UUID, ...] = ()
    if category_id is not None:
        tree = await repository.list_categories(session, tenant_id)
        if not any(c.id == category_id for c in tree):
            return []
        categories = tuple(descendants(tree, category_id))
    where = repository.SearchFilter(
        terms=search_terms(text),
        category_ids=categories,
        min_price=min_price,
        max_price=max_price,
        channel=channel,
        on_sale=on_sale if on_sale is not None else (True if channel is not None else None),
    )
    return await repository.search_products(session, tenant_id, where, page)
