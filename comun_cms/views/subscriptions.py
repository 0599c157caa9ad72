"""Subscriptions on a tenant's site (blueprint ``subscriptions``, mounted at ``/<tenant>``) and the
Atom feeds (blueprints ``feeds`` at ``/<tenant>`` and ``portal_feeds`` at ``/``).

* ``GET/POST /seguir`` — the "Seguir" form (``?tipo=<content type>&id=<record id>`` for a
  record, ``?q=<query>`` for a saved search, nothing for the whole tenant); the same form is shown
  under every published record (``record_footer`` slot) and on the search results;
* ``GET/POST /suscripciones/confirmar/<token>`` — the double opt-in link (GET shows a button, so
  a mail scanner that opens links does not confirm; POST confirms, once);
* ``GET/POST /suscripciones/<token>`` — manage: frequency, stop;
* ``GET/POST /suscripciones/<token>/baja`` — unsubscribe: GET shows a confirm button, POST
  stops (RFC 8058 one-click: no login, no CSRF token; the signed token is the credential);
* ``/feed.atom``, ``/<tenant>/feed.atom``, ``/<tenant>/feed/<content_type>.atom`` — Atom feeds.

Pages reached through a token are never cached or indexed (the site's referrer policy,
``strict-origin-when-cross-origin``, never sends their path to another site).
"""
from __future__ import annotations

import time

from flask import Blueprint, Response, abort, current_app, flash, g, redirect, render_template, request, url_for
from flask_babel import get_locale, gettext as _, lazy_gettext as _l
from markupsafe import Markup
from wtforms import EmailField, HiddenField, RadioField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length

from comun_cms import feeds, subscriptions as service
from comun_cms.content_types import get_registry
from comun_cms.extensions import csrf, db, limiter
from comun_cms.forms import EmailAddress, Form
from comun_cms.models.subscriptions import FREQUENCIES
from comun_cms.privacy import ConsentMixin
from comun_cms.tenancy import get_current_tenant
from comun_cms.views.public import PublicForm, make_form_token

bp = Blueprint("subscriptions", __name__)
feeds_bp = Blueprint("feeds", __name__)
portal_feeds_bp = Blueprint("portal_feeds", __name__)

ATOM = "application/atom+xml; charset=utf-8"
_REQUIRED = _l("This field is required.")


def _frequency_field(default: str = "daily") -> RadioField:
    return RadioField(_l("How often"), default=default, validators=[DataRequired(_REQUIRED)],
                      choices=[SelectChoice(f, service.FREQUENCY_LABELS[f]) for f in FREQUENCIES])


class FollowForm(PublicForm, ConsentMixin):
    """The "Seguir" form: e-mail, frequency, what is followed (hidden fields) and the privacy
    consent of every public form that collects personal data (:class:`ConsentMixin`: the
    simplified notice shown, its version stored with the subscription).

    No CSRF token: the form is on every published record page, and a token would put a session
    cookie on every visitor and keep those pages out of the page cache. A forged request can only
    make the site send a confirmation e-mail (double opt-in) to the address typed, which anyone
    can do with the form itself; the honeypot, the timing token and the rate limit still apply."""

    on_cached_pages = True  # shown in cached record pages and in the per-generation slot memo

    class Meta:
        csrf = False

    form_name = "follow"
    email = EmailField(_l("E-mail"), filters=[lambda v: v.strip() if isinstance(v, str) else v],
                       validators=[DataRequired(_REQUIRED), EmailAddress(), Length(max=254)],
                       render_kw={"maxlength": 254, "autocomplete": "email"})
    frequency = _frequency_field()
    content_type = HiddenField()
    record_id = HiddenField()
    q = HiddenField()


class FrequencyForm(Form):
    """Change the frequency of a subscription (management page)."""

    frequency = _frequency_field()


