"""Authentication blueprint ``auth`` (mounted at ``/auth``): log in and out, accept invitations,
account page.

* Log-in is rate limited (``LOGIN_RATE_LIMIT``), says only "e-mail or password incorrect" on
  failure, refuses expired or deactivated accounts, starts a fresh session and honours ``next``
  only when it is a path on this site.
* Invitations are looked up by the SHA-256 of their token (the token itself is never stored),
  accepted once, before they expire.
* Sessions are revoked server side: the session carries the user's ``session_generation``
  (:data:`SESSION_GENERATION_KEY`) and :func:`load_user` refuses a session whose generation is
  not the user's current one. Logging out, changing the password (account page, ``comun users
  set-password``) and :func:`comun_cms.users.revoke_sessions` raise it, so a copied cookie
  stops working. Deactivated and expired accounts are logged out on their next request.
"""
from __future__ import annotations

import hashlib
import hmac
from urllib.parse import urlsplit

from flask import (
    Blueprint, abort, current_app, flash, redirect, render_template, request, session, url_for,
)
from flask_babel import get_locale, gettext as _, lazy_gettext as _l
from flask_login import current_user, login_required, login_user, logout_user
from itsdangerous import BadData, URLSafeTimedSerializer
from sqlalchemy import select, update
from werkzeug.security import check_password_hash, generate_password_hash

from comun_cms.audit import record_audit
from comun_cms.extensions import db, limiter, login_manager
from comun_cms.forms import (
    AcceptInvitationExistingForm, AcceptInvitationForm, ChangePasswordForm, ConfirmForm, LoginForm,
    PasswordResetForm, PasswordResetRequestForm, ROLE_LABELS,
)
from comun_cms.mail import send_mail
from comun_cms.models import Invitation, User, utcnow
from comun_cms.models.core import PASSWORD_METHOD
from comun_cms.permissions import role_in, tenants_of
from comun_cms.tenancy import tenant_context
from comun_cms.users import UserError, create_user, find_user, revoke_sessions, set_password

bp = Blueprint("auth", __name__)

#: Session keys that survive a log-in or log-out (the visitor's language choice).
_KEPT_SESSION_KEYS = ("lang",)
#: Session key holding the user's ``session_generation`` at log-in (a session without it counts
#: as generation 0, the generation of every account that never revoked its sessions).
SESSION_GENERATION_KEY = "_gen"
_dummy_hash: str | None = None

login_manager.login_message = _l("Log in to see this page.")
login_manager.login_message_category = "info"


@login_manager.user_loader
def load_user(user_id: str) -> User | None:
    """Flask-Login loader: the :class:`User` with id ``user_id``, or ``None`` (anonymous) when
    there is no such user, the account is deactivated or expired, or the session's generation
    (:data:`SESSION_GENERATION_KEY`) is not the user's current ``session_generation`` (the
    session was revoked by a log-out, a password change or :func:`revoke_sessions`)."""
    try:
        user = db.session.get(User, int(user_id))
    except (TypeError, ValueError):
        return None
    if user is None or not user.is_active:
        return None
    if session.get(SESSION_GENERATION_KEY, 0) != (user.session_generation or 0):
        return None
    return user


