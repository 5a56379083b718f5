"""The ``zhongtai`` command line; the composition root supplies what is center-specific."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import tempfile
import uuid
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncSession

from kernel.app import ServedApi, create_app
from kernel.authn import mint_dev_token
from kernel.authz.permissions import BUILTIN_ROLES
from kernel.authz.rules import assign_role
from kernel.db import Database, create_engine, resolve_database_url
from kernel.migrate import upgrade
from kernel.observability import configure_logging
from kernel.settings import Settings, get_settings
from kernel.worker import run_worker


@dataclass(frozen=True)
class DemoSummary:
    tenant_slug: str
    tenant_id: uuid.UUID
    lines: Sequence[str]


@dataclass(frozen=True)
class Command:
    """A subcommand the composition root adds, e.g. ``import-products``."""

    name: str
    help: str
    configure: Callable[[argparse.ArgumentParser], None]
    run: Callable[[Settings, Database, argparse.Namespace], Awaitable[int]]


@dataclass(frozen=True)
class Composition:
    """What only the composition root knows: the schemas, the demo data, tenants."""

    served_api: Callable[[], ServedApi]
    subgraph_sdls: Callable[[], Mapping[str, str]]
    composed_sdl: Callable[[], str]
    seed_demo: Callable[[AsyncSession], Awaitable[DemoSummary]]
    tenant_id_by_slug: Callable[[AsyncSession, str], Awaitable[uuid.UUID | None]]
    store_id_by_code: (
        Callable[[AsyncSession, uuid.UUID, str], Awaitable[uuid.UUID | None]] | None
    ) = None
    commands: Sequence[Command] = ()
    # "module:function" building the ASGI app from the environment (serve --workers).
    asgi_factory: str | None = None


def _database(settings: Settings) -> Database:
    return Database(
        create_engine(resolve_database_url(settings), settings),
        listen_url=settings.listen_database_url,
    )


async def _with_session(
    settings: Settings, work: Callable[[AsyncSession], Awaitable[None]]
) -> None:
    db = _database(settings)
    try:
        async with db.unit_of_work() as session:
            await work(session)
    finally:
        await db.dispose()


def issue_token(
    settings: Settings,
    composition: Composition,
    *,
    tenant_slug: str,
    role: str,
    subject_id: str,
    kind: str = "user",
    store_code: str | None = None,
) -> str:
    """Assign ``role`` to the subject in the tenant, or at one of its stores (dev only),
    and mint its JWT."""
    if role not in BUILTIN_ROLES:
        raise SystemExit(f"unknown role {role!r}; built-in roles: {', '.join(BUILTIN_ROLES)}")
    tenant: list[uuid.UUID] = []

    async def work(session: AsyncSession) -> None:
        tenant_id = await composition.tenant_id_by_slug(session, tenant_slug)
        if tenant_id is None:
            raise SystemExit(f"no tenant {tenant_slug!r}; run `zhongtai seed-demo` first")
        store_id = None
        if store_code is not None:
            if composition.store_id_by_code is None or role in (
                "tenant_admin",
                "customer",
                "platform_admin",
            ):
                raise SystemExit(f"{role} cannot be held at a store")
            store_id = await composition.store_id_by_code(session, tenant_id, store_code)
            if store_id is None:
                raise SystemExit(f"no store {store_code!r} in tenant {tenant_slug!r}")
        await assign_role(session, tenant_id, f"{kind}:{subject_id}", role, store_id=store_id)
        tenant.append(tenant_id)

    asyncio.run(_with_session(settings, work))
    return mint_dev_token(settings, tenant_id=tenant[0], subject_id=subject_id, kind=kind)


def _serve(
    settings: Settings,
    composition: Composition,
    host: str,
    port: int,
    *,
    workers: int = 1,
    background: bool = True,
    subgraphs: Sequence[str] = (),
) -> None:
    import uvicorn

    if subgraphs:
        known = composition.subgraph_sdls()
        unknown = sorted(set(subgraphs) - set(known))
        if unknown:
            raise SystemExit(f"no subgraph {', '.join(unknown)}; there are {', '.join(known)}")
        os.environ["ZHONGTAI_SERVE_SUBGRAPHS"] = json.dumps(list(subgraphs))
        settings = settings.model_copy(update={"serve_subgraphs": list(subgraphs)})

    if not background:
        # Read by every worker process this server starts (they load their settings).
        os.environ["ZHONGTAI_JOBS_ENABLED"] = "false"
        settings = settings.model_copy(update={"jobs_enabled": False})
    if settings.db_pool_total is not None:
        share = max(1, settings.db_pool_total // workers)
        os.environ["ZHONGTAI_DB_POOL_SIZE"] = str(share)
        os.environ["ZHONGTAI_DB_MAX_OVERFLOW"] = "0"
        settings = settings.model_copy(update={"db_pool_size": share, "db_max_overflow": 0})
    if settings.is_development and not subgraphs:
        print(
            f"GraphiQL:  http://{host}:{port}/graphql  — send the header "
            '{"Authorization": "Bearer <token>"} with the dev token printed by '
            "`zhongtai seed-demo`, or mint one: zhongtai token --tenant demo --role tenant_admin"
        )
    # Each request is logged once, structured, by the GraphQL endpoint; uvicorn's
    # access log would be a second, unstructured line per request.
    options = {
        "host": host,
        "port": port,
        "log_level": "info",
        "access_log": False,
        "timeout_graceful_shutdown": 20,
    }
    if workers > 1:
        if composition.asgi_factory is None:
            raise SystemExit("this composition cannot run several workers")
        if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
            # The workers count in files there, and whichever answers /metrics reports
            # every series once, summed (kernel.metrics; docs/operations.md#metrics).
            os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="zhongtai-metrics-")
        # Worker processes import the app by name and build it from the environment.
        # Building it (the nine subgraphs' schemas) takes seconds of CPU: a replacement
        # worker (SIGHUP, or one that died) gets three minutes to be ready, where uvicorn's
        # default 5 s would abort a rolling restart on a busy machine.
        uvicorn.run(
            composition.asgi_factory,
            factory=True,
            workers=workers,
            timeout_worker_healthcheck=180,
            **options,  # type: ignore[arg-type]
        )
    else:
        uvicorn.run(create_app(composition.served_api(), settings), **options)  # type: ignore[arg-type]


def _work(settings: Settings, composition: Composition) -> None:
    asyncio.run(run_worker(settings, composition.served_api().job_handlers))


def _write_sdl(composition: Composition, out: Path) -> None:
    subgraphs = out / "subgraphs"
    subgraphs.mkdir(parents=True, exist_ok=True)
    for name, sdl in composition.subgraph_sdls().items():
        (subgraphs / f"{name}.graphql").write_text(sdl.rstrip() + "\n")
    (out / "schema.graphql").write_text(composition.composed_sdl().rstrip() + "\n")
    print(f"wrote {len(composition.subgraph_sdls())} subgraph SDLs and schema.graphql to {out}")


def build_parser(extra: Sequence[Command] = ()) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="zhongtai", description="zhongtai middle-platform")
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="serve the GraphQL API")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument(
        "--workers", type=int, default=1, help="API worker processes sharing the port"
    )
    serve.add_argument(
        "--subgraph",
        default="",
        help="serve only these subgraphs, comma-separated (e.g. order,stock), behind a gateway",
    )
    serve.add_argument(
        "--no-background",
        action="store_true",
        help="serve requests only; jobs and deliveries run in `zhongtai worker`",
    )
    commands.add_parser(
        "worker", help="run jobs and outbox deliveries (beside `serve --no-background`)"
    )
    commands.add_parser("migrate", help="apply every center's migrations")
    commands.add_parser("seed-demo", help="load the demo brand (idempotent)")
    token = commands.add_parser("token", help="mint a development JWT")
    token.add_argument("--tenant", required=True, help="tenant slug, e.g. demo")
    token.add_argument("--role", required=True, choices=BUILTIN_ROLES)
    token.add_argument(
        "--sub", default=None, help="subject id (default: dev-<role>, or dev-<role>-<store>)"
    )
    token.add_argument("--service-account", action="store_true", help="an sa: subject")
    token.add_argument(
        "--store", default=None, help="hold the role at this store only (store code, e.g. SH-001)"
    )
    sdl = commands.add_parser("sdl", help="write subgraph SDLs and schema.graphql")
    sdl.add_argument("--out", type=Path, default=Path("schema/sdl"))
    for command in extra:
        command.configure(commands.add_parser(command.name, help=command.help))
    return parser


async def _run_command(command: Command, settings: Settings, args: argparse.Namespace) -> int:
    db = _database(settings)
    try:
        return await command.run(settings, db, args)
    finally:
        await db.dispose()


def run_cli(composition: Composition, argv: Sequence[str] | None = None) -> int:
    args = build_parser(composition.commands).parse_args(argv)
    settings = get_settings()
    configure_logging()
    if args.command == "serve":
        if args.workers < 1:
            raise SystemExit("--workers must be at least 1")
        _serve(
            settings,
            composition,
            args.host,
            args.port,
            workers=args.workers,
            background=not args.no_background,
            subgraphs=[name.strip() for name in args.subgraph.split(",") if name.strip()],
        )
    elif args.command == "worker":
        _work(settings, composition)
    elif args.command == "migrate":
        upgrade(resolve_database_url(settings))
        print("migrations applied")
    elif args.command == "seed-demo":
        summaries: list[DemoSummary] = []

        async def seed(session: AsyncSession) -> None:
            summaries.append(await composition.seed_demo(session))

        asyncio.run(_with_session(settings, seed))
        summary = summaries[0]
        for line in summary.lines:
            print(line)
        admin = issue_token(
            settings,
            composition,
            tenant_slug=summary.tenant_slug,
            role="tenant_admin",
            subject_id="dev-admin",
        )
        print(f"\nDev admin token for tenant {summary.tenant_slug!r} (12 h):\n{admin}\n")
        print(
            "Try it:\n  curl -s http://127.0.0.1:8000/graphql -H 'content-type: application/json' "
            f"-H 'authorization: Bearer {admin}' "
            '-d \'{"query":"{ stores(first: 5) { edges { node { id name } } } }"}\'\n'
        )
        print(
            "Other roles: zhongtai token --tenant "
            f"{summary.tenant_slug} --role cashier   (tenant-wide), or add --store <code> "
            "for a role held at one store only (docs/authorization.md).\n"
        )
    elif args.command == "token":
        role: str = args.role
        print(
            issue_token(
                settings,
                composition,
                tenant_slug=args.tenant,
                role=role,
                # A role held at a store gets its own default subject, so it never
                # lands on the tenant-wide dev subject of the same role.
                subject_id=args.sub
                or "-".join(filter(None, ("dev", role.replace("_", "-"), args.store))).lower(),
                kind="sa" if args.service_account else "user",
                store_code=args.store,
            )
        )
    elif args.command == "sdl":
        _write_sdl(composition, args.out)
    else:
        for command in composition.commands:
            if args.command == command.name:
                return asyncio.run(_run_command(command, settings, args))
    return 0


def main_with(composition: Composition) -> None:
    sys.exit(run_cli(composition))
