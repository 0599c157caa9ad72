"""A tenant's public site (blueprint ``public``, mounted at ``/<tenant>``).

Home, pages, the seven STL sections, open-data downloads, the public feedback and sign-up forms,
the version history of every published record (with canonical JSON and diffs), evidence files,
the tenant logo and the theme's static files.

Everything here runs inside a tenant request: the global tenant filter limits every query to
``flask.g.tenant``. Drafts are never public: staff of the tenant see them with a banner.
"""
from __future__ import annotations

import hashlib
import hmac
import secrets
import time

import filetype
from flask import (Blueprint, Response, abort, current_app, flash, g, redirect, render_template,
                   request, send_file, stream_with_context, url_for)
from flask_babel import get_locale, gettext as _, lazy_gettext as _l
from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy import Integer, inspect as sa_inspect, select
from werkzeug.routing import BuildError
from wtforms import BooleanField, EmailField, HiddenField, RadioField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, Optional, ValidationError

from comun_cms import publishing
from comun_cms.business_days import add_business_days
from comun_cms.extensions import db, limiter
from comun_cms.filestore import get_store
from comun_cms.folios import FOLIO_CODES, next_folio
from comun_cms.forms import FEEDBACK_STATUS_LABELS, EmailAddress, Form
from comun_cms.mail import send_mail
from comun_cms.models import Attachment, Feedback, Page
from comun_cms.opendata import iter_csv, iter_json
from comun_cms.permissions import VIEW_UNPUBLISHED, can, can_view_unpublished, deny_unpublished
from comun_cms.plugins import flatten, tenant_hook
from comun_cms.request_stats import request_stats
from comun_cms.privacy import ConsentMixin
from comun_cms.site import SECTIONS, get_section
from comun_cms.tenancy import get_current_tenant, tenant_context
from comun_cms.uploads import content_disposition
from comun_cms.views.portal import content_type_label, latest_publications
from comun_cms.views.templating import DEFAULT_LOGO, serve_colors_css, serve_theme_file

bp = Blueprint("public", __name__)

#: Seconds a file download may be cached (content is addressed by SHA-256, so it never changes).
FILE_MAX_AGE = 365 * 24 * 3600
INLINE_KINDS = ("image", "pdf", "audio", "video")
#: A form sent sooner than this after it was shown is treated as a robot (seconds).
FORM_MIN_AGE = 3
#: A form older than this must be reloaded (seconds).
FORM_MAX_AGE = 2 * 3600
LICENCES = {"CC-BY-4.0": ("CC BY 4.0", "https://creativecommons.org/licenses/by/4.0/")}
ACTION_LABELS = {"publish": _l("Published"), "correct": _l("Corrected"), "retract": _l("Retracted"),
                 "redact": _l("Redacted")}
FEEDBACK_KINDS = (("question", _l("Question")), ("complaint", _l("Complaint")), ("suggestion", _l("Suggestion")))
SECTORS = (("government", _l("Government")), ("civil_society", _l("Civil society")),
           ("guarantor", _l("Transparency authority")), ("academia", _l("Academia")),
           ("private", _l("Private sector")))


# --------------------------------------------------------------------------- helpers
def is_staff() -> bool:
    """``True`` if the current user may see the current tenant's drafts and non-public files
    (permission ``content.view_unpublished``: admins, editors, trainers; not evaluators)."""
    return can(VIEW_UNPUBLISHED)


def _strip(value):
    return value.strip() if isinstance(value, str) else value


def _record_for(content_type, record_id: str):
    """Load the record ``record_id`` of a content type in the current tenant, or ``None``."""
    model = content_type.model
    pk = sa_inspect(model).primary_key[0]
    if isinstance(pk.type, Integer):
        if not (record_id.isascii() and record_id.isdigit()) or not 0 < int(record_id) < 2**31:
            return None
        key = int(record_id)
    else:
        key = record_id
    return db.session.scalar(select(model).where(pk == key))


