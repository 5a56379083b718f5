"""Console entry point ``zhongtai``: the kernel CLI wired to the nine centers."""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from centers.store import api as store_api
from kernel.cli import Composition, main_with
from schema import demo
from schema.subgraphs import composed_sdl, served_api, subgraph_sdls


async def tenant_id_by_slug(session: AsyncSession, slug: str) -> uuid.UUID | None:
    tenant = await store_api.tenant_by_slug(session, slug)
    return tenant.id if tenant else None


COMPOSITION = Composition(
    served_api=served_api,
    subgraph_sdls=subgraph_sdls,
    composed_sdl=composed_sdl,
    seed_demo=demo.seed_demo,
    tenant_id_by_slug=tenant_id_by_slug,
)


def main() -> None:
    main_with(COMPOSITION)
