"""Roles and permission checks.

Roles are per tenant (:class:`~comun_cms.models.Membership`): ``admin`` (everything in the
tenant, users and settings), ``editor`` (content), ``evaluator`` (a civil-society organization
that assesses the tenant; cannot edit the tenant's content), ``trainer`` (runs workshops on the
training tenant), ``privacy`` (the data-protection officer: reads the tenant's admin and redacts
published versions, :data:`REDACT`). Platform admins hold the ``admin`` role in every tenant.

Besides roles, there are **permissions**: named things a role may do, which the views check
with :func:`can` and :func:`require_permission`. The core grants :data:`CORE_ROLE_PERMISSIONS`;
plugins grant more to a role through the ``role_permissions(tenant)`` hook (for example the
criteria plugin gives evaluators ``criteria.evaluate`` and the sight of their assessments'
evidence files). Two core permissions matter most:

* :data:`ADMIN_ACCESS` (``admin.access``): open the tenant's admin dashboard. Every role has it.
* :data:`VIEW_UNPUBLISHED` (``content.view_unpublished``): see drafts, non-public files and
  work in progress (dashboard widgets) of the tenant. ``admin``, ``editor`` and ``trainer``
  have it; ``evaluator`` does not: an evaluating organization sees the published site like
  everyone else, plus what the criteria plugin grants for the evaluation itself.
  ``content.view_unpublished:<owner_type>`` (:func:`unpublished_permission`) grants the same
  for the records and files of one owner type only.
* :data:`REDACT` (``content.redact``): redact a published version or a whole record
  (:func:`comun_cms.publishing.redact`). Only ``admin`` and ``privacy`` have it.
"""
from __future__ import annotations

import functools
from typing import Callable, Iterable

from flask import abort, current_app, g, redirect, request, url_for
from flask_login import current_user
from sqlalchemy import select

from comun_cms.extensions import db
from comun_cms.models import Membership
from comun_cms.plugins import tenant_hook
from comun_cms.tenancy import get_current_tenant

STAFF_ROLES = ("admin", "editor", "evaluator", "trainer", "privacy")
CONTENT_ROLES = ("admin", "editor")

#: Open the tenant's admin dashboard (every role).
ADMIN_ACCESS = "admin.access"
#: See the tenant's drafts, non-public files and work in progress (not evaluators).
VIEW_UNPUBLISHED = "content.view_unpublished"
#: Redact a published version or a whole record (``admin`` and ``privacy`` only).
REDACT = "content.redact"
#: What the core grants each role; plugins add through the ``role_permissions`` hook.
CORE_ROLE_PERMISSIONS: dict[str, frozenset[str]] = {
    "admin": frozenset({ADMIN_ACCESS, VIEW_UNPUBLISHED, REDACT}),
    "editor": frozenset({ADMIN_ACCESS, VIEW_UNPUBLISHED}),
    "trainer": frozenset({ADMIN_ACCESS, VIEW_UNPUBLISHED}),
    "evaluator": frozenset({ADMIN_ACCESS}),
    "privacy": frozenset({ADMIN_ACCESS, VIEW_UNPUBLISHED, REDACT}),
}


def unpublished_permission(owner_type: str) -> str:
    """The permission to see unpublished records and non-public files of one owner type only:
    ``content.view_unpublished:<owner_type>`` (e.g. ``criteria_assessment``)."""
    return f"{VIEW_UNPUBLISHED}:{owner_type}"


def role_permissions(tenant) -> dict[str, frozenset[str]]:
    """``{role: permissions}`` in ``tenant``: :data:`CORE_ROLE_PERMISSIONS` joined with what the
    tenant's plugins grant through the ``role_permissions(tenant)`` hook (each implementation
    returns ``{role: [permission, ...]}``; grants only add). Cached on ``flask.g`` per request."""
    cache = g.setdefault("_role_permissions", {})
    if tenant.slug not in cache:
        table: dict[str, set[str]] = {}
        for result in tenant_hook(tenant, "role_permissions")(tenant=tenant):
            for role, permissions in (result or {}).items():
                table.setdefault(role, set()).update(_as_names(permissions, role))
        cache[tenant.slug] = {role: frozenset(perms) for role, perms in table.items()}
    return cache[tenant.slug]


def _as_names(permissions: Iterable[str], role: str) -> set[str]:
    if isinstance(permissions, str):
        raise TypeError(f"role_permissions: the permissions of role '{role}' must be a list of names, not a string")
    return set(permissions)


def can(permission: str, *, tenant=None, user=None) -> bool:
    """``True`` if the user (default: current user) has ``permission`` in ``tenant`` (default:
    current tenant) through their role there (platform admins: the ``admin`` role). Anonymous
    users and users without a role in the tenant have no permission."""
    tenant = tenant or get_current_tenant()
    role = role_in(user or current_user, tenant)
    return role is not None and permission in role_permissions(tenant).get(role, frozenset())


def require_permission(permission: str) -> Callable:
    """View decorator: anonymous users are sent to log in; users without ``permission`` in the
    current tenant (:func:`can`) get 403."""

    def decorator(view):
        @functools.wraps(view)
        def wrapper(*args, **kwargs):
            if not current_user.is_authenticated:
                return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))
            if get_current_tenant() is None or not can(permission):
                abort(403)
            return view(*args, **kwargs)
        wrapper.required_permission = permission
        return wrapper
    return decorator


def can_view_unpublished(owner_type: str | None = None) -> bool:
    """``True`` if the current user may see unpublished records and non-public files of the
    current tenant: :data:`VIEW_UNPUBLISHED`, or :func:`unpublished_permission` of
    ``owner_type`` (an attachment's ``owner_type``, a content type's name)."""
    return can(VIEW_UNPUBLISHED) or (bool(owner_type) and can(unpublished_permission(owner_type)))


def deny_unpublished() -> None:
    """Refuse an unpublished record or file: 403 for a member of the tenant who lacks the
    permission (an evaluator), 404 for everyone else (anonymous visitors and users of other
    tenants learn nothing about what exists). Always raises."""
    abort(403 if has_role() else 404)


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
