"""The federated deployment answers what the single process answers.

Real processes: three subgraph services (`zhongtai serve --subgraph …`, three centers
each), a worker, and Hive Gateway over a supergraph composed for their ports. The tour
(docs/tour.md) runs through the gateway with every check it makes on the single process,
and each of its queries is also sent to `/graphql`, which must answer the same data and
error codes at that moment.
"""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest

from kernel.app import Runtime, create_app
from kernel.settings import Settings
from schema import federated
from schema.subgraphs import served_api
from tests.support.databases import migrated_database
from tests.test_tour import run_tour

pytestmark = pytest.mark.skipif(
    not federated.GATEWAY_BIN.exists(),
    reason="Hive Gateway is not installed: npm ci --prefix deploy/gateway (.ci/run does)",
)


def _free_ports(count: int) -> list[int]:
    sockets = [socket.socket() for _ in range(count)]
    try:
        for probe in sockets:
            probe.bind(("127.0.0.1", 0))
        return [int(probe.getsockname()[1]) for probe in sockets]
    finally:
        for probe in sockets:
            probe.close()


@pytest.fixture(scope="module")
def federated_database(database_url: str) -> Iterator[str]:
    with migrated_database(database_url, "zt_federated") as url:
        yield url


@pytest.fixture(scope="module")
def deployment(
    federated_database: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[federated.Deployment]:
    names = federated.subgraph_names()
    groups = [names[index::3] for index in range(3)]
    ports = _free_ports(4)
    running = federated.start(
        federated_database,
        logs=tmp_path_factory.mktemp("federated"),
        groups=groups,
        gateway_port=ports[0],
        first_subgraph_port=ports[1],
        environment={"ZHONGTAI_ENVIRONMENT": "test", "ZHONGTAI_DB_POOL_SIZE": "5"},
    )
    try:
        yield running
    finally:
        running.stop()
    for name, _ in running.processes:
        assert "Traceback" not in running.log(name), running.log(name)


@pytest.fixture(scope="module")
async def single(federated_database: str) -> AsyncIterator[tuple[Any, Runtime]]:
    """The single process on the same database, in this test process."""
    settings = Settings(environment="test", database_url=federated_database, jobs_enabled=False)
    app = create_app(served_api(), settings)
    async with app.router.lifespan_context(app):
        yield app, app.state.runtime


async def test_the_tour_through_the_gateway_matches_the_single_process(
    deployment: federated.Deployment, single: tuple[Any, Runtime]
) -> None:
    app, runtime = single
    base = deployment.gateway_url.removesuffix("/graphql")
    async with (
        httpx.AsyncClient(base_url=base, timeout=60) as gateway,
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://single.test"
        ) as direct,
    ):
        await run_tour(gateway, runtime, mirror=direct)


def test_a_subgraph_service_serves_only_its_subgraphs(deployment: federated.Deployment) -> None:
    order_url = deployment.subgraph_urls["order"]
    base = order_url.removesuffix("/subgraphs/order/graphql")
    assert httpx.post(f"{base}/graphql", json={"query": "{ __typename }"}).status_code == 404
    elsewhere = next(
        name for name, url in deployment.subgraph_urls.items() if not url.startswith(base)
    )
    missing = httpx.post(f"{base}/subgraphs/{elsewhere}/graphql", json={"query": "{ __typename }"})
    assert missing.status_code == 404
    assert missing.json()["errors"][0]["extensions"]["code"] == "NOT_FOUND"


def test_the_gateway_forwards_no_credentials_it_was_not_given(
    deployment: federated.Deployment,
) -> None:
    refused = httpx.post(
        deployment.gateway_url, json={"query": "{ stores(first: 1) { edges { node { id } } } }"}
    )
    body = refused.json()
    assert body.get("data") in (None, {"stores": None})
    assert {error["extensions"]["code"] for error in body["errors"]} == {"UNAUTHENTICATED"}
