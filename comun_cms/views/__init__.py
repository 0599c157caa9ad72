"""Core blueprints: ``portal`` (``/``), ``public`` (``/<tenant>``), ``admin``
(``/<tenant>/admin``), ``auth`` (``/auth``), ``api`` and ``api_v1`` (``/api``), ``search``,
``opendata_portal``, plus ``templating`` (template globals, filters) and ``errors`` (error pages).

The package itself imports nothing: :func:`comun_cms.app.register_core_blueprints` mounts each
module's blueprint.
"""
