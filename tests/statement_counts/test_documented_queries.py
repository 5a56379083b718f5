"""How many SQL statements each documented query sends, and that it does not grow with
the page (Saleor's ``count_queries``).

Every query of ``docs/tour.md`` (run as the role its ``# as:`` line names, with the
variables the tour gives it), of ``docs/api.md``, of the README and of the read bench
(``bench/read_pages.py``: the pages of issue 18) is sent twice with
every ``first:`` of the document set to 5, then to 50, on a brand where every such list
holds more than 5 items (``conftest.py``). Both must send exactly the count below.

Counted: every statement on the database, SQLAlchemy's and the hot ones sent through
asyncpg (``kernel.prepared``), the request's RLS binding included; not ``BEGIN`` and
``COMMIT``. Each query is sent once before it is counted, so the count is a warm
request's: the first request of a tenant also loads its access policy.

When a change sends fewer statements, lower the number here. A query marked
``xfail(strict=True)`` sends more statements for a bigger page today (an N+1): the mark
says which field, and the test fails as soon as that is fixed, so the mark goes.
"""

from __future__ import annotations

import ast
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import gql
from tests.sql_statements import statements_sent
from tests.statement_counts.conftest import Brand
from tests.test_tour import BLOCK, CAPTURE, Step, _variables, tour_steps

ROOT = Path(__file__).resolve().parents[2]
PAGE_SIZE = re.compile(r"\bfirst: \d+")

# Statements per warm request, the same at first: 5 and first: 50.
EXPECTED: dict[str, int] = {
    # docs/tour.md, by operation name
    "Stores": 2,
    "Menu": 5,
    "Search": 5,
    "Me": 7,
    "PreviewCart": 9,
    "BadCoupon": 8,
    "MyOrders": 2,
    "StoreOrders": 2,
    "AfterRefund": 2,
    "TillOrders": 2,
    # docs/api.md ("Lists")
    "api.md orders page": 2,
    # README.md (the curl example)
    "README stores and products": 4,
    # bench/read_pages.py (make bench-read), the pages of issue 18
    "bench menu": 2,
    "bench orders (staff)": 2,
    "bench orders (customer)": 2,
    "bench product detail": 8,
    "bench order detail": 9,
}
# Queries whose count grows with the page today: name -> the field to blame.
GROWS_WITH_PAGE: dict[str, str] = {}


@dataclass(frozen=True)
class Documented:
    name: str
    role: str
    query: str
    step: Step | None  # the tour step (its variables), None outside the tour
    expect: str | None = None  # the error code the page shows
    variables: tuple[tuple[str, str], ...] = ()  # outside the tour: (variable, captured key)


# The read bench's pages (bench/read_pages.py): constant -> (name, role, variables).
BENCH_PAGES = {
    "MENU": ("bench menu", "tenant_admin", (("store", "storeId"),)),
    "ORDERS": ("bench orders (staff)", "tenant_admin", ()),
    "PRODUCT_DETAIL": (
        "bench product detail",
        "tenant_admin",
        (("id", "productId"), ("store", "storeId")),
    ),
    "ORDER_DETAIL": ("bench order detail", "tenant_admin", (("id", "orderId"),)),
}


def bench_queries() -> dict[str, str]:
    """The page queries of the read bench, read from its source (not imported: it is a
    script with its own imports)."""
    tree = ast.parse((ROOT / "bench" / "read_pages.py").read_text(encoding="utf-8"))
    return {
        node.targets[0].id: node.value.value
        for node in tree.body
        if isinstance(node, ast.Assign)
        and isinstance(node.targets[0], ast.Name)
        and node.targets[0].id in BENCH_PAGES
        and isinstance(node.value, ast.Constant)
    }


