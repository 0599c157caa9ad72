"""Roles and permission checks.

Roles are per tenant (:class:`~comun_cms.models.Membership`): ``admin`` (everything in the
tenant, users and settings), ``editor`` (content), ``evaluator`` (a civil-society organization
that assesses the tenant; cannot edit the tenant's content), ``trainer`` (runs workshops on the
training tenant). Platform admins hold every role in every tenant.
"""
from __future__ import annotations

import functools
from typing import Callable

from flask import abort, current_app, g, redirect, request, url_for
from flask_login import current_user
from sqlalchemy import select

from comun_cms.extensions import db
from comun_cms.models import Membership
from comun_cms.tenancy import get_current_tenant

STAFF_ROLES = ("admin", "editor", "evaluator", "trainer")
CONTENT_ROLES = ("admin", "editor")


def role_in(user, tenant) -> str | None:
    """Return ``user``'s role in ``tenant`` (``"admin"`` for platform admins), or ``None``.

    Cached on ``flask.g`` for the request.
    """
    if user is None or not getattr(user, "is_authenticated", False) or tenant is None:
        return None
    if getattr(user, "is_platform_admin", False):
        return "admin"
    cache = g.setdefault("_roles", {})
    key = (user.id, tenant.slug)
    if key not in cache:
        cache[key] = db.session.scalar(
            select(Membership.role).where(Membership.user_id == user.id, Membership.tenant_id == tenant.slug)
            .execution_options(all_tenants=True))
    return cache[key]


def has_role(*roles: str, tenant=None, user=None) -> bool:
    """``True`` if the user (default: current user) has one of ``roles`` in ``tenant`` (default:
    current tenant). No roles given means any staff role."""
    tenant = tenant or get_current_tenant()
    role = role_in(user or current_user, tenant)
    return role is not None and (not roles or role in roles)


def require_role(*roles: str) -> Callable:
    """View decorator: anonymous users are sent to log in; users without one of ``roles`` in the
    current tenant get 403. Tenants of other users never see each other's admin (403)."""

    def decorator(view):
        @functools.wraps(view)
        def wrapper(*args, **kwargs):
            if not current_user.is_authenticated:
                return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))
            if get_current_tenant() is None or not has_role(*roles):
                abort(403)
            return view(*args, **kwargs)
        wrapper.required_roles = roles  # read by the tenant-isolation tests
        return wrapper
    return decorator


def tenants_of(user) -> list[str]:
    """Slugs of the tenants where ``user`` has a role (all for platform admins)."""
    if user is None or not getattr(user, "is_authenticated", False):
        return []
    tenants = current_app.extensions["comun"].tenants
    if user.is_platform_admin:
        return list(tenants)
    slugs = db.session.scalars(select(Membership.tenant_id).where(Membership.user_id == user.id)
                               .execution_options(all_tenants=True))
    return [s for s in slugs if s in tenants]
