"""Plugin manager (pluggy): installed plugins, the core's defaults, per-tenant hook callers.

Plugins, built-in or not, are found through the ``comun_cms`` entry-point group (the built-in
ones are declared in the project's ``pyproject.toml``); the core's default behaviour, the
``core`` plugin (:mod:`comun_cms.core_plugin`, hooks ``trylast``), is registered directly by
:func:`make_plugin_manager`'s caller. The manager is built in :func:`comun_cms.create_app`,
never at import time. Tenant-scope hooks are called through :func:`tenant_hook`, a cached
``pm.subset_hook_caller`` that leaves out the plugins a tenant does not enable.
"""
from __future__ import annotations

import importlib.metadata
from typing import Any, Iterable

import pluggy
from flask import current_app

from comun_cms import hookspecs
from comun_cms.hooktypes import MenuItem, PortalWidget, SettingSpec  # noqa: F401 (re-exported)

#: Registration name of the core's own plugin (default behaviour, hooks ``trylast``).
CORE_PLUGIN = "core"


def installed_plugins(order: Iterable[str] = ()) -> list[importlib.metadata.EntryPoint]:
    """The entry points of the ``comun_cms`` group, one per installed plugin (the first entry
    point of a name wins).

    Args:
        order: plugin names in the order wanted (the tenants' ``plugins`` lists, see
            :func:`comun_cms.tenancy.declared_plugin_order`); those come first, in that order,
            then the plugins no name mentions, in the order Python finds their entry points
            (distribution by distribution; inside one, as its metadata lists them, which
            setuptools sorts by name).
    """
    found: dict[str, importlib.metadata.EntryPoint] = {}
    for ep in importlib.metadata.entry_points(group=hookspecs.PROJECT_NAME):
        found.setdefault(ep.name, ep)
    rank = {name: i for i, name in enumerate(dict.fromkeys(order))}
    return sorted(found.values(), key=lambda ep: rank.get(ep.name, len(rank)))  # stable: the rest keep theirs


def make_plugin_manager(extra: list[tuple[str, Any]] | None = None, load_entry_points: bool = True,
                        only: list[str] | None = None, *, core: Any = None,
                        order: Iterable[str] = ()) -> pluggy.PluginManager:
    """Build the plugin manager.

    Plugins are registered in order (pluggy then calls a hook's implementations from the last
    registered to the first, ``tryfirst``/``trylast`` aside): the installed plugins as
    :func:`installed_plugins` orders them, then ``core``, then ``extra``.

    Args:
        extra: ``(name, module_or_object)`` pairs to register after the installed plugins (tests).
        load_entry_points: load the plugins of the ``comun_cms`` entry-point group.
        only: if given, only register installed plugins with these names (``core`` and
            ``extra`` are always registered).
        core: the core's defaults plugin (:mod:`comun_cms.core_plugin`), registered as
            :data:`CORE_PLUGIN` after the installed plugins; ``None`` leaves it out.
        order: the installed plugins' order (see :func:`installed_plugins`).

    Returns:
        A ``pluggy.PluginManager`` with the specs of :mod:`comun_cms.hookspecs` added.

    Raises:
        ImportError: an entry point's module cannot be imported.
        pluggy.PluginValidationError: a hook implementation does not match its spec.
    """
    pm = pluggy.PluginManager(hookspecs.PROJECT_NAME)
    pm.add_hookspecs(hookspecs)
    if load_entry_points:
        for ep in installed_plugins(order):
            if ep.name == CORE_PLUGIN or pm.is_blocked(ep.name) or (only is not None and ep.name not in only):
                continue
            pm.register(ep.load(), name=ep.name)
    if core is not None:
        pm.register(core, name=CORE_PLUGIN)
    for name, obj in extra or []:
        pm.register(obj, name=name)
    return pm


def plugin_names(pm: pluggy.PluginManager) -> list[str]:
    """Names of registered plugins in registration order."""
    return [name for name, _ in pm.list_name_plugin()]


def plugin_version(pm: pluggy.PluginManager, name: str) -> str:
    """Return the plugin's ``__version__`` or its distribution's version, else ``"0"``."""
    obj = pm.get_plugin(name)
    version = getattr(obj, "__version__", None)
    if version:
        return str(version)
    for dist in pm.list_plugin_distinfo():
        if dist[0] is obj:
            return dist[1].version
    return importlib.metadata.version("comun-cms") if (getattr(obj, "__name__", "").startswith(("comun_cms", "plugins."))) else "0"


def plugin_hooks(pm: pluggy.PluginManager, name: str) -> list[str]:
    """Names of the hooks plugin ``name`` implements, sorted."""
    obj = pm.get_plugin(name)
    return sorted(caller.name for caller in pm.get_hookcallers(obj) or [])


def get_pm() -> pluggy.PluginManager:
    """Return the running application's plugin manager."""
    return current_app.extensions["comun"].pm


def tenant_hook(tenant, name: str):
    """Return the hook caller ``name`` restricted to the plugins ``tenant`` enables.

    Cached per (tenant slug, hook name) on the application. Uses
    ``PluginManager.subset_hook_caller``.
    """
    state = current_app.extensions["comun"]
    key = (tenant.slug, name)
    caller = state.hook_cache.get(key)
    if caller is None:
        pm = state.pm
        remove = [obj for pname, obj in pm.list_name_plugin() if not tenant.enables(pname)]
        caller = pm.subset_hook_caller(name, remove_plugins=remove)
        state.hook_cache[key] = caller
    return caller


def portal_hook(name: str):
    """Return the hook caller ``name`` restricted to plugins enabled in at least one tenant."""
    state = current_app.extensions["comun"]
    key = ("*", name)
    caller = state.hook_cache.get(key)
    if caller is None:
        pm = state.pm
        enabled = {p for t in state.tenants.values() if not t.training for p in t.plugins} | {"core"}
        remove = [obj for pname, obj in pm.list_name_plugin() if pname not in enabled]
        caller = pm.subset_hook_caller(name, remove_plugins=remove)
        state.hook_cache[key] = caller
    return caller


def flatten(results) -> list:
    """Flatten a hook's list-of-lists result, dropping ``None``."""
    out = []
    for item in results or []:
        if item is None:
            continue
        if isinstance(item, (list, tuple)):
            out.extend(x for x in item if x is not None)
        else:
            out.append(item)
    return out


def describe_plugins() -> list[dict[str, Any]]:
    """Describe installed plugins for ``comun plugins list`` and ``/api/plugins``.

    Returns ``[{"name", "version", "hooks": [...], "enabled_tenants": [...]}]`` in
    registration order (``core`` is enabled in every tenant).
    """
    state = current_app.extensions["comun"]
    pm = state.pm
    return [{"name": name, "version": plugin_version(pm, name), "hooks": plugin_hooks(pm, name),
             "enabled_tenants": [t.slug for t in state.tenants.values() if t.enables(name)]}
            for name in plugin_names(pm)]

