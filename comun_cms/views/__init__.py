"""Core blueprints: ``portal`` (``/``), ``public`` (``/<tenant>``), ``admin``
(``/<tenant>/admin``), ``auth`` (``/auth``) and ``api`` (``/api``), plus template globals."""
from __future__ import annotations

from flask import Flask


def register_core_blueprints(app: Flask) -> None:
    """Register the core blueprints, error pages and template context on ``app``."""
    from comun_cms.app import register_tenant_blueprint
    from comun_cms.views import admin, api, auth, portal, public, search, templating

    templating.init_app(app)
    app.register_blueprint(portal.bp)
    app.register_blueprint(auth.bp, url_prefix="/auth")
    app.register_blueprint(api.bp, url_prefix="/api")
    app.register_blueprint(search.portal_bp)
    register_tenant_blueprint(app, public.bp)
    register_tenant_blueprint(app, search.tenant_bp)
    register_tenant_blueprint(app, admin.bp, admin=True)
    from comun_cms import training
    from comun_cms.views import api_v1, opendata_portal
    api_v1.register(app)
    opendata_portal.register(app)
    training.init_app(app)
