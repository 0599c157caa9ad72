"""Privacy and accessibility pages (see :mod:`comun_cms.privacy` and docs/privacy.md).

Blueprints:

* ``privacy`` (mounted at ``/<tenant>``): the privacy notices (``/aviso-de-privacidad``,
  ``/aviso-de-privacidad/simplificado``), the ARCO request form (``/derechos-arco``) and its
  private tracking page (``/derechos-arco/seguimiento/<token>``), the accessibility statement
  (``/accesibilidad``);
* ``admin_privacy`` (mounted at ``/<tenant>/admin``, role ``admin``): ARCO requests with their
  deadline (``/privacidad/arco``), answering and closing them, and a person's data by e-mail
  address (``/privacidad/datos``): export as JSON or CSV, cancellation;
* ``privacy_portal`` (at ``/``): the portal's accessibility statement (``/accesibilidad``).
"""
from __future__ import annotations

import hashlib
import json
import secrets

from flask import Blueprint, Response, abort, current_app, flash, g, redirect, render_template, request, url_for
from flask_babel import get_locale, gettext as _, lazy_gettext as _l, ngettext
from flask_login import current_user
from sqlalchemy import func, select
from wtforms import BooleanField, EmailField, RadioField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired, Length, ValidationError

from comun_cms import privacy
from comun_cms.business_days import add_business_days
from comun_cms.changes import admin_change
from comun_cms.content_types import jsonable
from comun_cms.database import one_or_404, page_arg
from comun_cms.extensions import db, limiter
from comun_cms.folios import FOLIO_CODES, next_folio
from comun_cms.forms import EmailAddress, Form
from comun_cms.mail import send_mail
from comun_cms.models import ArcoRequest, Page, utcnow
from comun_cms.permissions import require_role
from comun_cms.privacy import ARCO_RIGHTS, ARCO_STATUSES, NOTICE_SLUGS, ConsentMixin
from comun_cms.tenancy import get_current_tenant
from comun_cms.uploads import content_disposition
from comun_cms.views import public
from comun_cms.views.public import PublicForm, make_form_token

bp = Blueprint("privacy", __name__)
admin_bp = Blueprint("admin_privacy", __name__)
portal_bp = Blueprint("privacy_portal", __name__)

PER_PAGE = 50
INVALID = 422
_REQUIRED = _l("This field is required.")


def _strip(value):
    return value.strip() if isinstance(value, str) else value


def _max(n: int):
    return Length(max=n, message=_l("Use at most %(max)d characters.", max=n))


# --------------------------------------------------------------------------- notices
@bp.get("/aviso-de-privacidad")
def integral_notice():
    """The tenant's integral privacy notice (its published page; 404 before ``comun init``)."""
    return public.page(NOTICE_SLUGS["integral"])


@bp.get("/aviso-de-privacidad/simplificado")
def simplified_notice():
    """The tenant's simplified privacy notice (its published page)."""
    return public.page(NOTICE_SLUGS["simplified"])


# --------------------------------------------------------------------------- accessibility
def _render_accessibility():
    tenants = [] if g.get("tenant") else list(current_app.extensions["comun"].public_tenants().values())
    return render_template("public/accessibility.html", state_tenants=tenants)


@bp.get("/accesibilidad")
def accessibility():
    """The tenant's accessibility statement (WCAG 2.1 AA target, how it is tested, known
    limitations, contact)."""
    return _render_accessibility()


@portal_bp.get("/accesibilidad")
def portal_accessibility():
    """The portal's accessibility statement."""
    return _render_accessibility()


