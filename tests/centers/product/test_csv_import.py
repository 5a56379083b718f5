"""Bulk import from CSV: row-by-row validation, rejected-row report, re-import updates,
and the ``import-products`` command with its progress line."""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from kernel.db import Database
from kernel.settings import Settings
from schema.cli import IMPORT_PRODUCTS
from tests.conftest import TenantFixture, gql

IMPORT = """
mutation($input: ImportProductsInput!) {
  importProducts(input: $input) {
    rows created updated rejected { line column code } userErrors { field code }
  }
}
"""
HEADER = (
    "product_code,product_name,sku_code,sku_name,price,category,specs,attributes,images,channels\n"
)
MENU = HEADER + (
    "P1,Beef noodle soup,P1-L,Large,28.00,Noodles/Soup,size=L,origin=Lanzhou,https://i.example/1.jpg,mini_program;meituan\n"
    "P1,Beef noodle soup,P1-S,Small,22,Noodles/Soup,size=S,,,\n"
    "P2,Milk tea,P2-M,Medium,9.999,Drinks,,,,\n"  # three decimals
    "P3,,P3-1,Cola,5,Drinks,,,,\n"  # no product name
    "P4,Lemon tea,P1-L,Lemon,6,Drinks,,,,\n"  # SKU code of another product
    "P5,Green tea,P5-1,Green,6,Drinks,size,,,\n"  # spec without a value
    "P6,Iced tea,P6-1,Iced,6,Drinks,,,,Meituan!\n"  # bad channel
)
PRODUCTS = """
{ searchProducts(first: 5) { edges { node { name category { name parent { name } }
  skus { code price { amount } specs { value } } listings { channel onSale } } } } }
"""


async def test_import_applies_good_rows_and_reports_the_rest(
    client: httpx.AsyncClient, tenant: TenantFixture
) -> None:
    token = await tenant.token("tenant_admin")
    body = await gql(client, token, IMPORT, {"input": {"csv": MENU}})
    report = body["data"]["importProducts"]
    assert (report["rows"], report["created"], report["updated"]) == (7, 1, 1)
    assert report["rejected"] == [
        {"line": 4, "column": "price", "code": "INVALID_PRICE"},
        {"line": 5, "column": "product_name", "code": "INVALID_NAME"},
        {"line": 6, "column": "sku_code", "code": "SKU_CODE_TAKEN"},
        {"line": 7, "column": "specs", "code": "INVALID_SPEC"},
        {"line": 8, "column": "channels", "code": "INVALID_CHANNEL"},
    ]
    products = (await gql(client, token, PRODUCTS))["data"]["searchProducts"]["edges"]
    assert len(products) == 1  # rejected rows left nothing behind (no product, no category)
    noodles = products[0]["node"]
    assert noodles["category"] == {"name": "Soup", "parent": {"name": "Noodles"}}
    assert [(s["code"], s["price"]["amount"]) for s in noodles["skus"]] == [
        ("P1-L", 2800),
        ("P1-S", 2200),
    ]
    assert {x["channel"] for x in noodles["listings"] if x["onSale"]} == {"meituan", "mini_program"}


async def test_reimporting_updates_prices_in_place(
    client: httpx.AsyncClient, tenant: TenantFixture
) -> None:
    token = await tenant.token("tenant_admin")
    await gql(client, token, IMPORT, {"input": {"csv": MENU}})
    again = HEADER + "P1,Beef noodle soup,P1-L,Large,30.50,Noodles/Soup,size=L,,,\n"
    body = await gql(client, token, IMPORT, {"input": {"csv": again}})
    assert body["data"]["importProducts"]["updated"] == 1
    products = (await gql(client, token, PRODUCTS))["data"]["searchProducts"]["edges"]
    prices = {s["code"]: s["price"]["amount"] for s in products[0]["node"]["skus"]}
    assert prices == {"P1-L": 3050, "P1-S": 2200}


async def test_a_file_without_the_required_columns_is_refused(
    client: httpx.AsyncClient, tenant: TenantFixture
) -> None:
    body = await gql(
        client,
        await tenant.token("tenant_admin"),
        IMPORT,
        {"input": {"csv": "name,price\nTea,5\n"}},
    )
    assert body["data"]["importProducts"]["userErrors"] == [
        {"field": ["input", "csv"], "code": "MISSING_COLUMN"}
    ]


async def test_the_cli_imports_in_batches_with_progress(
    tenant: TenantFixture,
    db: Database,
    settings: Settings,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    rows = "".join(f"C{i},Dish {i},C{i}-1,Dish {i},{i}.50,Menu,,,,pos\n" for i in range(120))
    path = tmp_path / "menu.csv"
    path.write_text("\ufeff" + HEADER + rows + "C999,,X,Y,1,,,,,\n", encoding="utf-8")
    args = argparse.Namespace(file=path, tenant=tenant.slug, batch=50)
    assert await IMPORT_PRODUCTS.run(settings, db, args) == 1  # one row rejected
    out = capsys.readouterr()
    assert "imported 121 of ~121 rows (100%)" in out.err
    assert "121 rows: 120 created a product, 0 updated one, 1 rejected" in out.out
    assert "line 122, product_name: INVALID_NAME" in out.out
    async with db.unit_of_work(tenant.id) as session:
        from centers.product import api as product_api

        assert (await product_api.sku_by_code(session, tenant.id, "C119-1")) is not None


def test_the_zhongtai_command_imports_a_file(
    tenant: TenantFixture, database_url: str, tmp_path: Path
) -> None:
    path = tmp_path / "menu.csv"
    path.write_text(HEADER + "CLI1,Dish,CLI1-1,Dish,3.50,,,,,\nCLI2,,CLI2-1,X,1,,,,,\n")
    env = {
        **os.environ,
        "ZHONGTAI_DATABASE_URL": database_url,
        "ZHONGTAI_ENVIRONMENT": "test",
        "ZHONGTAI_JOBS_ENABLED": "false",
    }
    run = subprocess.run(  # noqa: S603 - our own interpreter and CLI
        [
            sys.executable,
            "-c",
            "from schema.cli import main; main()",
            "import-products",
            str(path),
            "--tenant",
            tenant.slug,
        ],
        cwd=Path(__file__).resolve().parents[3],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert run.returncode == 1, run.stderr  # one row was rejected
    assert "imported 2 of ~2 rows (100%)" in run.stderr
    assert "2 rows: 1 created a product, 0 updated one, 1 rejected" in run.stdout
    assert "line 3, product_name: INVALID_NAME" in run.stdout
    missing = subprocess.run(  # noqa: S603
        [
            sys.executable,
            "-c",
            "from schema.cli import main; main()",
            "import-products",
            str(path),
            "--tenant",
            "no-such-brand",
        ],
        cwd=Path(__file__).resolve().parents[3],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert missing.returncode == 2 and "no tenant 'no-such-brand'" in missing.stderr
