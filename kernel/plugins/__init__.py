"""The plugin system: manifests, the entry-point registry, per-tenant configuration with
secrets sealed at rest, and the circuit breaker that isolates a failing plugin.

A plugin is a Python distribution that registers a :class:`PluginManifest` under the
entry-point group ``zhongtai.plugins``. See ``docs/plugins.md``.
"""

from kernel.plugins.manifest import (
    CallbackPlugin,
    CallbackRequest,
    CallbackResponse,
    DeliveredEvent,
    Plugin,
    PluginContext,
    PluginError,
    PluginManifest,
    PullingPlugin,
)
from kernel.plugins.registry import ENTRY_POINT_GROUP, PluginRegistry, default_registry

__all__ = [
    "ENTRY_POINT_GROUP",
    "CallbackPlugin",
    "CallbackRequest",
    "CallbackResponse",
    "DeliveredEvent",
    "Plugin",
    "PluginContext",
    "PluginError",
    "PluginManifest",
    "PluginRegistry",
    "PullingPlugin",
    "default_registry",
]