# --------------------------------------------------------------------------- ARCO (public)
class ArcoForm(PublicForm, ConsentMixin):
    """An ARCO request: right, name, e-mail (required: the answer goes there), description."""

    form_name = "arco"
    right = RadioField(_l("Right you want to exercise"), choices=[SelectChoice(k, v) for k, v in ARCO_RIGHTS.items()],
                       validators=[InputRequired(_l("Choose the right you want to exercise."))])
    name = StringField(_l("Full name"), filters=[_strip], validators=[DataRequired(_REQUIRED), _max(200)],
                       render_kw={"maxlength": 200, "autocomplete": "name"})
    email = EmailField(_l("E-mail"), filters=[_strip], validators=[DataRequired(_REQUIRED), EmailAddress(), _max(254)],
                       render_kw={"maxlength": 254, "autocomplete": "email"})
    description = TextAreaField(
        _l("Describe your request"), filters=[_strip], validators=[DataRequired(_REQUIRED), _max(5000)],
        description=_l("Which data, in which form or request, and what you want us to do with them."),
        render_kw={"maxlength": 5000, "rows": 6})


def _new_arco_form() -> ArcoForm:
    form = ArcoForm(formdata=None)
    form.issued.data = make_form_token("arco")
    return form


def _render_arco(form: ArcoForm, status: int = 200):
    return render_template("public/arco.html", form=form), status


@bp.get("/derechos-arco")
def arco():
    """The ARCO request form, with the simplified privacy notice and the consent."""
    return _render_arco(_new_arco_form())


def open_arco_request(data: dict) -> tuple[ArcoRequest, str]:
    """Store an ARCO request with its folio (``<TENANT>-<YEAR>-AR-<n>``), its legal deadline
    (``Tenant.arco_days`` business days, default 20) and a private tracking token, and queue
    the acknowledgement e-mail (same transaction; the caller commits).

    Args:
        data: ``right``, ``name``, ``email``, ``description``, ``consent_notice_id``,
            ``consent_at``.

    Returns ``(request row, tracking token)``; only the token's SHA-256 is stored."""
    tenant = get_current_tenant()
    today = tenant.today()
    token = secrets.token_urlsafe(24)
    item = ArcoRequest(folio=next_folio(tenant.slug, FOLIO_CODES["arco"], today.year), status="received",
                       due_on=add_business_days(today, tenant.arco_days, tenant.days_off),
                       tracking_hash=hashlib.sha256(token.encode()).hexdigest(), locale=str(get_locale()),
                       ip_hash=public._ip_hash(), **data)
    db.session.add(item)
    send_mail(item.email, "arco_received", tenant=tenant, locale=item.locale, kind="arco_received",
              context={"item": item, "right_label": ARCO_RIGHTS[item.right],
                       "link": url_for("privacy.arco_tracking", token=token, _external=True)})
    return item, token


@bp.post("/derechos-arco")
@limiter.limit(lambda: current_app.config["FEEDBACK_RATE_LIMIT"])
def arco_submit():
    """Receive an ARCO request (rate-limited; honeypot and timing checks like the other public
    forms); on success, redirect to its tracking page."""
    form = ArcoForm()
    if form.is_spam:
        flash(_("Thank you! We received your message."), "success")
        return redirect(url_for("privacy.arco"), code=303)
    timing_ok = form.check_timing()
    if not (form.validate() and timing_ok):
        return _render_arco(form, 400)
    data = {"right": form.right.data, "name": form.name.data, "email": form.email.data,
            "description": form.description.data, **form.consent_fields()}
    _item, token = open_arco_request(data)
    db.session.commit()
    return redirect(url_for("privacy.arco_tracking", token=token, nuevo=1), code=303)


@bp.get("/derechos-arco/seguimiento/<token>")
def arco_tracking(token: str):
    """The private tracking page of an ARCO request: folio, right, status, deadline, answer.
    Unknown (or anonymised) tokens are 404; never cached nor indexed, no referrer."""
    item = db.session.scalar(select(ArcoRequest).where(
        ArcoRequest.tracking_hash == hashlib.sha256(token.encode()).hexdigest()))
    if item is None:
        abort(404)
    response = current_app.make_response(render_template(
        "public/arco_tracking.html", item=item, new=request.args.get("nuevo") == "1",
        right_label=ARCO_RIGHTS.get(item.right, item.right), status_label=ARCO_STATUSES.get(item.status, item.status)))
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Robots-Tag"] = "noindex"
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