# --------------------------------------------------------------------------- spam guard
def _token_serializer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.secret_key, salt="comun-cms.public-form")


def make_form_token(form_name: str, tenant_slug: str | None = None, issued_at: float | None = None) -> str:
    """Return a signed token recording when form ``form_name`` was shown.

    Args:
        form_name: ``"feedback"`` or ``"join"``.
        tenant_slug: the tenant (default: the current request's).
        issued_at: UNIX time in seconds (default: now); tests use it to make an older token.
    """
    slug = tenant_slug or g.tenant.slug
    return _token_serializer().dumps({"f": form_name, "t": slug, "at": int(issued_at or time.time())})


def check_form_token(token: str, form_name: str, max_age: float = FORM_MAX_AGE,
                     min_age: float = FORM_MIN_AGE) -> str | None:
    """Check a token from :func:`make_form_token`.

    Args:
        token: the signed token sent back by the form.
        form_name: the form it must have been made for.
        max_age: oldest acceptable token, in seconds (default 2 hours).
        min_age: youngest acceptable token, in seconds (default 3: people take longer).

    Returns ``None`` when the form was shown between 3 seconds and ``max_age`` ago in this
    tenant, else ``"invalid"``, ``"too_fast"`` or ``"expired"``.
    """
    try:
        data = _token_serializer().loads(token or "")
    except BadSignature:
        return "invalid"
    if not isinstance(data, dict) or data.get("f") != form_name or data.get("t") != g.tenant.slug:
        return "invalid"
    age = time.time() - float(data.get("at", 0))
    if age < min_age:
        return "too_fast"
    if age > max_age:
        return "expired"
    return None


def _honeypot_empty(form, field):
    if field.data:
        raise ValidationError("honeypot")


class PublicForm(Form):
    """Base of the public forms: CSRF (Flask-WTF), a honeypot field people never see and a
    signed timestamp. ``form_name`` identifies the form in the token."""

    form_name = ""
    #: True for a form shown on pages the anonymous page cache keeps (the "Seguir" form): its
    #: token may be as old as a cached page, so it is accepted for PAGE_CACHE_TIMEOUT + 2 hours,
    #: and it records the hour the page was made (no "sent too quickly" check).
    on_cached_pages = False
    website = StringField(_l("Leave this field empty"), validators=[_honeypot_empty],
                          render_kw={"autocomplete": "off", "tabindex": "-1"})
    issued = HiddenField()

    @property
    def is_spam(self) -> bool:
        """``True`` when the honeypot was filled in."""
        return bool(self.website.data)

    def check_timing(self) -> bool:
        """Validate the timestamp; on failure add a form-level error (and renew the token when
        it is unusable). Returns ``True`` when the timing is acceptable."""
        max_age, min_age = FORM_MAX_AGE, FORM_MIN_AGE
        if self.on_cached_pages:  # its token tells the hour the page was made, not when it was read
            max_age, min_age = max_age + float(current_app.config.get("PAGE_CACHE_TIMEOUT", 0)), 0
        problem = check_form_token(self.issued.data, self.form_name, max_age, min_age)
        if problem is None:
            return True
        messages = {
            "too_fast": _l("The form was sent too quickly. Please check it and send it again."),
            "expired": _l("The form expired. Please send it again."),
            "invalid": _l("The form could not be verified. Please send it again."),
        }
        self.form_errors.append(messages[problem])
        if problem != "too_fast":
            self.issued.data = make_form_token(self.form_name)
        return False

    def issue_token(self) -> None:
        """Give a blank form its signed timestamp (call it when showing the form; a posted form
        keeps the token it came with)."""
        if not self.issued.data:
            self.issued.data = make_form_token(self.form_name)

    def check_submission(self) -> str:
        """Check a posted public form the way the core's public forms are checked.

        Returns ``"spam"`` when the honeypot was filled in (store nothing and answer as if it
        worked, so robots learn nothing), ``"invalid"`` when a field or the timestamp is wrong
        (the errors are on the form: fields name themselves, the timestamp is a form-level error)
        or ``"ok"``."""
        if self.is_spam:
            return "spam"
        timing_ok = self.check_timing()
        return "ok" if (self.validate() and timing_ok) else "invalid"


