"""The API as an ASGI application factory, for process managers that import it by
name: ``zhongtai serve --workers N`` (uvicorn's worker processes), or
``uvicorn --factory schema.asgi:app``. Settings come from the environment."""

from __future__ import annotations

from starlette.applications import Starlette

from kernel.app import create_app
from kernel.observability import configure_logging
from kernel.settings import get_settings
from schema.subgraphs import served_api


def app() -> Starlette:
    configure_logging()
    return create_app(served_api(), get_settings())
