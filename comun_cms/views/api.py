"""Public JSON API (blueprint ``api``, mounted at ``/api``)."""
from __future__ import annotations

from flask import Blueprint, current_app, jsonify

from comun_cms.plugins import plugin_hooks, plugin_names, plugin_version

bp = Blueprint("api", __name__)


@bp.get("/plugins")
def plugins():
    """``GET /api/plugins``: the installed plugins.

    Returns a JSON list, in registration order, of ``{"name": str, "version": str,
    "hooks": [hook names, sorted], "enabled_tenants": [tenant slugs]}``. The ``core`` plugin is
    enabled in every tenant; training tenants are not listed.
    """
    state = current_app.extensions["comun"]
    public_tenants = list(state.public_tenants().values())
    return jsonify([
        {"name": name, "version": plugin_version(state.pm, name), "hooks": plugin_hooks(state.pm, name),
         "enabled_tenants": [t.slug for t in public_tenants if t.enables(name)]}
        for name in plugin_names(state.pm)
    ])