def public_form_rate_limit(view):
    """View decorator: the rate limit of the core's public forms (setting
    ``FEEDBACK_RATE_LIMIT``, per client address, default ``5 per minute;30 per day``) on the
    view's ``POST`` requests only (showing the form is not limited). Over the limit the client
    gets ``429 Too Many Requests``. Put it below the route decorator."""
    return limiter.limit(lambda: current_app.config["FEEDBACK_RATE_LIMIT"], methods=["POST"])(view)


_REQUIRED = _l("This field is required.")


def _max(n: int):
    return Length(max=n, message=_l("Use at most %(max)d characters.", max=n))


class FeedbackForm(PublicForm, ConsentMixin):
    """Questions, complaints and suggestions (``feedback`` section), with the privacy consent."""

    form_name = "feedback"
    kind = RadioField(_l("Type"), choices=[SelectChoice(v, label) for v, label in FEEDBACK_KINDS], default="question",
                      validators=[DataRequired(_REQUIRED)])
    name = StringField(_l("Name (optional)"), filters=[_strip], validators=[Optional(), _max(200)],
                       render_kw={"maxlength": 200, "autocomplete": "name"})
    email = EmailField(_l("E-mail (optional, if you want an answer)"), filters=[_strip],
                       validators=[Optional(), EmailAddress(), _max(254)],
                       render_kw={"maxlength": 254, "autocomplete": "email"})
    subject = StringField(_l("Subject"), filters=[_strip], validators=[DataRequired(_REQUIRED), _max(300)],
                          render_kw={"maxlength": 300})
    message = TextAreaField(_l("Message"), filters=[_strip], validators=[DataRequired(_REQUIRED), _max(5000)],
                            render_kw={"maxlength": 5000, "rows": 6})
    publish_consent = BooleanField(_l("If the answer is of general interest, I agree that the secretariat publishes "
                                      "my question and its answer without my name or any data that identifies me."))


class JoinForm(PublicForm, ConsentMixin):
    """Sign-up to the open-government exercises (``join`` section), with the privacy consent."""

    form_name = "join"
    name = StringField(_l("Name"), filters=[_strip], validators=[DataRequired(_REQUIRED), _max(200)],
                       render_kw={"maxlength": 200, "autocomplete": "name"})
    email = EmailField(_l("E-mail"), filters=[_strip], validators=[DataRequired(_REQUIRED), EmailAddress(), _max(254)],
                       render_kw={"maxlength": 254, "autocomplete": "email"})
    organization = StringField(_l("Organization (optional)"), filters=[_strip], validators=[Optional(), _max(200)],
                               render_kw={"maxlength": 200, "autocomplete": "organization"})
    sector = SelectField(_l("Sector (optional)"), default="",
                         choices=[SelectChoice("", _l("Choose a sector"))] + [SelectChoice(v, label) for v, label in SECTORS])
    message = TextAreaField(_l("Message (optional)"), filters=[_strip], validators=[Optional(), _max(5000)],
                            render_kw={"maxlength": 5000, "rows": 5})


FORMS = {"feedback": FeedbackForm, "join": JoinForm}


def _new_form(key: str):
    form = FORMS[key](formdata=None)
    form.issued.data = make_form_token(key)
    return form


def _ip_hash() -> str:
    """Keyed hash of the client address (lets moderators spot floods without storing the IP)."""
    key = str(current_app.secret_key).encode()
    return hmac.new(key, (request.remote_addr or "").encode(), hashlib.sha256).hexdigest()


# --------------------------------------------------------------------------- home, theme, logo
@bp.get("/")
def home():
    """Tenant home: secretariat, the seven sections and the latest publications."""
    return render_template("public/home.html", sections=SECTIONS, publications=latest_publications(10),
                           content_type_label=content_type_label)