def documented() -> list[Documented]:
    found = [
        Documented(step.name, step.role, step.query, step, step.expect)
        for step in tour_steps()
        if re.search(r"^query ", step.query, re.MULTILINE)
    ]
    api = [
        body
        for kind, body in BLOCK.findall((ROOT / "docs" / "api.md").read_text(encoding="utf-8"))
        if kind == "graphql"
    ]
    assert len(api) == 1, "docs/api.md shows one query: name the new one in EXPECTED"
    found.append(Documented("api.md orders page", "tenant_admin", api[0], None))
    readme = re.findall(
        r'"query":"((?:[^"\\]|\\.)*)"', (ROOT / "README.md").read_text(encoding="utf-8")
    )
    assert len(readme) == 1, "README.md shows one query: name the new one in EXPECTED"
    found.append(
        Documented("README stores and products", "tenant_admin", json.loads(f'"{readme[0]}"'), None)
    )
    bench = bench_queries()
    assert set(bench) == set(BENCH_PAGES), "bench/read_pages.py: a page query was renamed"
    for constant, (name, role, variables) in BENCH_PAGES.items():
        found.append(Documented(name, role, bench[constant], None, variables=variables))
    # The bench reads the orders page as a customer too (only their own orders).
    found.append(Documented("bench orders (customer)", "customer", bench["ORDERS"], None))
    return found


DOCUMENTED = {d.name: d for d in documented()}


async def _captured(brand: Brand) -> dict[str, Any]:
    """What the tour's later steps take from earlier answers, taken the same way; the
    order the tour's refund step reads is one of the customer's."""
    if not brand.captured:
        for step in tour_steps():
            if step.name in ("Stores", "Menu", "Me"):
                body = await gql(brand.client, await brand.token(step.role), step.query)
                brand.captured.update(CAPTURE[step.name](body["data"]))
        brand.captured["orderId"] = brand.ids["Order"][0]
        body = await gql(
            brand.client,
            await brand.token("tenant_admin"),
            "query($id: ID!) { sku(id: $id) { product { id } } }",
            {"id": brand.captured["skuBeefRegular"]},
        )
        brand.captured["productId"] = body["data"]["sku"]["product"]["id"]
    return brand.captured


def _items(value: Any) -> int:
    """How many list items an answer holds, at any depth."""
    if isinstance(value, list):
        return len(value) + sum(_items(item) for item in value)
    if isinstance(value, dict):
        return sum(_items(item) for item in value.values())
    return 0


async def _count(brand: Brand, page: Documented, first: int) -> tuple[int, int]:
    """(statements sent, list items answered) at ``first``."""
    query = PAGE_SIZE.sub(f"first: {first}", page.query)
    captured = await _captured(brand)
    variables = (
        _variables(page.step, captured)
        if page.step
        else {name: captured[key] for name, key in page.variables}
    )
    token = await brand.token(page.role)
    await gql(brand.client, token, query, variables)  # warm: policy, prepared statements
    with statements_sent(brand.runtime.db) as statements:
        body = await gql(brand.client, token, query, variables)
    codes = [e.get("extensions", {}).get("code") for e in body.get("errors", [])]
    assert codes == ([page.expect] if page.expect else []), body
    return len(statements), _items(body.get("data"))


def test_every_documented_query_has_a_count() -> None:
    assert set(EXPECTED) == set(DOCUMENTED)
    assert set(GROWS_WITH_PAGE) <= set(EXPECTED)


def _cases() -> list[Any]:
    return [
        pytest.param(
            name,
            marks=[
                pytest.mark.xfail(strict=True, raises=GrowsWithPage, reason=GROWS_WITH_PAGE[name])
            ]
            if name in GROWS_WITH_PAGE
            else [],
            id=name,
        )
        for name in EXPECTED
    ]


class GrowsWithPage(AssertionError):
    """More statements at first: 50 than at first: 5 (what an xfail above expects)."""


@pytest.mark.parametrize("name", _cases())
async def test_statements_per_documented_query(brand: Brand, name: str) -> None:
    page = DOCUMENTED[name]
    (small, few), (large, many) = await _count(brand, page, 5), await _count(brand, page, 50)
    assert small == EXPECTED[name], f"{name}: {small} statements at first: 5"
    if PAGE_SIZE.search(page.query):  # the bigger page must hold more, or this proves nothing
        assert many > few, f"{name}: {few} items at first: 5, {many} at first: 50"
    if large != small:
        raise GrowsWithPage(f"{name}: {small} statements at first: 5, {large} at first: 50")
