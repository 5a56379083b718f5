"""Automatic persisted queries as Apollo's and urql's links speak them
(kernel.graphql.documents): a miss, a registration checked against its hash, then the
hash alone, over POST and over GET."""

from __future__ import annotations

import hashlib
import json
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
import pytest

from kernel.app import create_app
from kernel.graphql.documents import load_manifest
from kernel.settings import Settings
from schema.subgraphs import served_api
from tests.conftest import TenantFixture


# Unique per test run: the store lives as long as the test session's app.
def _query() -> str:
    return f"query Slug{secrets.token_hex(4)} {{ tenant {{ slug }} }}"


def _apq(query: str) -> dict[str, dict[str, object]]:
    digest = hashlib.sha256(query.encode()).hexdigest()
    return {"persistedQuery": {"version": 1, "sha256Hash": digest}}


async def test_a_hash_misses_then_registers_then_runs_alone(
    client: httpx.AsyncClient, tenant: TenantFixture
) -> None:
    headers = {"authorization": f"Bearer {await tenant.token('tenant_admin')}"}
    query = _query()
    extensions = _apq(query)
    miss = await client.post("/graphql", json={"extensions": extensions}, headers=headers)
    assert miss.status_code == 200
    error = miss.json()["errors"][0]
    assert error["extensions"]["code"] == "PERSISTED_QUERY_NOT_FOUND"
    assert error["message"] == "PersistedQueryNotFound"
    strict = await client.post(
        "/graphql",
        json={"extensions": extensions},
        headers={**headers, "accept": "application/graphql-response+json"},
    )
    assert strict.status_code == 404  # never 400: Apollo's link would give up APQ

    registered = await client.post(
        "/graphql", json={"query": query, "extensions": extensions}, headers=headers
    )
    assert registered.json()["data"]["tenant"]["slug"] == tenant.slug
    by_hash = await client.post("/graphql", json={"extensions": extensions}, headers=headers)
    assert by_hash.json()["data"]["tenant"]["slug"] == tenant.slug
    over_get = await client.get(
        "/graphql", params={"extensions": json.dumps(extensions)}, headers=headers
    )
    assert over_get.status_code == 200
    assert over_get.json()["data"]["tenant"]["slug"] == tenant.slug


async def test_a_query_sent_with_another_querys_hash_is_refused_and_not_registered(
    client: httpx.AsyncClient, tenant: TenantFixture
) -> None:
    headers = {"authorization": f"Bearer {await tenant.token('tenant_admin')}"}
    honest, planted = _query(), "{ stores(first: 1) { edges { node { id } } } }"
    extensions = _apq(honest)
    mismatch = await client.post(
        "/graphql", json={"query": planted, "extensions": extensions}, headers=headers
    )
    assert mismatch.status_code == 400
    assert mismatch.json()["errors"][0]["extensions"]["code"] == "BAD_REQUEST"
    assert "does not match" in mismatch.json()["errors"][0]["message"]
    still_unknown = await client.post("/graphql", json={"extensions": extensions}, headers=headers)
    assert still_unknown.json()["errors"][0]["extensions"]["code"] == "PERSISTED_QUERY_NOT_FOUND"


async def test_a_registered_mutation_still_needs_post(
    client: httpx.AsyncClient, tenant: TenantFixture
) -> None:
    headers = {"authorization": f"Bearer {await tenant.token('tenant_admin')}"}
    mutation = (
        f'mutation M{secrets.token_hex(4)} {{ createStore(input: {{code: "X{secrets.token_hex(2)}",'
        ' name: "X"}) { userErrors { code } } }'
    )
    extensions = _apq(mutation)
    first = await client.post(
        "/graphql", json={"query": mutation, "extensions": extensions}, headers=headers
    )
    assert first.json()["data"]["createStore"]["userErrors"] == []
    over_get = await client.get(
        "/graphql", params={"extensions": json.dumps(extensions)}, headers=headers
    )
    assert over_get.status_code == 405


async def test_malformed_persisted_query_extensions_are_bad_requests(
    client: httpx.AsyncClient, tenant: TenantFixture
) -> None:
    headers = {"authorization": f"Bearer {await tenant.token('tenant_admin')}"}
    digest = hashlib.sha256(b"x").hexdigest()
    for persisted in (
        "abc",
        {"version": 2, "sha256Hash": digest},
        {"version": 1, "sha256Hash": "not-a-hash"},
        {"version": 1, "sha256Hash": digest.upper()},
    ):
        response = await client.post(
            "/graphql", json={"extensions": {"persistedQuery": persisted}}, headers=headers
        )
        assert response.status_code == 400, persisted
        assert response.json()["errors"][0]["extensions"]["code"] == "BAD_REQUEST"


TRUSTED = "query TrustedTenant { tenant { slug } }"


@asynccontextmanager
async def _serving(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(served_api(), settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://api.test") as client:
            yield client


async def test_trusted_documents_answer_by_hash_and_only_they_run_for_a_strict_tenant(
    settings: Settings, tenant: TenantFixture, other_tenant: TenantFixture, tmp_path: Path
) -> None:
    manifest = tmp_path / "persisted-documents.json"
    digest = hashlib.sha256(TRUSTED.encode()).hexdigest()
    manifest.write_text(json.dumps({digest: TRUSTED}))
    strict = settings.model_copy(
        update={
            "trusted_documents": manifest,
            "trusted_documents_only_tenants": [str(tenant.id)],
        }
    )
    async with _serving(strict) as client:
        headers = {"authorization": f"Bearer {await tenant.token('tenant_admin')}"}
        by_hash = await client.get(
            "/graphql",
            params={"extensions": json.dumps(_apq(TRUSTED))},
            headers=headers,
        )
        assert by_hash.json()["data"]["tenant"]["slug"] == tenant.slug
        as_text = await client.post("/graphql", json={"query": TRUSTED}, headers=headers)
        assert as_text.json()["data"]["tenant"]["slug"] == tenant.slug
        free_form = await client.post(
            "/graphql", json={"query": "{ tenant { slug id } }"}, headers=headers
        )
        assert free_form.status_code == 403
        assert free_form.json()["errors"][0]["extensions"]["code"] == "PERSISTED_QUERY_NOT_IN_LIST"
        other = _query()
        apq = await client.post(
            "/graphql", json={"query": other, "extensions": _apq(other)}, headers=headers
        )
        assert apq.status_code == 403  # registering by APQ does not make a document trusted

        # Another tenant is not in the mode: anything valid runs.
        theirs = {"authorization": f"Bearer {await other_tenant.token('tenant_admin')}"}
        free = await client.post(
            "/graphql", json={"query": "{ tenant { slug id } }"}, headers=theirs
        )
        assert free.json()["data"]["tenant"]["slug"] == other_tenant.slug


def test_a_manifest_whose_hash_does_not_match_its_document_is_refused(tmp_path: Path) -> None:
    manifest = tmp_path / "persisted-query-manifest.json"
    wrong = hashlib.sha256(b"{ other }").hexdigest()
    manifest.write_text(
        json.dumps(
            {
                "format": "apollo-persisted-query-manifest",
                "version": 1,
                "operations": [{"id": wrong, "body": TRUSTED, "name": "T", "type": "query"}],
            }
        )
    )
    with pytest.raises(ValueError, match="not the SHA-256"):
        load_manifest(manifest)
    right = hashlib.sha256(TRUSTED.encode()).hexdigest()
    manifest.write_text(json.dumps({"operations": [{"id": right, "body": TRUSTED}]}))
    assert load_manifest(manifest) == {right: TRUSTED}