@bp.get("/theme/<path:filename>")
def theme_static(filename: str):
    """Theme static file through the tenant's override chain (404 if absent)."""
    return serve_theme_file(filename)


@bp.get("/theme-colors.css")
def theme_colors():
    """The tenant's colours as a stylesheet (``:root`` custom properties; see
    :func:`comun_cms.views.templating.colors_css`)."""
    return serve_colors_css()


@bp.get("/logo")
def logo():
    """The tenant's logo: the image uploaded in Configuración, else the file of its state folder,
    else the theme's emblem (:data:`~comun_cms.views.templating.DEFAULT_LOGO`)."""
    source = None
    if g.tenant.logo_sha256:
        source = get_store().open(g.tenant.slug, g.tenant.logo_sha256)
    if source is not None:
        mimetype = filetype.guess_mime(source.read(8192))
        response = _send_reader(source, mimetype=mimetype or "application/octet-stream", max_age=3600,
                                etag=g.tenant.logo_sha256)
    elif g.tenant.logo_path is not None and g.tenant.logo_path.is_file():
        response = send_file(g.tenant.logo_path, max_age=3600, conditional=True)
    else:
        return serve_theme_file(DEFAULT_LOGO)
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Security-Policy"] = "default-src 'none'; style-src 'unsafe-inline'; sandbox"
    return response


# --------------------------------------------------------------------------- pages
@bp.get("/p/<slug>")
def page(slug: str):
    """A content page.

    Published pages are public. Drafts answer 404 (403 to a member of the tenant without the
    permission, such as an evaluator) except to the tenant's staff, who see a draft banner. Retracted pages answer 410 with a tombstone giving the retraction reason.
    """
    record = db.session.scalar(select(Page).where(Page.slug == slug))
    staff = is_staff()
    if record is None:
        abort(404)
    if record.status == "draft" and not staff:
        deny_unpublished()
    ct = current_app.extensions["comun"].content_types.get("page")
    latest = publishing.latest_publication("page", record.id)
    section = get_section(record.section)
    if record.status == "retracted":
        return render_template("public/retracted.html", record=record, publication=latest,
                               content_type=ct, section=section), 410
    attachments = [a for a in ct.attachments(record) if a.public or staff or can_view_unpublished(a.owner_type)]
    return render_template("public/page.html", page=record, content_type=ct, publication=latest,
                           attachments=attachments, section=section)


# --------------------------------------------------------------------------- sections
def _datasets() -> list:
    return flatten(tenant_hook(g.tenant, "open_datasets")(tenant=g.tenant))


def _render_section(key: str, forms: dict | None = None, status: int = 200):
    section = get_section(key)
    if section is None:
        abort(404)
    pages = db.session.scalars(select(Page).where(Page.section == key, Page.status == "published")
                               .order_by(Page.title)).all()
    context = {"section": section, "pages": pages}
    if key == "open_data":
        context["datasets"] = [{"dataset": ds, "count": sum(1 for _row in ds.rows()),
                                "licence": LICENCES.get(ds.licence, (ds.licence, None))} for ds in _datasets()]
    if key == "feedback":
        context["stats_rows"], context["stats_total"] = request_stats([get_current_tenant()])
    if key in FORMS:
        context["form"] = (forms or {}).get(key) or _new_form(key)
    return render_template("public/section.html", **context), status


@bp.get("/seccion/<key>")
def section(key: str):
    """One of the seven STL sections (404 for an unknown key): its pages, the plugins' slot
    ``section.<key>`` and, per section, contact details, datasets or a form."""
    return _render_section(key)


