"""Value types shared by every subgraph (``@shareable``, identical everywhere)."""

from __future__ import annotations

import strawberry

from kernel.errors import UserInputError
from kernel.money import Money as MoneyValue


@strawberry.federation.type(shareable=True, description="A fixable problem with the input.")
class UserError:
    field: list[str] | None = strawberry.field(
        description='Path to the input field at fault, e.g. ["input", "lines", "0"].'
    )
    message: str
    code: str = strawberry.field(description="Stable machine-readable code.")

    @classmethod
    def from_error(cls, error: UserInputError) -> UserError:
        return cls(field=error.field, message=error.message, code=error.code)


@strawberry.federation.type(
    shareable=True, description="An amount in minor units (分) of an ISO 4217 currency."
)
class Money:
    amount: int = strawberry.field(description="Integer minor units, e.g. 1250 = ¥12.50.")
    currency: str

    @classmethod
    def of(cls, value: MoneyValue) -> Money:
        return cls(amount=value.amount, currency=value.currency)


@strawberry.federation.type(shareable=True, description="Relay cursor pagination state.")
class PageInfo:
    has_next_page: bool
    has_previous_page: bool
    start_cursor: str | None
    end_cursor: str | None
