"""Común CMS: one Flask application for the state tenants and the cross-state portal.

Public API: :func:`create_app` and the pluggy marker :data:`hookimpl`.

Importing the package (or any of its modules) does not build or import the application:
``create_app`` is loaded on first use (PEP 562 module ``__getattr__``), so ``import
comun_cms.hookspecs`` or ``comun_cms.tenancy`` stays cheap and never pulls in the views.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from comun_cms.hookspecs import hookimpl

if TYPE_CHECKING:  # pragma: no cover - typing only
    from comun_cms.app import create_app

__all__ = ["create_app", "hookimpl"]


def __getattr__(name: str) -> Any:
    """Load :func:`comun_cms.app.create_app` when ``comun_cms.create_app`` is first read (PEP 562).

    Raises:
        AttributeError: for any other unknown attribute.
    """
    if name == "create_app":
        # PEP 562 lazy attribute: importing the application factory here instead of at the top
        # keeps `import comun_cms.<module>` from loading every view and plugin.
        from comun_cms.app import create_app
        globals()["create_app"] = create_app
        return create_app
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