def _submit(key: str):
    """Handle a public form POST: spam checks, validation, a ``Feedback`` row, PRG redirect."""
    form = FORMS[key]()
    done = redirect(url_for("public.section", key=key))
    if form.is_spam:
        # Pretend it worked so robots learn nothing; store nothing.
        flash(_("Thank you! We received your message."), "success")
        return done
    timing_ok = form.check_timing()
    if not (form.validate() and timing_ok):
        return _render_section(key, {key: form}, status=400)
    data = {name: getattr(form, name).data or "" for name in ("name", "email", "organization", "sector", "subject", "message")
            if hasattr(form, name)}
    if hasattr(form, "publish_consent"):
        data["publish_consent"] = bool(form.publish_consent.data)
    data.update(form.consent_fields())
    if key == "join":
        db.session.add(Feedback(kind="join", status="new", ip_hash=_ip_hash(), **data))
        db.session.commit()
        flash(_("Thank you for your interest! The secretariat will contact you."), "success")
        return done
    item, token = open_request(form.kind.data, data)
    db.session.commit()
    return redirect(url_for("public.tracking", token=token, nuevo=1), code=303)


def open_request(kind: str, data: dict) -> tuple[Feedback, str]:
    """Store a question, complaint or suggestion with its folio, its answer deadline and a private
    tracking token, and queue the acknowledgement e-mail when an address was given (same
    transaction; the caller commits).

    Args:
        kind: ``question``, ``complaint`` or ``suggestion``.
        data: the form's fields (``name``, ``email``, ``subject``, ``message``) and the consent
            (``consent_notice_id``, ``consent_at``, see :class:`comun_cms.privacy.ConsentMixin`).

    Returns ``(feedback row, tracking token)``; only the token's SHA-256 is stored."""
    tenant = get_current_tenant()
    today = tenant.today()
    token = secrets.token_urlsafe(24)
    item = Feedback(kind=kind, status="new", ip_hash=_ip_hash(), locale=str(get_locale()),
                    folio=next_folio(tenant.slug, FOLIO_CODES[kind], today.year),
                    tracking_hash=hashlib.sha256(token.encode()).hexdigest(),
                    due_on=add_business_days(today, tenant.answer_days, tenant.days_off), **data)
    db.session.add(item)
    if item.email:
        send_mail(item.email, "request_received", tenant=tenant, locale=item.locale, kind="request_received",
                  context={"item": item, "kind_label": dict(FEEDBACK_KINDS)[kind],
                           "link": url_for("public.tracking", token=token, _external=True)})
    return item, token


@bp.get("/seguimiento/<token>")
def tracking(token: str):
    """The private tracking page of a request (no account needed): folio, status, deadline and
    the answer. Unknown tokens are 404; the page is never cached nor indexed, and sends no
    referrer (the token is in its address)."""
    item = db.session.scalar(select(Feedback).where(
        Feedback.tracking_hash == hashlib.sha256(token.encode()).hexdigest()))
    if item is None:
        abort(404)
    response = current_app.make_response(render_template(
        "public/tracking.html", item=item, new=request.args.get("nuevo") == "1",
        kind_label=dict(FEEDBACK_KINDS).get(item.kind, item.kind),
        status_label=FEEDBACK_STATUS_LABELS.get(item.status, item.status)))
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Robots-Tag"] = "noindex"
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


@bp.post("/seccion/feedback")
@limiter.limit(lambda: current_app.config["FEEDBACK_RATE_LIMIT"])
def feedback_submit():
    """Receive a question, complaint or suggestion (rate-limited)."""
    return _submit("feedback")


@bp.post("/seccion/join")
@limiter.limit(lambda: current_app.config["FEEDBACK_RATE_LIMIT"])
def join_submit():
    """Receive a sign-up to the open-government exercises (rate-limited)."""
    return _submit("join")