# --------------------------------------------------------------------------- ARCO (admin)
class ArcoAnswerForm(Form):
    """Answer an ARCO request (e-mailed to the person) or mark it done."""

    status = SelectField(_l("Status"), choices=[SelectChoice(k, v) for k, v in ARCO_STATUSES.items()])
    answer = TextAreaField(_l("Answer"), filters=[_strip], validators=[_max(10_000)])

    def validate_answer(self, field) -> None:
        if self.status.data in ("answered", "done") and not field.data:
            raise ValidationError(_l("Write the answer before marking the request as answered or closed."))


class PersonForm(Form):
    """An e-mail address whose data to look up, export or cancel."""

    email = EmailField(_l("E-mail address"), filters=[_strip],
                       validators=[DataRequired(_REQUIRED), EmailAddress(), _max(254)])


class EraseForm(PersonForm):
    """Cancel (anonymise) a person's data: needs an explicit confirmation and a reason."""

    reason = StringField(_l("Reason (e.g. the folio of the ARCO request)"), filters=[_strip],
                         validators=[DataRequired(_REQUIRED), _max(300)])
    confirm = BooleanField(_l("I understand that this blanks the personal data of this address and cannot be undone."),
                           validators=[InputRequired(_l("Confirm the cancellation."))])


def _render_arco_admin(status_filter: str, code: int = 200, forms: dict[int, ArcoAnswerForm] | None = None):
    forms = forms or {}
    today = get_current_tenant().today()
    query = select(ArcoRequest).order_by(ArcoRequest.created_at.desc(), ArcoRequest.id.desc())
    if status_filter in ARCO_STATUSES:
        query = query.where(ArcoRequest.status == status_filter)
    elif status_filter == "overdue":
        query = query.where(privacy.overdue_filter(today))
    pagination = db.paginate(query, page=page_arg(), per_page=PER_PAGE, error_out=False)
    rows = [(item, forms.get(item.id) or ArcoAnswerForm(prefix=f"a{item.id}", formdata=None, obj=item))
            for item in pagination.items]
    overdue = db.session.scalar(select(func.count()).select_from(ArcoRequest).where(privacy.overdue_filter(today)))
    return render_template("admin/arco.html", pagination=pagination, rows=rows, status=status_filter, today=today,
                           statuses=ARCO_STATUSES, rights=ARCO_RIGHTS, overdue=overdue), code


@admin_bp.route("/privacidad/arco")
@require_role("admin")
def arco_requests():
    """ARCO requests, newest first; ``?status=`` filters (a status, or ``overdue``: received
    and past the legal deadline)."""
    status = request.args.get("status", "")
    return _render_arco_admin(status if status in ARCO_STATUSES or status == "overdue" else "")


@admin_bp.route("/privacidad/arco/<int:request_id>", methods=["POST"])
@require_role("admin")
def arco_answer(request_id: int):
    """Answer an ARCO request (the answer is e-mailed) or mark it done; audited."""
    item = one_or_404(ArcoRequest, request_id)
    form = ArcoAnswerForm(prefix=f"a{item.id}")
    back = request.args.get("status", "")
    if not form.validate_on_submit():
        return _render_arco_admin(back, INVALID, {item.id: form})
    with admin_change("arco.answer", item, object_type="arco_request", success=_("Request updated.")):
        newly_answered = form.answer.data and (item.answered_at is None or item.answer != form.answer.data)
        item.status, item.answer, item.handled_by_id = form.status.data, form.answer.data, current_user.id
        if newly_answered and item.email:
            item.answered_at = utcnow()
            send_mail(item.email, "arco_answered", tenant=get_current_tenant(), locale=item.locale,
                      kind="arco_answered", context={"item": item, "right_label": ARCO_RIGHTS[item.right]})
        if item.status == "done" and item.done_at is None:
            item.done_at = utcnow()
    return redirect(url_for(".arco_requests", status=back or None) + f"#a{item.id}", code=303)


