"""docs/tour.md runs as written: every ``graphql`` block, in order, on the demo brand.

A block's first line ``# as: <role>`` names whose token it uses (the subject the CLI's
``zhongtai token --role <role>`` mints for; ``<role>@<store code>`` for the role held at
that store only, as ``--store`` mints); an optional ``# expect: <CODE>`` line says it
shows an error with that code; a ``json`` block right after it holds its variables, where ``"{{name}}"`` stands for a value an earlier answer gave (CAPTURE).
CHECK asserts the key values the page states.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from graphql import parse, validate

from centers.store import api as store_api
from kernel.app import Runtime
from schema.demo import seed_demo
from schema.subgraphs import composed_schema
from tests.conftest import TenantFixture, gql

TOUR = Path(__file__).resolve().parents[1] / "docs" / "tour.md"
BLOCK = re.compile(r"```(graphql|json)\n(.*?)```", re.DOTALL)
PLACEHOLDER = re.compile(r'"\{\{(\w+)\}\}"')
Data = dict[str, Any]


@dataclass
class Step:
    name: str
    role: str
    query: str
    variables: str | None
    expect: str | None = None

    @property
    def query_only(self) -> bool:
        """Reads only, so it may be sent twice."""
        return re.search(r"^query ", self.query, re.MULTILINE) is not None


def tour_steps() -> list[Step]:
    steps: list[Step] = []
    for kind, text in BLOCK.findall(TOUR.read_text(encoding="utf-8")):
        if kind == "json":
            if steps and steps[-1].variables is None:
                steps[-1].variables = text
            continue
        # "# as: cashier", or "# as: cashier@SH-002" for the role held at that store only.
        role = re.match(r"# as: ([\w@-]+)\n", text)
        name = re.search(r"^(?:query|mutation) (\w+)", text, re.MULTILINE)
        assert role and name, f"a tour operation needs '# as: <role>' and a name:\n{text}"
        expect = re.search(r"^# expect: (\w+)$", text, re.MULTILINE)
        steps.append(
            Step(name.group(1), role.group(1), text, None, expect.group(1) if expect else None)
        )
    return steps


def _edges(connection: Data) -> list[Data]:
    return [edge["node"] for edge in connection["edges"]]


def _sku(data: Data, code: str) -> str:
    for product in _edges(data["products"]):
        for sku in product["skus"]:
            if sku["code"] == code:
                return str(sku["id"])
    raise AssertionError(f"no SKU {code} in the menu")


def _line(data: Data, code: str) -> Data:
    line: Data = next(x for x in data["placeOrder"]["order"]["lines"] if x["skuCode"] == code)
    return line


CAPTURE: dict[str, Callable[[Data], Data]] = {
    "Stores": lambda d: {
        "storeId": next(s["id"] for s in _edges(d["stores"]) if s["code"] == "SH-001")
    },
    "Menu": lambda d: {
        "skuBeefRegular": _sku(d, "BEEF-R"),
        "skuBeefLarge": _sku(d, "BEEF-L"),
        "skuDumplings": _sku(d, "JIANJIAO"),
        "skuLemonTea": _sku(d, "LEMONTEA"),
    },
    "Me": lambda d: {
        "memberId": d["myMembership"]["id"],
        "couponCode": _edges(d["myCoupons"])[0]["code"],
    },
    "PlaceOrderAgain": lambda d: {"replayedOrderId": d["placeOrder"]["order"]["id"]},
    "AskRefund": lambda d: {"refundId": d["requestAfterSale"]["afterSale"]["id"]},
    "PlaceOrder": lambda d: {
        "orderId": d["placeOrder"]["order"]["id"],
        "lemonTeaLineNo": _line(d, "LEMONTEA")["lineNo"],
    },
}


def _check_preview(d: Data) -> None:
    preview = d["previewOrder"]
    assert (preview["listAmount"]["amount"], preview["payable"]["amount"]) == (11300, 8500)
    # exactly the lines docs/tour.md shows
    assert "\n".join(preview["explanation"]) in TOUR.read_text(encoding="utf-8")
    sources = {x["source"] for line in preview["lines"] for x in line["discounts"]}
    assert sources == {"PROMOTION", "COUPON"}
    assert sum(line["payable"]["amount"] for line in preview["lines"]) == 8500


def _check_kitchen(d: Data) -> None:
    assert [d[k]["order"]["status"] for k in ("accept", "prepare", "ready")] == [
        "ACCEPTED",
        "PREPARING",
        "READY",
    ]
    assert d["ready"]["order"]["pickupCode"]
    assert "SERVE" in d["ready"]["order"]["availableEvents"]


def _check_serve(d: Data) -> None:
    order = d["transitionOrder"]["order"]
    assert order["status"] == "SERVED"
    assert [h["toStatus"] for h in order["history"]][-6:] == [
        "PLACED",
        "PAID",
        "ACCEPTED",
        "PREPARING",
        "READY",
        "SERVED",
    ]


def _check_store_orders(d: Data) -> None:
    orders = _edges(d["orders"])
    assert len(orders) >= 4  # the tour's and the three demo orders
    assert {"SERVED", "ACCEPTED", "CANCELLED"} <= {o["status"] for o in orders}


def _check_ask_refund(d: Data) -> None:
    request = d["requestAfterSale"]["afterSale"]
    assert request["status"] == "REQUESTED"
    assert request["statusViews"] == {"buyer": "WAITING_FOR_MERCHANT", "merchant": "TO_DECIDE"}
    assert 0 < request["amount"]["amount"] < 1500  # the tea's share of the discounts stays


def _check_after_refund(d: Data) -> None:
    order = d["order"]
    assert order["paid"]["amount"] == 8500
    tea = next(x for x in order["lines"] if x["skuCode"] == "LEMONTEA")
    assert tea["refunded"]["amount"] == tea["payable"]["amount"] == order["refunded"]["amount"]
    assert order["status"] == "SERVED"


CHECK: dict[str, Callable[[Data], None]] = {
    "Menu": lambda d: assert_true(len(d["categories"]) == 4 and len(_edges(d["products"])) == 10),
    "Search": lambda d: assert_true(
        len(_edges(d["noodles"])) == 3
        and [p["name"] for p in _edges(d["beef"])] == ["红烧牛肉面 Braised beef noodles"]
        and (d["sku"]["price"]["amount"], d["sku"]["miniProgram"]["amount"]) == (3200, 3000)
    ),
    "Me": lambda d: assert_true(
        d["myMembership"]["displayName"] == "李雷 Li Lei" and d["myPoints"]["balance"] >= 2000
    ),
    "PreviewCart": _check_preview,
    "PlaceOrder": lambda d: assert_true(
        d["placeOrder"]["order"]["status"] == "PLACED"
        and d["placeOrder"]["order"]["total"]["amount"] == 8500
        and d["placeOrder"]["order"]["statusViews"] == {"buyer": "TO_PAY", "merchant": "UNPAID"}
        and "CANCEL" in d["placeOrder"]["order"]["availableEvents"]
    ),
    "PayCash": lambda d: assert_true(
        d["recordCashPayment"]["payment"]["status"] == "SUCCEEDED"
        and d["recordCashPayment"]["payment"]["order"]["status"] == "PAID"
    ),
    "PlaceOrderAgain": lambda d: assert_true(d["placeOrder"]["replayed"] is True),
    "Kitchen": _check_kitchen,
    "Serve": _check_serve,
    "MyOrders": lambda d: assert_true(
        # their app order and the till order placed for their membership (decision 0113)
        [o["total"]["amount"] for o in _edges(d["orders"])] == [8500, 8660]
    ),
    "StoreOrders": _check_store_orders,
    "AskRefund": _check_ask_refund,
    "ApproveRefund": lambda d: assert_true(
        d["transitionAfterSale"]["afterSale"]["status"] == "REFUNDED"
    ),
    "AfterRefund": _check_after_refund,
    "TillOrders": lambda d: assert_true(
        len(_edges(d["products"])) == 3 and _edges(d["orders"]) == []
    ),
}


async def _token(demo: TenantFixture, role: str) -> str:
    """The dev subject's token; ``cashier@SH-002``: the role held at that store only."""
    name, _, store_code = role.partition("@")
    subject = f"dev-{name.replace('_', '-')}"
    if not store_code:
        return await demo.token(name, sub=subject)
    async with demo.runtime.db.unit_of_work() as session:
        store = await store_api.store_by_code(session, demo.id, store_code)
    assert store is not None, f"no demo store {store_code}"
    return await demo.store_token(name, store.id, sub=f"{subject}-{store_code.lower()}")


