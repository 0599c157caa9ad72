"""Plugin manager (pluggy): built-in plugins, entry-point plugins, per-tenant hook callers.

Built-in plugins are registered from :data:`BUILTIN_PLUGINS`; third-party plugins come from the
``comun_cms`` entry-point group. The manager is built in :func:`comun_cms.create_app`, never at
import time. Tenant-scope hooks are called through :func:`tenant_hook`, a cached
``pm.subset_hook_caller`` that leaves out the plugins a tenant does not enable.
"""
from __future__ import annotations

import importlib
import importlib.metadata
from typing import Any

import pluggy
from flask import current_app

from comun_cms.hooktypes import MenuItem, PortalWidget, SettingSpec  # noqa: F401 (re-exported)
from comun_cms import hookspecs

#: (name, module) of the plugins that ship with Común CMS, in call order. ``core`` holds the
#: default behaviour and is registered ``trylast``.
BUILTIN_PLUGINS: tuple[tuple[str, str], ...] = (
    ("criteria", "plugins.criteria"),
    ("stl_minutes", "plugins.stl_minutes"),
    ("action_plans", "plugins.action_plans"),
    ("notary", "plugins.notary"),
    ("core", "comun_cms.core_plugin"),
)


def make_plugin_manager(extra: list[tuple[str, Any]] | None = None, load_entry_points: bool = True,
                        only: list[str] | None = None) -> pluggy.PluginManager:
    """Build the plugin manager.

    Args:
        extra: ``(name, module_or_object)`` pairs to register after the built-ins (tests).
        load_entry_points: also load the ``comun_cms`` entry-point group.
        only: if given, only register built-in/entry-point plugins with these names (``core``
            is always registered).

    Returns:
        A ``pluggy.PluginManager`` with the specs of :mod:`comun_cms.hookspecs` added.

    Raises:
        ImportError: a built-in plugin module cannot be imported.
        pluggy.PluginValidationError: a hook implementation does not match its spec.
    """
    pm = pluggy.PluginManager(hookspecs.PROJECT_NAME)
    pm.add_hookspecs(hookspecs)
    for name, module_name in BUILTIN_PLUGINS:
        if only is not None and name != "core" and name not in only:
            continue
        pm.register(importlib.import_module(module_name), name=name)
    if load_entry_points:
        for ep in importlib.metadata.entry_points(group=hookspecs.PROJECT_NAME):
            if pm.get_plugin(ep.name) is not None or pm.is_blocked(ep.name):
                continue
            if only is not None and ep.name not in only:
                continue
            pm.register(ep.load(), name=ep.name)
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
