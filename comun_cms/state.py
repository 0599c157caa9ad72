"""Per-application state of Común CMS: :class:`ComunState`, kept in ``app.extensions["comun"]``.

A leaf module (it imports nothing of ``comun_cms`` at run time), so the application factory, the
routing helpers and any view can name the state's type without importing each other.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover - typing only
    import pluggy

    from comun_cms.content_types import ContentTypeRegistry
    from comun_cms.tenancy import Tenant

__all__ = ["ComunState"]


@dataclass
class ComunState:
    """Per-application state kept in ``app.extensions["comun"]``.

    ``pm`` the plugin manager, ``tenants`` ``{slug: Tenant}``, ``content_types`` the registry,
    ``blueprint_plugins`` ``{blueprint name: plugin name}``, ``hook_cache`` cached subset callers,
    ``host_map`` ``{host name: tenant slug}``, ``search`` the search service (set by
    :mod:`comun_cms.search.service`), ``translation_dirs`` / ``migration_dirs`` the core's and the
    plugins' gettext and Alembic folders.
    """

    pm: pluggy.PluginManager
    tenants: dict[str, Tenant]
    content_types: ContentTypeRegistry
    blueprint_plugins: dict[str, str] = field(default_factory=dict)
    hook_cache: dict[Any, Any] = field(default_factory=dict)
    host_map: dict[str, str] = field(default_factory=dict)
    search: Any = None
    translation_dirs: list[str] = field(default_factory=list)
    migration_dirs: list[str] = field(default_factory=list)

    def public_tenants(self) -> dict[str, Tenant]:
        """Tenants whose data may show on the portal, in search and open data (not training)."""
        return {slug: t for slug, t in self.tenants.items() if not t.training}

    def representative_tenants(self, workspaces: int = 2) -> list[Tenant]:
        """Every tenant, keeping only the first ``workspaces`` participant workspaces of each
        training tenant. Workspaces copy their training tenant's configuration, so checks that
        loop over tenants or tenant pairs (conformance kit, isolation tests) cover them with two."""
        return [t for t in self.tenants.values() if not t.is_workspace or t.workspace_number <= workspaces]
