"""The open call of a process (step 7 of the local strategy, "invitamos a la comunidad a
participar"): its content type ``cocreation_call``, the public call page with the published
co-creation tables (theme, place, sessions, free places), the public registration form, and the
staff pages that edit and publish the call and list, export, add and remove the registered
people of each table. Registrations are personal data (privacy source
``cocreation_registrations``).

Routes are registered on the plugin's blueprints ``bp`` (``/<tenant>/cocreacion/``) and
``admin_bp`` (``/<tenant>/admin/cocreacion/``); every query goes through the core's tenant
filter, and every write runs in one transaction (``atomic`` or ``admin_change``).
"""
from __future__ import annotations

import csv
import datetime as dt
import io

from flask import Response, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _, lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from wtforms import DateField, EmailField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Email, Length, Optional, ValidationError

from comun_cms.toolkit import (
    ChangeRefused, ConfirmForm, ConsentMixin, ContentType, Form, PersonalDataSource, PublicForm, ReasonForm,
    admin_change, atomic, bump_generation,
    content_disposition, correct, current_tenant, db, history, jsonable, neutralize_formula, one_or_404,
    plain_text, public_form_rate_limit, publish, require_role, retract, send_mail, snapshot,
)

from . import services as svc
from .admin import admin_bp
from .models import SECTORS, Call, CocreationTable, Process, Registration
from .tables import SECTOR_LABELS
from .views import PUBLIC, STEP_LINKS, bp

PLUGIN = "cocreation"
ROLES = ("admin", "editor")
#: Field limits (characters).
CALL_TITLE_MAX, CALL_BODY_MAX, NAME_MAX, ORGANIZATION_MAX, EMAIL_MAX = 300, 20_000, 200, 200, 254



class RegistrationRefused(ValueError):
    """A registration that cannot be stored; ``field`` names the form field, ``str()`` is the
    message in the user's language."""

    def __init__(self, message: str, field: str = "table"):
        super().__init__(message)
        self.field = field


# --------------------------------------------------------------------------- services
def call_of(process: Process) -> Call | None:
    """The call of ``process`` (the first one; the admin keeps one per process), any status."""
    return db.session.scalar(select(Call).where(Call.process_id == process.id).order_by(Call.id).limit(1))


def registration_state(call: Call, today: dt.date | None = None) -> str:
    """``"open"``, ``"not_yet"``, ``"closed"`` or ``"unscheduled"`` (dates missing) for ``today``
    (default: today in the current tenant's timezone); both dates are included. A call that is
    not published is never open."""
    if call.registration_opens is None or call.registration_closes is None:
        return "unscheduled"
    today = today or svc.tenant_today()
    if today < call.registration_opens:
        return "not_yet"
    if today > call.registration_closes or call.status != "published":
        return "closed"
    return "open"


def published_tables(process: Process) -> list[CocreationTable]:
    """The published co-creation tables of ``process`` (current tenant), in id order."""
    return list(db.session.scalars(select(CocreationTable).where(
        CocreationTable.process_id == process.id, CocreationTable.status == "published").order_by(CocreationTable.id)))


def registered_count(table_id: int) -> int:
    """How many people are registered to a table (through the call and by the admin)."""
    return db.session.scalar(select(func.count(Registration.id)).where(Registration.table_id == table_id)) or 0


def free_places(table: CocreationTable) -> int | None:
    """Places left at ``table`` (``capacity`` minus registrations, never below 0), or ``None``
    when the table has no limit."""
    if table.capacity is None:
        return None
    return max(table.capacity - registered_count(table.id), 0)