def _answer(body: Data) -> tuple[Any, list[Any]]:
    """What two servers must agree on: the data and each error's code and path."""
    codes = [(e.get("extensions", {}).get("code"), e.get("path")) for e in body.get("errors", [])]
    return body.get("data"), codes


def assert_true(condition: bool) -> None:
    assert condition


def _variables(step: Step, captured: Data) -> Data | None:
    if step.variables is None:
        return None

    def fill(match: re.Match[str]) -> str:
        assert match.group(1) in captured, f"{step.name}: nothing captured {match.group(1)}"
        return json.dumps(captured[match.group(1)])

    filled: Data = json.loads(PLACEHOLDER.sub(fill, step.variables))
    return filled


def _user_errors(data: Data) -> list[Any]:
    return [
        error
        for payload in data.values()
        if isinstance(payload, dict)
        for error in payload.get("userErrors") or []
    ]


def test_every_tour_operation_is_named_and_checked() -> None:
    names = [step.name for step in tour_steps()]
    assert len(names) == len(set(names))
    assert set(CHECK) | set(CAPTURE) <= set(names)
    expecting = {step.name for step in tour_steps() if step.expect}
    assert expecting == {"BadCoupon", "AcceptTwice", "AcceptElsewhere"}
    assert [n for n in names if n not in CHECK and n not in CAPTURE and n not in expecting] == []


