"""docs/orders.md shows every order type's and after-sale kind's machine as defined."""

from __future__ import annotations

from pathlib import Path

from centers.order.machine import MACHINES
from centers.order.machine.refunds import REFUND_MACHINES
from centers.order.machine.tables import transitions_table, views_table

DOC = Path(__file__).resolve().parents[3] / "docs" / "orders.md"


def test_the_orders_doc_shows_every_machine_as_defined() -> None:
    text = DOC.read_text()
    for machine in [*MACHINES.values(), *REFUND_MACHINES.values()]:
        assert f"### {machine.order_type}" in text
        assert transitions_table(machine) in text, f"update the {machine.order_type} table"
        assert views_table(machine) in text, f"update the {machine.order_type} views"
