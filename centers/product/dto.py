"""Frozen values the product center hands to other centers (re-exported by ``api``)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

from kernel.money import Money

# Attributes and specs are ordered (name, value) pairs: frozen, and stable to compare.
Pairs = tuple[tuple[str, str], ...]


@dataclass(frozen=True, slots=True)
class ProductInfo:
    id: uuid.UUID
    name: str
    description: str
    category_id: uuid.UUID | None = None
    attributes: Pairs = ()
    images: tuple[str, ...] = ()
    external_code: str | None = None


@dataclass(frozen=True, slots=True)
class SkuInfo:
    id: uuid.UUID
    product_id: uuid.UUID
    code: str
    name: str
    price: Money  # list price
    specs: Pairs = ()  # e.g. (("size", "L"), ("spice", "hot"))


@dataclass(frozen=True, slots=True)
class NewSku:
    code: str
    name: str
    price_amount: int
    specs: Pairs = ()


@dataclass(frozen=True, slots=True)
class CategoryInfo:
    id: uuid.UUID
    parent_id: uuid.UUID | None
    name: str
    position: int


@dataclass(frozen=True, slots=True)
class ListingInfo:
    product_id: uuid.UUID
    channel: str
    on_sale: bool


@dataclass(frozen=True, slots=True)
class SkuPriceInfo:
    """A price override; ``None`` channel or store means every channel or store."""

    sku_id: uuid.UUID
    channel: str | None
    store_id: uuid.UUID | None
    price: Money


@dataclass(frozen=True, slots=True)
class PriceQuote:
    """What one unit of a SKU costs in a channel and store, for a member if given.

    ``price`` is the channel/store price (list price if none is set); ``member_price``
    is what the member center's pricing said for this member (``None`` without a
    member, without a member-pricing provider, or when no benefit applies).
    """

    sku_id: uuid.UUID
    list_price: Money
    price: Money
    member_price: Money | None = None

    @property
    def payable(self) -> Money:
        """The lower of the price and the member price."""
        if self.member_price is not None and self.member_price.amount < self.price.amount:
            return self.member_price
        return self.price


@dataclass(frozen=True, slots=True)
class UpsertOutcome:
    """An upsert by external code: ``applied`` is False for a stale or repeated version."""

    applied: bool
    created: bool
    product: ProductInfo
    skus: tuple[SkuInfo, ...]


@dataclass(frozen=True, slots=True)
class RejectedRow:
    line: int  # 1-based line in the file, the header being line 1
    column: str | None
    code: str
    message: str


@dataclass(frozen=True, slots=True)
class ImportReport:
    rows: int
    created: int  # products created
    updated: int  # rows applied to existing products
    rejected: tuple[RejectedRow, ...] = field(default_factory=tuple)


@dataclass(frozen=True, slots=True)
class CartCatalog:
    """What pricing a cart needs of its SKUs, read in one statement: the SKUs found,
    each one's unit price in the cart's channel and store (``quote_prices``' rule, no
    member price), and each product's category (promotion scopes)."""

    skus: dict[uuid.UUID, SkuInfo]
    prices: dict[uuid.UUID, Money]
    categories: dict[uuid.UUID, uuid.UUID | None]
