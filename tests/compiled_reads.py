"""Differential testing of compiled reads: one request, both paths, the same bytes."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx

from kernel import prepared
from kernel.app import Runtime

REQUEST_ID = "differential"


@dataclass(frozen=True)
class Answer:
    body: bytes
    status: int
    compiled: bool  # the compiled path answered (one statement, the planner's counter)


async def _post(
    client: httpx.AsyncClient,
    runtime: Runtime,
    token: str,
    query: str,
    variables: dict[str, Any] | None,
) -> Answer:
    planner = runtime.composed.planner
    served = planner.served if planner is not None else 0
    sent: list[str] = []
    prepared.listen(sent.append)
    try:
        response = await client.post(
            "/graphql",
            json={"query": query, "variables": variables},
            # The same request id on both sides: errors carry it.
            headers={"authorization": f"Bearer {token}", "x-request-id": REQUEST_ID},
        )
    finally:
        prepared.unlisten(sent.append)
    compiled = planner is not None and planner.served == served + 1
    if compiled:
        assert len(sent) == 1, sent  # the whole response from one statement
    return Answer(response.content, response.status_code, compiled)


async def both_paths(
    client: httpx.AsyncClient,
    runtime: Runtime,
    token: str,
    query: str,
    variables: dict[str, Any] | None = None,
) -> Answer:
    """The compiled path's answer, asserted byte-identical to the generic path's."""
    planner = runtime.composed.planner
    assert planner is not None, "ZHONGTAI_COMPILED_READS is off in the tests"
    compiled = await _post(client, runtime, token, query, variables)
    runtime.composed.planner = None
    try:
        generic = await _post(client, runtime, token, query, variables)
    finally:
        runtime.composed.planner = planner
    assert compiled.status == generic.status
    assert compiled.body == generic.body, (
        f"\ncompiled: {compiled.body.decode()}\ngeneric:  {generic.body.decode()}"
    )
    return compiled