def register(table: CocreationTable, *, name: str, email: str, sector: str, organization: str = "",
             source: str = "call", call: Call | None = None, consent: dict | None = None) -> Registration:
    """Register a person to ``table`` (flushed, not committed: callers run in ``atomic`` or
    ``admin_change``). The table row is locked (``SELECT ... FOR UPDATE`` on PostgreSQL) so two
    people cannot take the last place at once; the tenant's page-cache generation is bumped in
    the same transaction (the public call page shows the free places).

    Args:
        table: a table of the current tenant.
        name / email / sector / organization: the person's data; ``email`` is lower-cased,
            ``sector`` one of :data:`~.models.SECTORS`.
        source: ``"call"`` (public form) or ``"admin"`` (added by hand).
        call: the call the registration came through (``None`` for the admin).
        consent: ``form.consent_fields()`` of the public form.

    Returns:
        The new :class:`Registration`.

    Raises:
        RegistrationRefused: unknown sector (field ``sector``), the address is already registered
            to this table (field ``email``), or the table is full (field ``table``).
    """
    if sector not in SECTORS:
        raise RegistrationRefused(_("Choose one of the sectors."), "sector")
    email = (email or "").strip().lower()
    db.session.scalar(select(CocreationTable.id).where(CocreationTable.id == table.id).with_for_update())
    if db.session.scalar(select(Registration.id).where(Registration.table_id == table.id,
                                                       Registration.email == email)) is not None:
        raise RegistrationRefused(_("This e-mail address is already registered for this table."), "email")
    if table.capacity is not None and registered_count(table.id) >= table.capacity:
        raise RegistrationRefused(_("This table is full; choose another table."), "table")
    consent = consent or {}
    row = Registration(table_id=table.id, call_id=call.id if call else None, name=name.strip(), email=email,
                       sector=sector, organization=(organization or "").strip(), source=source,
                       consent_notice_id=consent.get("consent_notice_id"), consent_at=consent.get("consent_at"))
    db.session.add(row)
    try:
        db.session.flush()
    except IntegrityError as exc:  # the same address registered at the same moment
        raise RegistrationRefused(_("This e-mail address is already registered for this table."), "email") from exc
    bump_generation(current_tenant.slug)  # the public call page shows the free places
    return row


def sector_counts(table_id: int) -> list[tuple[str, str, int]]:
    """``[(sector code, label, count), ...]`` for every sector of :data:`SECTORS` (zeros
    included) among the registrations of a table."""
    counts = dict(db.session.execute(select(Registration.sector, func.count(Registration.id)).where(
        Registration.table_id == table_id).group_by(Registration.sector)).all())
    return [(code, str(label), counts.get(code, 0)) for code, label in SECTOR_LABELS.items()]


CSV_COLUMNS = ("name", "sector", "organization", "email", "source", "registered_at")