# --------------------------------------------------------------------------- open data
@bp.get("/datos/<name>.<any(csv, json):fmt>")
def dataset_download(name: str, fmt: str):
    """Stream dataset ``name`` as CSV (UTF-8 with BOM) or JSON; 404 for an unknown dataset.

    The file is offered as ``<tenant>-<name>.<fmt>``.
    """
    dataset = next((ds for ds in _datasets() if ds.name == name), None)
    if dataset is None:
        abort(404)
    tenant = g.tenant

    def generate():
        with tenant_context(tenant):
            if fmt == "csv":
                yield from iter_csv(dataset)
            else:
                yield from iter_json(dataset, {"tenant": tenant.slug, "title": str(dataset.title)})

    mimetype = "text/csv; charset=utf-8" if fmt == "csv" else "application/json"
    response = Response(stream_with_context(generate()), content_type=mimetype)
    response.headers["Content-Disposition"] = content_disposition("attachment", f"{tenant.slug}-{name}.{fmt}")
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


# --------------------------------------------------------------------------- history
def _publications_or_404(content_type: str, record_id: str) -> list:
    versions = publishing.history(content_type, record_id)
    if not versions:
        abort(404)
    return versions


def field_label(key: str, labels: dict) -> str:
    """Name of a changed field of :func:`comun_cms.publishing.diff_publications` (``"body"``,
    ``"attachments.0.sha256"``) from the content type's ``field_labels``: each named part by its
    label, list positions as 1-based numbers, e.g. ``"Hitos › 3 › Peso"``; unnamed parts stay."""
    parts = []
    for part in key.split("."):
        parts.append(str(int(part) + 1) if part.isdigit() else str(labels.get(part, part)))
    return " › ".join(parts)


@bp.get("/historial/<content_type>/<record_id>")
def history(content_type: str, record_id: str):
    """Every published version of a record (404 when it has none: drafts have no public
    history), with a comparison of versions ``?a=<n>&b=<n>``."""
    versions = _publications_or_404(content_type, record_id)
    by_version = {p.version: p for p in versions}
    a, b = request.args.get("a", type=int), request.args.get("b", type=int)
    changes = None
    if a is not None and b is not None:
        if a not in by_version or b not in by_version:
            abort(404)
        changes = publishing.diff_publications(by_version[a], by_version[b])
    latest = versions[-1]
    record_url = None
    registry = current_app.extensions["comun"].content_types
    labels = {"attachments": _("Attached files"), "sha256": "SHA-256", "filename": _("File name"),
              "title": _("Title"), "size": _("Size"), "mimetype": _("File type")}
    if content_type in registry:
        labels.update(registry.get(content_type).field_labels)
    if not publishing.is_withdrawn(latest) and content_type in registry:
        ct = registry.get(content_type)
        record = _record_for(ct, record_id)
        if record is not None and record.status == "published":
            try:
                record_url = ct.url(record)
            except BuildError:
                record_url = None
    default_a = a if a is not None else (versions[-2].version if len(versions) > 1 else latest.version)
    default_b = b if b is not None else latest.version
    return render_template("public/history.html", versions=list(reversed(versions)), latest=latest,
                           content_type=content_type, content_type_label=content_type_label(content_type),
                           record_id=record_id, record_url=record_url, changes=changes, a=default_a, b=default_b,
                           compared=(a, b) if changes is not None else None, action_labels=ACTION_LABELS,
                           field_label=lambda key: field_label(key, labels))


@bp.get("/historial/<content_type>/<record_id>/v<int:version>.json")
def history_json(content_type: str, record_id: str, version: int):
    """The canonical JSON of one version, byte for byte as hashed (``application/json``).

    A redacted version answers 410 Gone with its stub (metadata, no content, the legal basis
    under ``redacted``): its bytes no longer match its SHA-256, which stays in the log."""
    pub = next((p for p in _publications_or_404(content_type, record_id) if p.version == version), None)
    if pub is None:
        abort(404)
    if pub.redaction_id is not None:
        gone = Response(pub.canonical_json.encode("utf-8"), status=410, content_type="application/json")
        gone.headers["X-Content-Type-Options"] = "nosniff"
        return gone
    response = Response(pub.canonical_json.encode("utf-8"), content_type="application/json")
    response.headers["Content-Disposition"] = content_disposition(
        "attachment", f"{g.tenant.slug}-{content_type}-{record_id}-v{version}.json")
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.set_etag(pub.sha256)
    response.cache_control.public = True
    response.cache_control.max_age = FILE_MAX_AGE
    return response.make_conditional(request)


