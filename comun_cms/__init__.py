"""Común CMS: one Flask application for the state tenants and the cross-state portal.

Public API: :func:`create_app` and the pluggy marker :data:`hookimpl`.
"""
from comun_cms.hookspecs import hookimpl
from comun_cms.app import create_app

__all__ = ["create_app", "hookimpl"]