def registrations_csv(table: CocreationTable) -> str:
    """The registered people of ``table`` as CSV (RFC 4180, CRLF, header ``name, sector,
    organization, email, source, registered_at``; sector as its Spanish label; time ISO 8601
    UTC). Every cell goes through ``neutralize_formula`` (CSV injection)."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    rows = db.session.scalars(select(Registration).where(Registration.table_id == table.id)
                              .order_by(Registration.created_at, Registration.id))
    for r in rows:
        writer.writerow([neutralize_formula(v) for v in (
            r.name, str(SECTOR_LABELS.get(r.sector, r.sector)), r.organization, r.email, r.source,
            jsonable(r.created_at))])
    return buf.getvalue()


def session_lines(table: CocreationTable) -> list[dict]:
    """The sessions of a table for templates and mails: ``starts_at``, ``ends_at`` (aware UTC or
    ``None``) and ``place`` (the session's, else the table's)."""
    return [{"starts_at": s.starts_at, "ends_at": s.ends_at, "place": s.place or table.place}
            for s in table.sessions]


# --------------------------------------------------------------------------- content type
def serialize_call(call: Call) -> dict:
    """Public content of a call: process id, title, Markdown body and registration dates."""
    return {"process_id": call.process_id, "title": call.title, "body": call.body,
            "registration_opens": call.registration_opens, "registration_closes": call.registration_closes}


CALL_TYPE = ContentType(
    name="cocreation_call", plugin=PLUGIN, model=Call,
    label=_l("Open call to the co-creation tables"), label_plural=_l("Open calls to the co-creation tables"),
    serialize=serialize_call, title=lambda c: c.title,
    url=lambda c: url_for("cocreation.call", tenant=c.tenant_id, process_id=c.process_id),
    search_document=lambda c: {"title": c.title, "body": plain_text(c.body or "") or c.title,
                               "status": "published", "date": c.published_at},
    admin_url=lambda c: url_for("admin_cocreation.call", tenant=c.tenant_id, process_id=c.process_id),
    field_labels={"title": _l("Title"), "body": _l("Text of the call"), "process_id": _l("Process"),
                  "registration_opens": _l("Registration opens"),
                  "registration_closes": _l("Registration closes")},
)



def sample_record(tenant, marker: str) -> Call:
    """Conformance kit: an unsaved draft call whose text holds ``marker`` (its draft process
    is created and flushed first)."""
    process = Process(title="Proceso de la convocatoria", cycle="2026–2027")
    db.session.add(process)
    db.session.flush()
    return Call(process_id=process.id, title=f"Convocatoria {marker}", body=f"Texto de la convocatoria {marker}")


def _step_link(process: Process) -> svc.StepLink | None:
    call = call_of(process)
    if call is None or call.status not in PUBLIC:
        return None
    return svc.StepLink(_("Open call: %(title)s", title=call.title), url_for("cocreation.call", process_id=process.id))


STEP_LINKS[7] = _step_link


# --------------------------------------------------------------------------- personal data
def _export(email: str) -> list[dict]:
    email = email.strip().lower()
    return [{"kind": "registration", "id": r.id, "table_id": r.table_id, "name": r.name, "sector": r.sector,
             "organization": r.organization, "source": r.source, "created_at": jsonable(r.created_at),
             "consent_at": jsonable(r.consent_at)}
            for r in db.session.scalars(select(Registration).where(func.lower(Registration.email) == email))]


def _erase(email: str) -> int:
    """ARCO cancellation: the person's registrations are deleted (the table's count goes down)."""
    email = email.strip().lower()
    rows = db.session.scalars(select(Registration).where(func.lower(Registration.email) == email)).all()
    for row in rows:
        db.session.delete(row)
    return len(rows)


def _purge(tenant, now: dt.datetime) -> dict[str, int]:
    """Delete registrations older than the tenant's ``join`` retention (days, counted from the
    registration); reports only a non-zero count."""
    cutoff = now - dt.timedelta(days=tenant.retention["join"])
    rows = db.session.scalars(select(Registration).where(Registration.created_at < cutoff)).all()
    for row in rows:
        db.session.delete(row)
    return {"cocreation_registrations": len(rows)} if rows else {}


#: Privacy source of the registrations (exports, ARCO cancellations, retention purge).
REGISTRATIONS_SOURCE = PersonalDataSource("cocreation_registrations", _export, _erase, _purge)


# --------------------------------------------------------------------------- forms
def _strip(value):
    return value.strip() if isinstance(value, str) else value


def _max(n: int):
    return Length(max=n, message=_l("Use at most %(max)d characters.", max=n))


def _sector_choices():
    return [("", _("Choose a sector"))] + [(code, str(label)) for code, label in SECTOR_LABELS.items()]


class _PersonFields(Form):
    name = StringField(_l("Full name"), filters=[_strip],
                       validators=[DataRequired(_l("Write your name.")), _max(NAME_MAX)],
                       render_kw={"maxlength": NAME_MAX, "autocomplete": "name"})
    email = EmailField(_l("E-mail"), filters=[_strip],
                       validators=[DataRequired(_l("Write your e-mail address.")),
                                   Email(_l("Write a valid e-mail address.")), _max(EMAIL_MAX)],
                       render_kw={"maxlength": EMAIL_MAX, "autocomplete": "email"})
    sector = SelectField(_l("Sector"), validate_choice=False)
    organization = StringField(_l("Organization (optional)"), filters=[_strip],
                               validators=[Optional(), _max(ORGANIZATION_MAX)],
                               render_kw={"maxlength": ORGANIZATION_MAX, "autocomplete": "organization"})

    def validate_sector(self, field):
        """One of :data:`SECTORS`."""
        if field.data not in SECTORS:
            raise ValidationError(_l("Choose one of the sectors."))


class RegistrationForm(PublicForm, _PersonFields, ConsentMixin):
    """The public registration to a table of the call (``table`` choices set by the view: the
    process's published tables; any other id is refused with a message naming the field).
    Protected like the core's public forms (honeypot, time trap; the view is rate limited)."""

    form_name = "cocreation_registration"

    table = SelectField(_l("Co-creation table"), coerce=str, validate_choice=False)

    def validate_table(self, field):
        """An id among the choices (the published tables of this process)."""
        if field.data not in {value for value, _label in field.choices if value}:
            raise ValidationError(_l("Choose one of the tables of this call."))


class ParticipantForm(_PersonFields):
    """A participant added by hand by the staff (``source="admin"``)."""


class CallForm(Form):
    """Edit the call of a process: title, Markdown text and registration dates."""

    title = StringField(_l("Title"), filters=[_strip],
                        validators=[DataRequired(_l("Write the title.")), _max(CALL_TITLE_MAX)],
                        render_kw={"maxlength": CALL_TITLE_MAX})
    body = TextAreaField(_l("Text of the call (Markdown)"), filters=[_strip],
                         validators=[DataRequired(_l("Write the text of the call.")), _max(CALL_BODY_MAX)],
                         render_kw={"rows": 10, "maxlength": CALL_BODY_MAX})
    registration_opens = DateField(_l("Registration opens"), validators=[Optional()],
                                   description=_l("First day the public form accepts registrations."))
    registration_closes = DateField(_l("Registration closes"), validators=[Optional()],
                                    description=_l("Last day the public form accepts registrations."))

    def validate(self, extra_validators=None) -> bool:
        """Validate the fields, then the dates together: both or none, and the closing date not
        before the opening one (the error goes to ``registration_closes``)."""
        valid = super().validate(extra_validators=extra_validators)
        if self.registration_opens.errors or self.registration_closes.errors:
            return False
        opens, closes = self.registration_opens.data, self.registration_closes.data
        message = None
        if (opens is None) != (closes is None):
            message = _l("Give both registration dates, or none.")
        elif opens and closes and closes < opens:
            message = _l("Registration cannot close before it opens.")
        if message:
            self.registration_closes.errors = [*self.registration_closes.errors, message]
            return False
        return valid


# --------------------------------------------------------------------------- public pages
def _public_process(process_id: int) -> Process:
    return db.first_or_404(select(Process).where(Process.id == process_id, Process.status.in_(PUBLIC)))


def _public_call(process: Process) -> Call:
    call = call_of(process)
    if call is None or call.status not in PUBLIC:
        abort(404)
    return call


def _table_rows(process: Process) -> list[dict]:
    return [{"table": t, "sessions": session_lines(t), "free": free_places(t)} for t in published_tables(process)]


@bp.get("/<int:process_id>/convocatoria")
def call(process_id: int):
    """The published call of a process: its text, registration dates and the published tables
    with theme, place, sessions and free places."""
    process = _public_process(process_id)
    record = _public_call(process)
    return render_template("cocreation/call/call.html", process=process, call=record, tables=_table_rows(process),
                           state=registration_state(record), sectors=SECTOR_LABELS)


@bp.route("/<int:process_id>/convocatoria/registro", methods=["GET", "POST"])
@public_form_rate_limit
def register_form(process_id: int):
    """The registration form (GET ``?mesa=<id>`` preselects a table). Open only between the
    call's dates; a refusal names the field and stores nothing. Protected like the core's
    public forms: rate limit, honeypot (answered as if it worked, nothing stored) and time trap."""
    process = _public_process(process_id)
    record = _public_call(process)
    state = registration_state(record)
    tables = published_tables(process)
    if state != "open":
        return render_template("cocreation/call/register.html", process=process, call=record, form=None, state=state,
                               tables=tables), (200 if request.method == "GET" else 409)
    form = RegistrationForm()
    form.table.choices = [("", _("Choose a table"))] + [(str(t.id), t.title) for t in tables]
    form.sector.choices = _sector_choices()
    if request.method == "GET" and request.args.get("mesa", "").isdigit():
        form.table.data = request.args["mesa"]
    outcome = form.check_submission() if request.method == "POST" else "show"
    chosen = next((t for t in tables if str(t.id) == form.table.data), None)
    if outcome == "spam" and chosen is not None:  # answer as if it worked; nothing stored or mailed
        return render_template("cocreation/call/registered.html", process=process, call=record, table=chosen,
                               sessions=session_lines(chosen), email=form.email.data or "")
    if outcome == "ok":
        table = next(t for t in tables if str(t.id) == form.table.data)
        try:
            with atomic():
                row = register(table, name=form.name.data, email=form.email.data, sector=form.sector.data,
                               organization=form.organization.data or "", source="call", call=record,
                               consent=form.consent_fields())
                send_mail(row.email, "cocreation_registration", {
                    "name": row.name, "table": table, "call": record, "sessions": session_lines(table),
                    "link": url_for("cocreation.call", process_id=process.id, _external=True),
                    "ics": url_for("cocreation.table_ics", table_id=table.id, _external=True)},
                    tenant=current_tenant, kind="cocreation_registration")
        except RegistrationRefused as exc:
            getattr(form, exc.field).errors = [*getattr(form, exc.field).errors, str(exc)]
        else:
            return render_template("cocreation/call/registered.html", process=process, call=record, table=table,
                                   sessions=session_lines(table), email=row.email)
    form.issue_token()
    status = 422 if request.method == "POST" else 200
    return render_template("cocreation/call/register.html", process=process, call=record, form=form, state=state,
                           tables=tables), status


# --------------------------------------------------------------------------- admin pages
def _admin_table(table_id: int) -> CocreationTable:
    return one_or_404(CocreationTable, table_id)


@admin_bp.route("/<int:process_id>/convocatoria", methods=["GET", "POST"], endpoint="call")
@require_role(*ROLES)
def admin_call(process_id: int):
    """Create or edit the call of a process (a published call is corrected with a reason) and
    see the process's tables with links to their registrations."""
    process = one_or_404(Process, process_id)
    record = call_of(process)
    form = CallForm(obj=record)
    if form.validate_on_submit():
        record = record or Call(process_id=process.id)
        reason = (request.form.get("reason") or "").strip()
        with admin_change("cocreation_call.save", record, form=form, success=_("Call saved.")) as change:
            form.populate_obj(record)
            db.session.add(record)
            if record.status == "published":
                if not reason:
                    raise ChangeRefused(_("Explain the reason; it is published with the new version."), field="reason")
                correct(record, reason=reason[:1000], user=current_user, commit=False)
        if change.ok:
            return redirect(url_for(".call", process_id=process.id), code=303)
        record = call_of(process)
    tables = db.session.scalars(select(CocreationTable).where(CocreationTable.process_id == process.id)
                                .order_by(CocreationTable.id)).all()
    return render_template("cocreation/call/admin_call.html", process=process, call=record, form=form,
                           publish_form=ConfirmForm(), retract_form=ReasonForm(formdata=None), tables=[(t, registered_count(t.id)) for t in tables],
                           history=history("cocreation_call", record.id) if record and record.id else []), \
        422 if form.errors else 200


@admin_bp.post("/<int:process_id>/convocatoria/publicar")
@require_role(*ROLES)
def publish_call(process_id: int):
    """Publish the draft call of a process as version 1 (indexed and notarized by the core)."""
    process = one_or_404(Process, process_id)
    record = call_of(process)
    if record is None:
        abort(404)
    if ConfirmForm().validate_on_submit():
        with admin_change("cocreation_call.publish", record, success=_("Call published.")) as change:
            if record.status != "draft":
                raise ChangeRefused(_("The call is already published."))
            change.after = {**snapshot(record), "sha256": publish(record, user=current_user, commit=False).sha256}
    return redirect(url_for(".call", process_id=process.id), code=303)


@admin_bp.post("/<int:process_id>/convocatoria/retirar")
@require_role(*ROLES)
def retract_call(process_id: int):
    """Retract the published call with a public reason (the retraction is itself published and
    notarized; registration closes and the call leaves the calendars)."""
    process = one_or_404(Process, process_id)
    record = call_of(process)
    if record is None:
        abort(404)
    form = ReasonForm()
    if form.validate_on_submit():
        with admin_change("cocreation_call.retract", record, success=_("Call retracted.")) as change:
            if record.status != "published":
                raise ChangeRefused(_("Only a published call can be retracted."))
            change.after = {**snapshot(record), "sha256": retract(record, reason=form.reason.data[:1000],
                                                                  user=current_user, commit=False).sha256}
    else:
        for error in form.reason.errors:
            flash(f"{form.reason.label.text}: {error}", "error")
    return redirect(url_for(".call", process_id=process.id), code=303)


def _registrations_page(table: CocreationTable, form: ParticipantForm, status: int = 200):
    rows = db.session.scalars(select(Registration).where(Registration.table_id == table.id)
                              .order_by(Registration.created_at, Registration.id)).all()
    return render_template("cocreation/call/admin_registrations.html", table=table, process=table.process,
                           rows=rows, form=form, remove_form=ConfirmForm(), sectors=SECTOR_LABELS,
                           counts=sector_counts(table.id), free=free_places(table)), status


@admin_bp.route("/mesas/<int:table_id>/inscripciones", methods=["GET", "POST"])
@require_role(*ROLES)
def registrations(table_id: int):
    """The registered people of a table (name, sector, organization, e-mail, date; counts by
    sector) and the form that adds one by hand (``source="admin"``)."""
    table = _admin_table(table_id)
    form = ParticipantForm()
    form.sector.choices = _sector_choices()
    if form.validate_on_submit():
        with admin_change("cocreation_registration.create", object_type="cc_tables", object_id=table.id,
                          before=None, form=form, errors=(RegistrationRefused,),
                          success=_("Participant added.")) as change:
            try:
                row = register(table, name=form.name.data, email=form.email.data, sector=form.sector.data,
                               organization=form.organization.data or "", source="admin")
            except RegistrationRefused as exc:
                raise ChangeRefused(str(exc), field=exc.field) from exc
            change.after = {"registration_id": row.id, "sector": row.sector, "source": "admin"}
        if change.ok:
            return redirect(url_for(".registrations", table_id=table.id), code=303)
    return _registrations_page(table, form, 422 if form.errors else 200)


@admin_bp.get("/mesas/<int:table_id>/inscripciones.csv")
@require_role(*ROLES)
def registrations_download(table_id: int):
    """The registered people of a table as CSV (UTF-8 with BOM, formulas neutralised)."""
    table = _admin_table(table_id)
    body = "\ufeff" + registrations_csv(table)
    return Response(body, mimetype="text/csv", headers={
        "Content-Disposition": content_disposition("attachment", f"inscripciones-mesa-{table.id}.csv"),
        "Cache-Control": "no-store"})


@admin_bp.post("/inscripciones/<int:registration_id>/eliminar")
@require_role(*ROLES)
def remove_registration(registration_id: int):
    """Remove a registered person from a table (the audit keeps the sector, not the data)."""
    row = one_or_404(Registration, registration_id)
    table_id = row.table_id
    if ConfirmForm().validate_on_submit():
        with admin_change("cocreation_registration.delete", object_type="cc_tables", object_id=table_id,
                          before={"registration_id": row.id, "sector": row.sector, "source": row.source},
                          success=_("Participant removed.")) as change:
            db.session.delete(row)
            bump_generation(current_tenant.slug)  # the public call page shows the free places
            change.after = None
    else:
        flash(_("The form expired; try again."), "error")
    return redirect(url_for(".registrations", table_id=table_id), code=303)
