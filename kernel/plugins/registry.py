"""The registry of installed plugins, read from the ``zhongtai.plugins`` entry points.

A broken distribution (import error, bad manifest) is recorded, not fatal: the platform
keeps serving, and the admin API shows the error (``pluginLoadErrors``, and a tenant's
installation of it as ``MISSING`` with ``unavailableReason``). A plugin a tenant
configured whose distribution is gone is ``MISSING`` too (decision 0120).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from functools import lru_cache
from importlib.metadata import EntryPoint, entry_points

from kernel.plugins.manifest import PluginManifest

ENTRY_POINT_GROUP = "zhongtai.plugins"

log = logging.getLogger(__name__)


class PluginRegistry:
    """Manifests by plugin name, plus the entry points that failed to load."""

    def __init__(self, manifests: Iterable[PluginManifest] = ()) -> None:
        self._manifests: dict[str, PluginManifest] = {}
        self.load_errors: dict[str, str] = {}
        for manifest in manifests:
            self.add(manifest)

    def add(self, manifest: PluginManifest) -> None:
        existing = self._manifests.get(manifest.name)
        if existing is not None and existing is not manifest:
            raise ValueError(f"two plugins named {manifest.name!r}")
        self._manifests[manifest.name] = manifest

    def get(self, name: str) -> PluginManifest | None:
        return self._manifests.get(name)

    def all(self) -> list[PluginManifest]:
        return sorted(self._manifests.values(), key=lambda m: m.name)

    def names(self) -> list[str]:
        """The plugins that loaded, by name."""
        return sorted(self._manifests)

    def unavailable_reason(self, name: str) -> str | None:
        """Why a plugin a tenant configured cannot run here (``None`` when it can): its
        distribution failed to load, or is not installed at all."""
        if name in self._manifests:
            return None
        error = self.load_errors.get(name)
        if error is not None:
            return f"plugin {name!r} failed to load: {error}"
        return f"plugin {name!r} is not installed on the platform"

    @classmethod
    def from_entry_points(
        cls, group: str = ENTRY_POINT_GROUP, entries: Iterable[EntryPoint] | None = None
    ) -> PluginRegistry:
        """Load every entry point of ``group`` (or the ``entries`` given)."""
        registry = cls()
        for entry in entry_points(group=group) if entries is None else entries:
            try:
                loaded = entry.load()
                manifest = (
                    loaded()
                    if callable(loaded) and not isinstance(loaded, PluginManifest)
                    else loaded
                )
                if not isinstance(manifest, PluginManifest):
                    raise TypeError(f"{entry.value} is not a PluginManifest")
                if manifest.name != entry.name:
                    raise ValueError(
                        f"entry point {entry.name!r} names a manifest called {manifest.name!r}"
                    )
                registry.add(manifest)
            except Exception as error:  # a broken plugin must not stop the platform
                log.warning("plugin %s failed to load: %s", entry.name, error)
                registry.load_errors[entry.name] = f"{type(error).__name__}: {error}"[:500]
        return registry


@lru_cache(maxsize=1)
def default_registry() -> PluginRegistry:
    """The plugins installed in this Python environment (read once per process)."""
    return PluginRegistry.from_entry_points()
