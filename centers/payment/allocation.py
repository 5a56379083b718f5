"""Who paid what on which line, and how a refund splits over lines and tenders. Pure.

An order's payable is split over its lines (``line_amounts``). The tenders that paid it
are laid over the lines in the order they were captured, each by largest remainder over
what the lines still owe, so every cell (line, tender) is a whole number of minor units,
rows sum to line amounts and columns to tender amounts. A refund asks for amounts per
line; each line's amount is split over that line's tenders in proportion to what each can
still give back. Nothing can be refunded beyond what a tender paid on a line.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence

from kernel.errors import UserInputError
from kernel.money import allocate

Cell = tuple[uuid.UUID, uuid.UUID]  # (line id, tender payment id)


def paid_cells(
    line_amounts: Sequence[tuple[uuid.UUID, int]], tenders: Sequence[tuple[uuid.UUID, int]]
) -> dict[Cell, int]:
    owed = [amount for _, amount in line_amounts]
    cells: dict[Cell, int] = {}
    for payment_id, amount in tenders:
        left = sum(owed)
        take = min(amount, left)
        if take <= 0:
            break
        parts = allocate(take, owed)
        for index, part in enumerate(parts):
            if part:
                cells[(line_amounts[index][0], payment_id)] = part
                owed[index] -= part
    return cells


def split_refund(
    requested: Mapping[uuid.UUID, int],
    paid: Mapping[Cell, int],
    refunded: Mapping[Cell, int],
    tender_order: Sequence[uuid.UUID],
) -> dict[Cell, int]:
    """The cells a refund of ``requested`` (line → amount) takes from; raises
    ``UserInputError`` ``REFUND_EXCEEDS_PAID`` when a line cannot give that much back."""
    out: dict[Cell, int] = {}
    for line_id, amount in requested.items():
        field = ["input", "lines", str(line_id)]
        if amount <= 0:
            raise UserInputError(
                "a refund amount must be positive", code="INVALID_AMOUNT", field=field
            )
        room = [
            max(0, paid.get((line_id, p), 0) - refunded.get((line_id, p), 0)) for p in tender_order
        ]
        if amount > sum(room):
            raise UserInputError(
                f"line {line_id} can give back at most {sum(room)}",
                code="REFUND_EXCEEDS_PAID",
                field=field,
            )
        for payment_id, part in zip(tender_order, allocate(amount, room), strict=True):
            if part:
                out[(line_id, payment_id)] = part
    return out