def token_hash(token: str) -> str:
    """Hex SHA-256 of an invitation token (what :class:`Invitation` stores)."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def safe_next(target: str | None) -> str | None:
    """Return ``target`` if it is a relative path on this site, else ``None``.

    Accepts ``/edomex/admin/paginas?status=draft``; rejects absolute and protocol-relative URLs
    (``https://evil.com``, ``//evil.com``), backslashes (``/\\evil.com``, which browsers read as
    ``//``), control characters and schemes such as ``javascript:``.
    """
    if not target or not target.startswith("/") or target.startswith("//"):
        return None
    if "\\" in target or any(ord(c) < 32 or ord(c) == 127 for c in target):
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return None
    return target


def portal_url() -> str:
    """URL of the cross-state portal home."""
    return url_for("portal.home")


def default_landing(user: User) -> str:
    """Where a user lands after logging in without ``next``: platform admins see their account
    page (every tenant), other users the dashboard of their first tenant, or the portal."""
    if user.is_platform_admin:
        return url_for("auth.account")
    slugs = tenants_of(user)
    if slugs:
        return url_for("admin.dashboard", tenant=slugs[0])
    return portal_url()


def _check_password(user: User | None, password: str) -> bool:
    """Check ``password``; for an unknown user, spend the same time on a dummy hash so response
    times do not reveal which e-mails have accounts."""
    global _dummy_hash
    if user is None:
        if _dummy_hash is None:
            _dummy_hash = generate_password_hash("not-a-password", method=PASSWORD_METHOD)
        check_password_hash(_dummy_hash, password)
        return False
    return user.check_password(password)


def _start_session(user: User) -> None:
    """Log ``user`` in with a new, fresh session (nothing of the previous session is kept but
    the language choice)."""
    kept = {k: session[k] for k in _KEPT_SESSION_KEYS if k in session}
    session.clear()
    session.update(kept)
    login_user(user, fresh=True)
    session[SESSION_GENERATION_KEY] = user.session_generation or 0
    session.permanent = True


def _inactive_message(user: User) -> str:
    if user.active and user.expires_at is not None and user.expires_at <= utcnow():
        return _("Your account expired. Ask the administrator of your secretariat to extend it.")
    return _("Your account is deactivated. Ask the administrator of your secretariat to activate it.")


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config["LOGIN_RATE_LIMIT"], methods=["POST"])
def login():
    """``GET`` shows the log-in form; ``POST`` checks e-mail and password.

    Success redirects (303) to ``next`` when it is a path on this site, else to
    :func:`default_landing`. Failure re-renders the form with status 401 (bad credentials) or
    403 (expired or deactivated account).
    """
    form = LoginForm()
    next_url = safe_next(request.values.get("next"))
    if request.method == "GET" and current_user.is_authenticated:
        return redirect(next_url or default_landing(current_user))
    status = 200
    if form.validate_on_submit():
        user = find_user(form.email.data)
        if not _check_password(user, form.password.data):
            form.form_errors.append(_("The e-mail or the password is incorrect."))
            status = 401
        elif not user.is_active:
            form.form_errors.append(_inactive_message(user))
            status = 403
        else:
            _start_session(user)
            return redirect(next_url or default_landing(user), code=303)
    elif form.is_submitted():
        status = 400
    form.next.data = next_url or ""
    return render_template("auth/login.html", form=form), status


@bp.errorhandler(429)
def too_many_attempts(error):
    """Rate limit reached on the log-in form: explain and ask to wait (status 429)."""
    return render_template("auth/too_many.html", limit=getattr(error, "description", "")), 429


@bp.route("/logout", methods=["POST"])
def logout():
    """Log out (``POST`` with a CSRF token only) and go to the portal. The user's sessions are
    revoked server side (:func:`revoke_sessions`): a copy of the session cookie no longer logs
    anyone in, on this device or another."""
    form = ConfirmForm()
    if not form.validate_on_submit():  # pragma: no cover - CSRFProtect answers first
        abort(400)
    kept = {k: session[k] for k in _KEPT_SESSION_KEYS if k in session}
    if current_user.is_authenticated:
        revoke_sessions(current_user._get_current_object())
    logout_user()
    session.clear()
    session.update(kept)
    flash(_("You logged out."), "success")
    return redirect(portal_url(), code=303)


@bp.route("/cuenta")
@login_required
def account():
    """The account page: the user's tenants, role in each, and links to their admin."""
    state = current_app.extensions["comun"]
    tenants = [(state.tenants[slug], role_in(current_user, state.tenants[slug])) for slug in tenants_of(current_user)]
    return render_template("auth/account.html", tenants=tenants, role_labels=ROLE_LABELS, logout_form=ConfirmForm())


@bp.route("/cuenta/contrasena", methods=["GET", "POST"])
@login_required
@limiter.limit(lambda: current_app.config["LOGIN_RATE_LIMIT"], methods=["POST"])
def change_password():
    """Change one's own password: the current password, then the new one twice (password
    policy of :func:`comun_cms.users.check_password_strength`). Every other session of the user
    ends; this one goes on with the new generation. Errors re-render the form with status 422."""
    form = ChangePasswordForm()
    status = 200
    if form.validate_on_submit():
        user = current_user._get_current_object()
        if not user.check_password(form.current_password.data):
            form.current_password.errors.append(_("The password is incorrect."))
        else:
            try:
                set_password(user, form.password.data)
                _audit_in_every_tenant(user, "user.password_change")
                db.session.commit()
            except UserError as exc:
                db.session.rollback()
                getattr(form, exc.field, form.password).errors.append(str(exc))
            else:
                session[SESSION_GENERATION_KEY] = user.session_generation
                flash(_("Your password was changed. Your other sessions were closed."), "success")
                return redirect(url_for("auth.account"), code=303)
        status = 422
    elif form.is_submitted():
        status = 422
    return render_template("auth/change_password.html", form=form), status


# --------------------------------------------------------------------------- password reset
_RESET_SALT = "comun-password-reset"


def _reset_serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=_RESET_SALT)