@admin_bp.route("/privacidad/datos", methods=["GET", "POST"])
@require_role("admin")
def person_data():
    """Look up what the tenant holds about an e-mail address (POST, so the address stays out of
    URLs and logs): counts per table, export and cancellation forms."""
    form = PersonForm()
    found = None
    if request.method == "POST":
        if not form.validate_on_submit():
            return render_template("admin/person_data.html", form=form, found=None), INVALID
        found = privacy.export_person(form.email.data)
    erase_form = EraseForm(formdata=None, email=form.email.data) if found else None
    return render_template("admin/person_data.html", form=form, found=found, erase_form=erase_form,
                           export_form=PersonForm(formdata=None, email=form.email.data) if found else None)


@admin_bp.route("/privacidad/datos/exportar.<any(json, csv):fmt>", methods=["POST"])
@require_role("admin")
def person_export(fmt: str):
    """Download everything held about an e-mail address as JSON or CSV (UTF-8); the export is
    audited (``privacy.export``, with the address's SHA-256, not the address)."""
    form = PersonForm()
    if not form.validate_on_submit():
        return render_template("admin/person_data.html", form=form, found=None), INVALID
    data = privacy.export_person(form.email.data)
    with admin_change("privacy.export", object_type="email", object_id=privacy.email_digest(form.email.data)[:16],
                      before=None) as change:
        change.after = {"format": fmt, "email_sha256": privacy.email_digest(form.email.data),
                        "rows": {k: len(v) for k, v in data["sources"].items()}}
    if change.failed:  # pragma: no cover - the audit row cannot be refused
        abort(500)
    if fmt == "json":
        body, mimetype = json.dumps(jsonable(data), ensure_ascii=False, indent=2), "application/json"
    else:
        body, mimetype = "\ufeff" + privacy.export_csv(data), "text/csv; charset=utf-8"
    response = Response(body.encode("utf-8"), content_type=mimetype)
    response.headers["Content-Disposition"] = content_disposition(
        "attachment", f"{get_current_tenant().slug}-datos-personales.{fmt}")
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


@admin_bp.route("/privacidad/datos/cancelar", methods=["POST"])
@require_role("admin")
def person_erase():
    """Cancel a person's data (ARCO cancellation): blank or delete every row that holds the
    address, in one transaction with a ``privacy.erase`` audit event."""
    form = EraseForm()
    if not form.validate_on_submit():
        found = privacy.export_person(form.email.data) if form.email.data and not form.email.errors else None
        return render_template("admin/person_data.html", form=PersonForm(formdata=None, email=form.email.data),
                               found=found, erase_form=form,
                               export_form=PersonForm(formdata=None, email=form.email.data) if found else None), INVALID
    digest = privacy.email_digest(form.email.data)
    with admin_change("privacy.erase", object_type="email", object_id=digest[:16], before=None) as change:
        counts = privacy.erase_person(form.email.data)
        change.after = {"counts": counts, "reason": form.reason.data, "email_sha256": digest}
    if change.failed:  # pragma: no cover - nothing in the block refuses
        abort(500)
    flash(ngettext("The personal data of that address were cancelled: %(num)d record.",
                   "The personal data of that address were cancelled: %(num)d records.", sum(counts.values())),
          "success")
    return redirect(url_for(".person_data"), code=303)


@admin_bp.route("/privacidad")
@require_role("admin")
def overview():
    """Privacy overview: the notices (with links to edit them), retention periods, ARCO
    requests pending and overdue."""
    tenant = get_current_tenant()
    notices = {kind: db.session.scalar(select(Page).where(Page.slug == slug)) for kind, slug in NOTICE_SLUGS.items()}
    today = tenant.today()
    pending = db.session.scalar(select(func.count()).select_from(ArcoRequest).where(ArcoRequest.status == "received"))
    overdue = db.session.scalar(select(func.count()).select_from(ArcoRequest).where(privacy.overdue_filter(today)))
    return render_template("admin/privacy.html", notices=notices, retention=tenant.retention, pending=pending,
                           overdue=overdue)
