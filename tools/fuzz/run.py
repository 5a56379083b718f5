"""``make fuzz``: schemathesis in GraphQL mode against a real ``zhongtai serve``.

1. a fresh database on the embedded PostgreSQL (or ``TEST_DATABASE_URL``'s server),
   migrated and seeded with the demo brand;
2. ``zhongtai serve`` on a free loopback port, with a tenant admin token;
3. ``schemathesis run`` with the checks of ``zhongtai_checks.py`` only: any HTTP 5xx,
   any ``INTERNAL`` error, any stack trace or SQL text in a response is a finding;
   ids and strings are drawn partly from the demo's real rows so resolvers get past
   "not found";
4. a summary: findings by kind and operation, and the operations never exercised
   (every mutation and every query with an ID or String argument must be).

Exit status: 0 when nothing was found and every such operation was exercised.
``--short`` is the CI run (fixed seed, derandomized, bounded); the default is the long
run of docs/development.md.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections import Counter
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from graphql import GraphQLScalarType, build_client_schema, get_introspection_query
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
HERE = Path(__file__).resolve().parent


def server_url() -> str:
    configured = os.environ.get("TEST_DATABASE_URL")
    if configured:
        from kernel.db import to_asyncpg_url

        return to_asyncpg_url(configured)
    from kernel.embedded_postgres import start_embedded_postgres

    return start_embedded_postgres(ROOT / ".zhongtai" / "test")


async def _admin(url: str, sql: str) -> None:
    engine = create_async_engine(url, isolation_level="AUTOCOMMIT")
    try:
        async with engine.connect() as connection:
            await connection.execute(sa.text(sql))
    finally:
        await engine.dispose()


async def _sample_values(url: str, tenant_slug: str, per_table: int) -> dict[str, list[str]]:
    """Real ids and codes of the demo tenant: every ``id``/``*_id`` uuid column and
    every short text ``code``/``number``/``name``/``phone`` column, a few of each table."""
    engine = create_async_engine(url)
    ids: set[str] = set()
    strings: set[str] = set()
    try:
        async with engine.connect() as connection:
            tenant = await connection.scalar(
                sa.text("SELECT tenant_id FROM store.tenant WHERE slug = :slug"),
                {"slug": tenant_slug},
            )
            ids.add(str(tenant))
            columns = (
                await connection.execute(
                    sa.text(
                        "SELECT c.table_schema, c.table_name, c.column_name, c.data_type"
                        " FROM information_schema.columns c"
                        " JOIN information_schema.columns t ON t.table_schema = c.table_schema"
                        "  AND t.table_name = c.table_name AND t.column_name = 'tenant_id'"
                        " JOIN information_schema.tables tb ON tb.table_schema = c.table_schema"
                        "  AND tb.table_name = c.table_name AND tb.table_type = 'BASE TABLE'"
                        " WHERE c.table_schema NOT IN ('pg_catalog', 'information_schema')"
                        "  AND ((c.data_type = 'uuid' AND (c.column_name = 'id'"
                        "        OR c.column_name LIKE '%\\_id'))"
                        "   OR (c.data_type IN ('character varying', 'text')"
                        "       AND c.column_name IN ('code', 'number', 'name', 'phone',"
                        "        'slug', 'sku_code', 'coupon_code', 'tracking_number')))"
                        " ORDER BY 1, 2, 3"
                    )
                )
            ).all()
            for schema_name, table, column, data_type in columns:
                value = sa.column(column)
                rows = await connection.execute(
                    sa.select(value)
                    .distinct()
                    .select_from(sa.table(table, schema=schema_name))
                    .where(sa.column("tenant_id") == tenant, value.is_not(None))
                    .limit(per_table)
                )
                target = ids if data_type == "uuid" else strings
                target.update(str(value) for (value,) in rows if len(str(value)) <= 100)
    finally:
        await engine.dispose()
    ids.discard(str(None))
    return {"ids": sorted(ids), "strings": sorted(strings)}


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def zhongtai(env: dict[str, str], *args: str) -> str:
    done = subprocess.run(  # noqa: S603 - our own CLI
        [str(BIN / "zhongtai"), *args], env=env, cwd=ROOT, capture_output=True, text=True
    )
    if done.returncode != 0:
        raise SystemExit(f"zhongtai {' '.join(args)} failed:\n{done.stderr[-3000:]}")
    return done.stdout


def wait_ready(base: str, server: subprocess.Popen[bytes], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"zhongtai serve exited with {server.returncode}")
        try:
            with urllib.request.urlopen(base + "/ready", timeout=2) as answer:  # noqa: S310 - loopback
                if answer.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.3)
    raise SystemExit(f"zhongtai serve was not ready within {timeout:g}s")


def expected_operations(base: str, token: str) -> set[str]:
    """Every mutation, and every query with an ID or String argument (as schemathesis
    labels them: ``Mutation.placeOrder``, ``Query.order``)."""
    request = urllib.request.Request(  # noqa: S310 - loopback
        base + "/graphql",
        data=json.dumps({"query": get_introspection_query()}).encode(),
        headers={"content-type": "application/json", "authorization": f"Bearer {token}"},
    )
    with urllib.request.urlopen(request, timeout=30) as answer:  # noqa: S310 - loopback
        schema = build_client_schema(json.loads(answer.read())["data"])

    def scalars(type_: Any, seen: set[str]) -> set[str]:
        while hasattr(type_, "of_type"):
            type_ = type_.of_type
        if isinstance(type_, GraphQLScalarType):
            return {type_.name}
        if not hasattr(type_, "fields") or type_.name in seen:
            return set()
        seen.add(type_.name)
        found: set[str] = set()
        for field in type_.fields.values():
            found |= scalars(field.type, seen)
        return found

    wanted = set()
    assert schema.mutation_type is not None and schema.query_type is not None
    wanted |= {f"Mutation.{name}" for name in schema.mutation_type.fields}
    for name, field in schema.query_type.fields.items():
        kinds: set[str] = set()
        for argument in field.args.values():
            kinds |= scalars(argument.type, set())
        if kinds & {"ID", "String"}:
            wanted.add(f"Query.{name}")
    return wanted


def server_errors(server_log: Path) -> dict[str, str]:
    """request id -> the last line of the exception the server logged for it."""
    found: dict[str, str] = {}
    if not server_log.exists():
        return found
    for line in server_log.read_text(errors="replace").splitlines():
        if '"exception"' not in line:
            continue
        try:
            entry = json.loads(line)
        except ValueError:
            continue
        lines = [part for part in str(entry.get("exception", "")).splitlines() if part.strip()]
        if entry.get("request_id") and lines:
            found[entry["request_id"]] = lines[-1][:300]
    return found


def summarize(log: Path, wanted: set[str], server_log: Path) -> int:
    findings: dict[tuple[str, str, str], int] = Counter()
    exercised: set[str] = set()
    requests = 0
    if log.exists():
        for line in log.read_text().splitlines():
            entry = json.loads(line)
            if entry["kind"] == "exercised":
                exercised.add(entry["operation"])
                requests += 1
            else:
                findings[(entry["kind"], entry["operation"], entry["signature"])] += 1
    missing = sorted(wanted - exercised)
    causes = server_errors(server_log)
    by_kind = Counter(kind for kind, _, _ in findings)
    print(f"\nfuzz: {requests} responses checked, {len(exercised)} operations exercised")
    for kind in ("http_5xx", "internal", "stack_trace", "sql_text"):
        print(f"  {kind:<12} {by_kind.get(kind, 0)} distinct finding(s)")
    for (kind, operation, signature), count in sorted(findings.items()):
        print(f"  - {kind} {operation} ×{count}: {signature}")
        request_id = signature.rpartition("(request ")[2].rstrip(")")
        if request_id in causes:
            print(f"      server: {causes[request_id]}")
    if missing:
        print(f"  not exercised ({len(missing)}): {', '.join(missing)}")
    return 1 if findings or missing else 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--short", action="store_true", help="the CI run: bounded, fixed seed")
    parser.add_argument("--seed", type=int, default=20261207)
    parser.add_argument("--max-examples", type=int, default=None)
    parser.add_argument("--max-time", type=int, default=None, help="seconds for schemathesis")
    parser.add_argument("--keep-database", action="store_true")
    parser.add_argument(
        "--reuse-database", default=None, help="a kept database to fuzz again (no re-seeding)"
    )
    parser.add_argument("extra", nargs="*", help="more schemathesis options (after --)")
    args = parser.parse_args()
    # The short run is bounded by its examples per operation only (deterministic): with a
    # time budget schemathesis repeats fuzzing until the budget is spent. CI bounds the
    # whole step with `timeout`.
    max_examples = args.max_examples or (3 if args.short else 100)
    max_time = args.max_time or (None if args.short else 3600)

    server = make_url(server_url())
    name = args.reuse_database or f"zt_fuzz_{os.getpid()}_{secrets.token_hex(3)}"
    if not args.reuse_database:
        asyncio.run(
            _admin(server.render_as_string(hide_password=False), f'CREATE DATABASE "{name}"')
        )
    url = server.set(database=name).render_as_string(hide_password=False)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {
        **os.environ,
        "ZHONGTAI_DATABASE_URL": url,
        "ZHONGTAI_ENVIRONMENT": "development",  # introspection on, dev tokens
    }
    work = Path(tempfile.mkdtemp(prefix="zhongtai-fuzz-"))
    log = work / "findings.jsonl"
    serve: subprocess.Popen[bytes] | None = None
    try:
        if not args.reuse_database:
            zhongtai(env, "migrate")
            zhongtai(env, "seed-demo")
        token = zhongtai(env, "token", "--tenant", "demo", "--role", "tenant_admin").strip()
        samples = asyncio.run(_sample_values(url, "demo", per_table=5))
        (work / "samples.json").write_text(json.dumps(samples))
        server_log = (work / "server.log").open("wb")
        serve = subprocess.Popen(  # noqa: S603 - our own CLI
            [str(BIN / "zhongtai"), "serve", "--port", str(port)],
            env=env,
            cwd=ROOT,
            stdout=server_log,
            stderr=subprocess.STDOUT,
        )
        wait_ready(base, serve, timeout=120)
        wanted = expected_operations(base, token)
        command = [
            str(BIN / "schemathesis"),
            "run",
            base + "/graphql",
            "--header",
            f"Authorization: Bearer {token}",
            "--checks",
            "zhongtai_server_faults",
            "--seed",
            str(args.seed),
            "--max-examples",
            str(max_examples),
            *(["--max-time", str(max_time)] if max_time else []),
            "--workers",
            "1",
            "--request-timeout",
            "30",
            "--no-color",
            "--output-truncate",
            "true",
            *(
                ["--generation-deterministic", "--phases", "fuzzing"]
                if args.short
                else ["--generation-database", "none"]
            ),
            *args.extra,
        ]
        fuzz_env = {
            **env,
            "PYTHONPATH": str(HERE),
            "SCHEMATHESIS_HOOKS": "zhongtai_checks",
            "ZHONGTAI_FUZZ_LOG": str(log),
            "ZHONGTAI_FUZZ_SAMPLES": str(work / "samples.json"),
        }
        print(f"fuzz: schemathesis against {base} (database {name}, logs in {work})", flush=True)
        ran = subprocess.run(command, env=fuzz_env, cwd=ROOT, check=False)  # noqa: S603
        status = summarize(log, wanted, work / "server.log")
        if ran.returncode not in (0, 1):  # 1: failures, summarized above; else it broke
            print(f"fuzz: schemathesis exited with {ran.returncode}")
            status = 1
        if status:
            print(f"  server log: {work / 'server.log'}")
        return status
    finally:
        if serve is not None:
            serve.send_signal(signal.SIGINT)
            try:
                serve.wait(timeout=30)
            except subprocess.TimeoutExpired:
                serve.kill()
        if not (args.keep_database or args.reuse_database):
            asyncio.run(
                _admin(
                    server.render_as_string(hide_password=False),
                    f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)',
                )
            )


if __name__ == "__main__":
    sys.exit(main())