def _password_fingerprint(user: User) -> str:
    """16 hex digits of the SHA-256 of the user's password hash and session generation: a
    reset token carries it, so the token stops working once the password changes or the user's
    sessions are revoked (single use, as Django's PasswordResetTokenGenerator)."""
    material = f"{user.password_hash}|{user.session_generation or 0}".encode()
    return hashlib.sha256(material).hexdigest()[:16]


def make_reset_token(user: User) -> str:
    """A signed, time-stamped password-reset token for ``user`` (itsdangerous
    ``URLSafeTimedSerializer`` with the secret key and its own salt). It expires after
    ``PASSWORD_RESET_MAX_AGE`` seconds and works once (see :func:`_password_fingerprint`)."""
    return _reset_serializer().dumps({"u": user.id, "f": _password_fingerprint(user)})


def user_for_reset_token(token: str) -> User | None:
    """The active user a reset token is for, or ``None`` when the token is forged, expired,
    already used (the password or the sessions changed since) or the account is inactive."""
    try:
        data = _reset_serializer().loads(token, max_age=int(current_app.config["PASSWORD_RESET_MAX_AGE"]))
    except BadData:
        return None
    if not isinstance(data, dict):
        return None
    user = db.session.get(User, data.get("u")) if isinstance(data.get("u"), int) else None
    if user is None or not user.is_active or not hmac.compare_digest(str(data.get("f")), _password_fingerprint(user)):
        return None
    return user


