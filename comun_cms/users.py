"""User management shared by the CLI, the admin pages and tests."""
from __future__ import annotations

import datetime as dt
import re

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from comun_cms.extensions import db
from comun_cms.models import ROLES, Membership, User
from comun_cms.tenancy import Tenant, tenant_context

EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
MIN_PASSWORD = 10


class UserError(ValueError):
    """Invalid user data; ``field`` names the field, ``str(error)`` says the problem."""

    def __init__(self, message, field: str):
        self.field = field
        super().__init__(str(message))


def normalize_email(email: str) -> str:
    """Lower-case and strip an e-mail address; raises :class:`UserError` if it is not one."""
    email = (email or "").strip().lower()
    if not EMAIL_RE.match(email) or len(email) > 254:
        raise UserError(_l("“%(email)s” is not a valid e-mail address.", email=email), "email")
    return email


def check_password_strength(password: str) -> None:
    """Raise :class:`UserError` if ``password`` has fewer than 10 characters."""
    if len(password or "") < MIN_PASSWORD:
        raise UserError(_l("The password must have at least %(n)d characters.", n=MIN_PASSWORD), "password")


def find_user(email: str) -> User | None:
    """Return the user with this e-mail (case-insensitive) or ``None``."""
    return db.session.scalar(select(User).where(func.lower(User.email) == email.strip().lower()))


def create_user(email: str, *, password: str, role: str | None = None, tenant: Tenant | None = None,
                platform_admin: bool = False, name: str = "", expires_at: dt.datetime | None = None,
                is_demo: bool = False, commit: bool = True) -> User:
    """Create a user, or add a role to an existing one (idempotent for the same role).

    Args:
        email: login e-mail (normalized to lower case).
        password: at least 10 characters (ignored when the user already exists).
        role: ``admin``, ``editor``, ``evaluator`` or ``trainer`` in ``tenant``.
        tenant: the tenant of ``role``.
        platform_admin: administer every tenant.
        expires_at: aware UTC time after which the account cannot log in.

    Returns:
        The :class:`User`.

    Raises:
        UserError: bad e-mail, short password, unknown role, role without tenant.
    """
    email = normalize_email(email)
    if role is not None and role not in ROLES:
        raise UserError(_l("Unknown role “%(role)s”; use one of: %(roles)s.", role=role, roles=", ".join(ROLES)), "role")
    if role is not None and tenant is None:
        raise UserError(_l("A role needs a tenant."), "tenant")
    user = find_user(email)
    if user is None:
        check_password_strength(password)
        user = User(email=email, name=name or email.split("@")[0], is_platform_admin=platform_admin,
                    expires_at=expires_at, is_demo=is_demo)
        user.set_password(password)
        db.session.add(user)
        db.session.flush()
    elif platform_admin:
        user.is_platform_admin = True
    if role is not None:
        with tenant_context(tenant):
            membership = db.session.scalar(select(Membership).where(Membership.user_id == user.id))
            if membership is None:
                db.session.add(Membership(user_id=user.id, role=role))
            else:
                membership.role = role
            db.session.flush()
    if commit:
        db.session.commit()
    return user