async def test_the_tour_runs_as_written(client: httpx.AsyncClient, runtime: Runtime) -> None:
    await run_tour(client, runtime)


async def run_tour(
    client: httpx.AsyncClient, runtime: Runtime, *, mirror: httpx.AsyncClient | None = None
) -> None:
    """Every operation of docs/tour.md, in order, on the demo brand of ``runtime``'s
    database (seeded here), checked as the page states. With ``mirror``, every query is
    also sent there, which must answer the same data and error codes (a gateway and the
    single process, say)."""
    async with runtime.db.unit_of_work() as session:
        summary = await seed_demo(session)
    demo = TenantFixture(
        id=summary.tenant_id, slug=summary.tenant_slug, runtime=runtime, settings=runtime.settings
    )
    # Every role granted before the first request: servers in other processes learn of
    # grants by NOTIFY, and the tour should not race it.
    tokens = {step.role: "" for step in tour_steps()}
    for role in tokens:
        tokens[role] = await _token(demo, role)
    captured: Data = {}
    errors_seen: dict[str, Data] = {}
    for step in tour_steps():
        variables = _variables(step, captured)
        body = await gql(client, tokens[step.role], step.query, variables)
        if mirror is not None and step.query_only:
            mirrored = await gql(mirror, tokens[step.role], step.query, variables)
            assert _answer(mirrored) == _answer(body), step.name
        if step.expect is not None:
            codes = [e["extensions"]["code"] for e in body.get("errors", [])]
            codes += [e["code"] for e in _user_errors(body.get("data") or {})]
            assert codes == [step.expect], (step.name, body)
            errors_seen[step.name] = body
            continue
        assert "errors" not in body, (step.name, body)
        data: Data = body["data"]
        assert _user_errors(data) == [], (step.name, data)
        if step.name in CAPTURE:
            captured.update(CAPTURE[step.name](data))
        if step.name in CHECK:
            CHECK[step.name](data)
    assert captured["replayedOrderId"] == captured["orderId"]
    bad_coupon = errors_seen["BadCoupon"]["errors"][0]["extensions"]
    # (A gateway adds its own keys, such as the failing subgraph's ``serviceName``.)
    assert {key: bad_coupon[key] for key in ("code", "field")} == {
        "code": "COUPON_NOT_FOUND",
        "field": ["input", "couponCodes", "0"],
    }


def test_readme_and_api_guide_examples_are_valid_operations() -> None:
    root = TOUR.parents[1]
    examples: list[str] = []
    for page in (root / "README.md", root / "docs" / "api.md"):
        text = page.read_text(encoding="utf-8")
        examples += [body for kind, body in BLOCK.findall(text) if kind == "graphql"]
        examples += [json.loads(f'"{q}"') for q in re.findall(r'"query":"((?:[^"\\]|\\.)*)"', text)]
    assert len(examples) >= 2
    for example in examples:
        assert validate(composed_schema(), parse(example)) == [], example


def test_links_of_the_newcomer_pages_lead_somewhere() -> None:
    root = TOUR.parents[1]
    pages = [
        root / "README.md",
        *(root / "docs" / n for n in ("api.md", "tour.md", "development.md")),
    ]
    checked = 0
    for page in pages:
        for target in re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", page.read_text(encoding="utf-8")):
            if target.startswith(("http://", "https://")):
                continue
            resolved = (page.parent / target).resolve()
            if resolved.is_relative_to(root):  # the shared design notes live outside the repo
                assert resolved.exists(), f"{page.name}: {target}"
                checked += 1
    assert checked >= 20