def new_follow_form(content_type: str = "", record_id: str = "", q: str = "") -> FollowForm:
    """A blank "Seguir" form for a target, with its signed timestamp (spam guard)."""
    form = FollowForm(formdata=None, prefix="follow", content_type=content_type, record_id=record_id, q=q)
    # the hour it was shown, not the second: the form is part of cached record pages, whose body
    # (and ETag) should not change with the clock; its token is accepted for the page cache's
    # lifetime plus 2 hours anyway (PublicForm.on_cached_pages)
    form.issued.data = make_form_token("follow", issued_at=time.time() // 3600 * 3600)
    return form


def _private(response) -> Response:
    response = current_app.make_response(response)
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Robots-Tag"] = "noindex"
    return response


def _follow_page(form: FollowForm, status: int = 200, label: str = ""):
    return render_template("subscriptions/follow.html", form=form, label=label), status


@bp.get("/seguir")
def follow():
    """The "Seguir" page for a record (``tipo``, ``id``), a saved search (``q``) or the tenant;
    404 for an unknown or unpublished record."""
    ct, rid, q = (request.args.get("tipo", ""), request.args.get("id", ""), request.args.get("q", ""))
    try:
        _target, label = service.target_of(ct, rid, q)
    except service.SubscriptionError:
        abort(404)
    return _follow_page(new_follow_form(ct, rid, q), label=label)


@csrf.exempt   # FollowForm carries no CSRF token (see its docstring); the global check would refuse it
@bp.post("/seguir")
@limiter.limit(lambda: current_app.config["FEEDBACK_RATE_LIMIT"])
def follow_submit():
    """Ask to follow: validation (the field at fault is named), spam guard, then a pending
    subscription and its confirmation e-mail in one transaction. The answer is the same whether
    the address already follows the target or not."""
    form = FollowForm(prefix="follow")
    if form.is_spam:
        return render_template("subscriptions/check_mail.html")
    timing_ok = form.check_timing()
    label = ""
    try:
        _target, label = service.target_of(form.content_type.data or "", form.record_id.data or "", form.q.data or "")
    except service.SubscriptionError as exc:
        form.form_errors.append(str(exc))
        return _follow_page(form, 400)
    if not (form.validate() and timing_ok):
        return _follow_page(form, 400, label)
    try:
        service.subscribe(form.email.data, frequency=form.frequency.data, content_type=form.content_type.data or "",
                          record_id=form.record_id.data or "", query=form.q.data or "", locale=str(get_locale()),
                          consent=form.consent_fields())
    except service.SubscriptionError as exc:
        db.session.rollback()
        field = getattr(form, exc.field, None) if exc.field != "record" else None
        if field is not None:
            field.errors = [str(exc)]
        else:
            form.form_errors.append(str(exc))
        return _follow_page(form, 400, label)
    db.session.commit()
    return render_template("subscriptions/check_mail.html", email=form.email.data, label=label)


def _link_error(exc: service.SubscriptionError):
    status = 404 if exc.code == "invalid" else 410
    return _private((render_template("subscriptions/link_error.html", message=str(exc)), status))


@bp.route("/suscripciones/confirmar/<token>", methods=["GET", "POST"])
def confirm(token: str):
    """The double opt-in link: GET shows what will be followed and a button; POST activates the
    subscription (once: 410 when used or expired, 404 when forged) and opens its page."""
    try:
        sub = service.pending_for_token(token) if request.method == "GET" else service.confirm(token)
    except service.SubscriptionError as exc:
        return _link_error(exc)
    if request.method == "GET":
        return _private(render_template("subscriptions/confirm.html", sub=sub, token=token,
                                        frequency_label=service.FREQUENCY_LABELS[sub.frequency]))
    db.session.commit()
    flash(_("Your subscription is active. Every message has a link to change it or to unsubscribe."), "success")
    return redirect(url_for(".manage", token=service.manage_token(sub)), code=303)


@bp.route("/suscripciones/<token>", methods=["GET", "POST"])
def manage(token: str):
    """A subscription's page (from the link in every message): what it follows, its status, a
    frequency form and the unsubscribe button."""
    try:
        sub = service.load_managed(token)
    except service.SubscriptionError as exc:
        return _link_error(exc)
    form = FrequencyForm(frequency=sub.frequency) if request.method == "GET" else FrequencyForm()
    if request.method == "POST":
        if sub.status == "active" and form.validate():
            service.set_frequency(sub, form.frequency.data)
            db.session.commit()
            flash(_("Saved: you will receive the e-mails %(how)s.",
                    how=str(service.FREQUENCY_LABELS[sub.frequency]).lower()), "success")
            return redirect(url_for(".manage", token=token), code=303)
        status = 400
    else:
        status = 200
    return _private((render_template("subscriptions/manage.html", sub=sub, form=form, token=token,
                                     frequency_label=service.FREQUENCY_LABELS[sub.frequency]), status))


@csrf.exempt
@bp.route("/suscripciones/<token>/baja", methods=["GET", "POST"])
def unsubscribe(token: str):
    """Unsubscribe without logging in. GET asks to confirm with a button; POST (the button, or a
    mail client's RFC 8058 one-click ``List-Unsubscribe=One-Click``) stops the subscription."""
    try:
        sub = service.load_managed(token)
    except service.SubscriptionError as exc:
        return _link_error(exc)
    if request.method == "GET":
        return _private(render_template("subscriptions/unsubscribe.html", sub=sub, token=token, done=False))
    service.unsubscribe(sub)
    db.session.commit()
    return _private(render_template("subscriptions/unsubscribe.html", sub=sub, token=token, done=True))


# --------------------------------------------------------------------------- template slots
def follow_box(context: dict) -> Markup | None:
    """``record_footer`` slot: the compact "Seguir" form under a published record (``None`` for
    drafts, retracted records, records of no content type, and after the first form of the
    request: a page that shows several records gets one form, the first one's)."""
    record = context.get("record")
    if record is None or getattr(record, "status", None) != "published" or g.get("follow_box_shown"):
        return None
    ct = context.get("content_type")
    if ct is None:
        try:
            ct = get_registry().for_model(type(record))
        except KeyError:
            return None
    g.follow_box_shown = True  # one form per page: the main record's (the first slot rendered)
    return Markup(render_template("subscriptions/_follow_box.html", form=new_follow_form(ct.name, str(record.id)),
                                  heading=_("Follow this record")))


def feed_links(tenant) -> Markup:
    """``head`` slot: ``<link rel="alternate" type="application/atom+xml">`` to the tenant's feed
    (or the portal's when ``tenant`` is ``None``)."""
    if tenant is None:
        href, title = url_for("portal_feeds.portal_feed"), _("Publications of every state (Atom)")
    else:
        href, title = url_for("feeds.tenant_feed", tenant=tenant.slug), _("Publications of %(site)s (Atom)",
                                                                           site=tenant.short_name)
    return Markup('<link rel="alternate" type="application/atom+xml" href="{}" title="{}">').format(href, title)


def footer_links(tenant) -> Markup | None:
    """``site_footer`` slot: "Seguir este sitio por correo" and the Atom feed (tenant pages)."""
    if tenant is None:
        return None
    return Markup('<p class="follow-links"><a href="{}">{}</a> · <a href="{}" type="application/atom+xml">{}</a></p>').format(
        url_for("subscriptions.follow", tenant=tenant.slug), _("Follow this site by e-mail"),
        url_for("feeds.tenant_feed", tenant=tenant.slug), _("Atom feed"))


# --------------------------------------------------------------------------- feeds
def _atom(body: bytes) -> Response:
    response = Response(body, mimetype="application/atom+xml")
    response.headers["Content-Type"] = ATOM
    response.headers["Cache-Control"] = "public, max-age=300"
    return response


@feeds_bp.get("/feed.atom")
def tenant_feed():
    """The tenant's Atom feed: its newest published versions of every content type."""
    return _atom(feeds.tenant_feed(get_current_tenant()))


@feeds_bp.get("/feed/<content_type>.atom")
def content_type_feed(content_type: str):
    """One content type's Atom feed in the tenant (404 for a type it does not enable)."""
    registry = get_registry()
    tenant = get_current_tenant()
    if content_type not in registry or not tenant.enables(registry.get(content_type).plugin):
        abort(404)
    return _atom(feeds.tenant_feed(tenant, content_type))


@portal_feeds_bp.get("/feed.atom")
def portal_feed():
    """The portal's Atom feed: the newest published versions of every public state."""
    return _atom(feeds.portal_feed(current_app.extensions["comun"].public_tenants()))