@bp.route("/contrasena/olvide", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config["PASSWORD_RESET_RATE_LIMIT"], methods=["POST"])
def forgot_password():
    """Ask for a password-reset link by e-mail. The answer is the same whether the address has an
    account or not (no account enumeration): the same redirect, and the same work on the server
    (the message is rendered and a mail row written in both cases; for an address without an
    active account the row has no recipient and is never sent: status ``dropped``)."""
    form = PasswordResetRequestForm()
    if form.validate_on_submit():
        user = find_user(form.email.data)
        known = user is not None and user.is_active
        row = send_mail(form.email.data if known else "", "password_reset", kind="password_reset",
                        locale=str(get_locale()),
                        context={"link": url_for("auth.reset_password", token=make_reset_token(user) if known else "x",
                                                 _external=True),
                                 "minutes": int(current_app.config["PASSWORD_RESET_MAX_AGE"]) // 60})
        if not known:
            row.status = "dropped"
        db.session.commit()
        return redirect(url_for("auth.forgot_password_sent"), code=303)
    return render_template("auth/forgot_password.html", form=form), 422 if form.is_submitted() else 200


@bp.get("/contrasena/enviado")
def forgot_password_sent():
    """What every password-reset request sees next, whatever the address."""
    return render_template("auth/forgot_password_sent.html",
                           minutes=int(current_app.config["PASSWORD_RESET_MAX_AGE"]) // 60)


@bp.route("/contrasena/nueva/<token>", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config["LOGIN_RATE_LIMIT"], methods=["POST"])
def reset_password(token: str):
    """Choose a new password from a reset link. A forged, expired or used link answers 410 with
    a way to ask for a new one. Success ends every session of the user, audits the change and
    goes to the log-in page."""
    user = user_for_reset_token(token)
    if user is None:
        response = current_app.make_response((render_template("auth/reset_invalid.html"), 410))
        response.headers["Referrer-Policy"] = "no-referrer"
        return response
    form = PasswordResetForm()
    status = 200
    if form.validate_on_submit():
        try:
            set_password(user, form.password.data)
            revoke_sessions(user, commit=False)
            _audit_in_every_tenant(user, "user.password_reset")
            db.session.commit()
        except UserError as exc:
            db.session.rollback()
            getattr(form, exc.field, form.password).errors.append(str(exc))
        else:
            flash(_("Your password was changed. Log in with the new one."), "success")
            return redirect(url_for("auth.login"), code=303)
        status = 422
    elif form.is_submitted():
        status = 422
    response = current_app.make_response((render_template("auth/reset_password.html", form=form, token=token), status))
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["Cache-Control"] = "no-store"
    return response


def _audit_in_every_tenant(user: User, action: str) -> None:
    """Add an audit event ``action`` about ``user`` (no secret in it) to each tenant where the
    user has a role, in the current transaction."""
    state = current_app.extensions["comun"]
    for slug in tenants_of(user):
        with tenant_context(state.tenants[slug]):
            record_audit(action, "user", user.id, None, {"email": user.email}, user=user)
            db.session.flush()


def _invitation_or_error(token: str):
    """Return ``(invitation, tenant, None)`` for a usable token, or ``(None, None, response)``
    with the error page (404 unknown, 410 used or expired)."""
    invitation = db.session.scalar(select(Invitation).where(Invitation.token_hash == token_hash(token))
                                   .execution_options(all_tenants=True))
    tenant = invitation and current_app.extensions["comun"].tenants.get(invitation.tenant_id)
    if invitation is None or tenant is None:
        message, status = _("This invitation link is not valid. Check that you copied it whole."), 404
    elif invitation.accepted_at is not None:
        message, status = _("This invitation was already used. Log in with your account."), 410
    elif invitation.expires_at <= utcnow():
        message, status = _("This invitation expired. Ask the administrator for a new one."), 410
    else:
        return invitation, tenant, None
    return None, None, (render_template("auth/invitation_invalid.html", message=message), status)


@bp.route("/invitacion/<token>", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config["LOGIN_RATE_LIMIT"], methods=["POST"])
def accept_invitation(token: str):
    """Accept an invitation.

    A new person chooses a name and a password; a person who already has an account confirms
    with their current password. The membership is added in the invitation's tenant, the
    invitation is marked used (once, atomically), an audit event is written, the user is logged
    in and sent to the tenant's dashboard. Unknown tokens give 404; used or expired ones 410.
    """
    invitation, tenant, error = _invitation_or_error(token)
    if error:
        return error
    existing = find_user(invitation.email)
    form = AcceptInvitationExistingForm() if existing else AcceptInvitationForm()
    status = 200
    if form.validate_on_submit():
        if existing and not existing.check_password(form.password.data):
            form.password.errors.append(_("The password is incorrect."))
        elif existing and not existing.is_active:
            form.form_errors.append(_inactive_message(existing))
        else:
            user = _accept(invitation, tenant, existing, form)
            if user is not None:
                _start_session(user)
                flash(_("Welcome! You joined %(name)s.", name=tenant.short_name), "success")
                return redirect(url_for("admin.dashboard", tenant=tenant.slug), code=303)
            if not form.errors:  # used meanwhile by another request
                return _invitation_or_error(token)[2]
        status = 422
    elif form.is_submitted():
        status = 422
    return render_template("auth/accept_invitation.html", form=form, invitation=invitation, tenant=tenant,
                           existing=existing, role_label=ROLE_LABELS.get(invitation.role, invitation.role)), status


def _accept(invitation: Invitation, tenant, existing: User | None, form) -> User | None:
    """Create the user or membership and mark ``invitation`` used, in one transaction.

    Returns the user, or ``None`` when nothing was stored: invitation used meanwhile (no form
    error) or invalid user data (error added to ``form``).
    """
    with tenant_context(tenant):
        try:
            claimed = db.session.execute(
                update(Invitation).where(Invitation.id == invitation.id, Invitation.accepted_at.is_(None))
                .values(accepted_at=utcnow()).execution_options(synchronize_session=False))
            if claimed.rowcount != 1:
                db.session.rollback()
                return None
            if existing is not None:
                user = create_user(existing.email, password="", role=invitation.role, tenant=tenant, commit=False)
            else:
                user = create_user(invitation.email, password=form.password.data, role=invitation.role,
                                   tenant=tenant, name=form.name.data, commit=False)
            record_audit("invitation.accept", "invitation", invitation.id, before={"accepted_at": None},
                         after={"email": user.email, "user_id": user.id, "role": invitation.role,
                                "new_user": existing is None}, user=user)
            db.session.commit()
        except UserError as exc:
            db.session.rollback()
            field = getattr(form, exc.field, None)
            (field.errors if field is not None else form.form_errors).append(str(exc))
            return None
        except Exception:
            db.session.rollback()
            raise
    return user
