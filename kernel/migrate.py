"""Alembic with one branch per center (label = center name) and one version table.

Version folders are found on disk (``centers/*/migrations/versions``), so the kernel
needs no import of any center to migrate them all.
"""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

from alembic import command
from alembic.config import Config

KERNEL_MIGRATIONS = Path(__file__).parent / "migrations"
CENTERS_DIR = Path(__file__).parent.parent / "centers"


def version_locations() -> list[Path]:
    return [KERNEL_MIGRATIONS / "versions", *sorted(CENTERS_DIR.glob("*/migrations/versions"))]


def alembic_config(database_url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(KERNEL_MIGRATIONS))
    config.set_main_option("path_separator", "os")
    config.set_main_option(
        "version_locations", os.pathsep.join(str(p) for p in version_locations())
    )
    config.attributes["database_url"] = database_url
    return config


def upgrade(database_url: str, revision: str = "heads") -> None:
    command.upgrade(alembic_config(database_url), revision)


async def upgrade_async(database_url: str, revision: str = "heads") -> None:
    """Alembic's env runs its own event loop; keep it off the caller's."""
    await asyncio.to_thread(upgrade, database_url, revision)