# --------------------------------------------------------------------------- files
def _visible_attachment(attachment_id: int) -> Attachment:
    att = db.session.scalar(select(Attachment).where(Attachment.id == attachment_id))
    if att is None:
        abort(404)
    if att.redacted_at is not None:
        abort(410)  # removed by a redaction: the bytes are gone (see the record's history)
    if not (att.public or can_view_unpublished(att.owner_type)):
        deny_unpublished()
    return att


def _send_reader(reader, *, mimetype: str, etag: str, max_age: int, last_modified=None):
    """``send_file`` for a seekable reader of the upload store (not a path): with its
    ``Content-Length`` and HTTP range and conditional requests (RFC 9110 sections 13 and 14), which
    ``send_file`` only gives to paths and ``BytesIO``. 404 when ``reader`` is ``None``."""
    if reader is None:
        abort(404)
    size = reader.seek(0, 2)
    reader.seek(0)
    response = send_file(reader, mimetype=mimetype, conditional=False, etag=etag, max_age=max_age,
                         last_modified=last_modified)
    response.content_length = size
    return response.make_conditional(request.environ, accept_ranges=True, complete_length=size)


def _send_stored(variant: str, att: Attachment, mimetype: str, filename: str, inline: bool):
    """Serve ``att``'s file (``variant`` ``""``) or thumbnail (``"thumb"``) from the upload store
    (:mod:`comun_cms.filestore`): from its path on the filesystem store, else streamed from the
    database; 404 when it is not stored."""
    store = get_store()
    source = store.local_path(g.tenant.slug, att.sha256, variant)
    if source is not None and not source.is_file():
        abort(404)
    if source is not None:
        response = send_file(source, mimetype=mimetype, conditional=True, etag=att.sha256,
                             max_age=FILE_MAX_AGE if att.public else 0)
    else:
        response = _send_reader(store.open(g.tenant.slug, att.sha256, variant), mimetype=mimetype,
                                etag=att.sha256, max_age=FILE_MAX_AGE if att.public else 0,
                                last_modified=att.created_at)
    response.headers["Content-Disposition"] = content_disposition("inline" if inline else "attachment", filename)
    response.headers["X-Content-Type-Options"] = "nosniff"
    # Chromium's built-in PDF viewer refuses to run in a sandboxed document, so PDFs get the
    # restrictive policy without `sandbox` (the viewer, not the page, runs the document).
    csp = "default-src 'none'" if mimetype == "application/pdf" else "default-src 'none'; sandbox"
    response.headers["Content-Security-Policy"] = csp
    if att.public:
        response.cache_control.public = True
        response.cache_control.immutable = True
    else:
        response.cache_control.private = True
        response.cache_control.no_cache = True
    return response


@bp.get("/archivos/<int:attachment_id>/<filename>")
def attachment(attachment_id: int, filename: str):
    """An evidence file. Public attachments (of published records) are served to everyone,
    others only to users with ``content.view_unpublished`` (or its variant for the file's owner
    type, e.g. evaluators for assessment evidence); members of the tenant without it get 403,
    everyone else 404; a redacted file answers 410 Gone to everyone. The URL's file name is
    cosmetic."""
    att = _visible_attachment(attachment_id)
    return _send_stored("", att, att.mimetype, att.filename,
                        inline=att.kind in INLINE_KINDS)


@bp.get("/archivos/<int:attachment_id>/miniatura")
def thumbnail(attachment_id: int):
    """WebP thumbnail of an image attachment (same visibility rule; 404 if none)."""
    att = _visible_attachment(attachment_id)
    if att.kind != "image":
        abort(404)
    stem = att.filename.rpartition(".")[0] or att.filename
    return _send_stored("thumb", att, "image/webp", f"{stem}-miniatura.webp",
                        inline=True)
