"""Awareness workshops of a process (step 8 of the local strategy, "expliquemos qué estamos
haciendo"): dated events with a place or an online link and materials (uploaded files through
the toolkit's ``store_upload``, or links). Content type ``cocreation_workshop``: published,
corrected with a reason, searchable and notarized through the core workflow.

Public pages under ``/<tenant>/cocreacion/`` (the process's workshops, upcoming and past, and a
workshop's page); staff pages under ``/<tenant>/admin/cocreacion/``. Start and end are entered
as local date-times in the tenant's timezone and stored in UTC.
"""
from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _, lazy_gettext as _l
from flask_login import current_user
from flask_wtf.file import FileField
from sqlalchemy import select
from wtforms import DateTimeLocalField, StringField, TextAreaField, URLField
from wtforms.validators import DataRequired, Length, Optional, URL, ValidationError

from comun_cms.toolkit import (
    ChangeRefused, ConfirmForm, ContentType, Form, ReasonForm, admin_change, correct, current_tenant, db, history, one_or_404,
    plain_text, publish, require_role, retract, snapshot, store_upload, utcnow,
)

from . import services as svc
from .admin import admin_bp
from .models import Process, Workshop, WorkshopMaterial
from .views import PUBLIC, STEP_LINKS, bp

PLUGIN = "cocreation"
ROLES = ("admin", "editor")
#: Field limits (characters).
TITLE_MAX, DESCRIPTION_MAX, PLACE_MAX, URL_MAX = 300, 5000, 300, 500
#: File kinds a material may be (see ``store_upload``).
MATERIAL_KINDS = ("pdf", "document", "image", "audio", "video")


# --------------------------------------------------------------------------- time zone
def local_to_utc(value: dt.datetime | None, tenant=None) -> dt.datetime | None:
    """A naive local date-time of the tenant's timezone (``tenant.timezone``, IANA) as an aware
    UTC datetime; ``None`` stays ``None``."""
    if value is None:
        return None
    zone = ZoneInfo((tenant or current_tenant).timezone)
    return value.replace(tzinfo=zone).astimezone(dt.timezone.utc)


def utc_to_local(value: dt.datetime | None, tenant=None) -> dt.datetime | None:
    """An aware UTC datetime as a naive local date-time of the tenant's timezone (for forms)."""
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.timezone.utc)
    return value.astimezone(ZoneInfo((tenant or current_tenant).timezone)).replace(tzinfo=None)


def split_upcoming(workshops: list[Workshop], now: dt.datetime | None = None) -> tuple[list, list]:
    """``(upcoming, past)``: a workshop is past once its end (or, without one, its start) is
    before ``now`` (default: now, UTC). Upcoming ones soonest first, past ones latest first."""
    now = now or utcnow()

    def last(w):
        return w.ends_at or w.starts_at

    upcoming = sorted((w for w in workshops if last(w) is None or last(w) >= now),
                      key=lambda w: (w.starts_at is None, w.starts_at or now, w.id))
    past = sorted((w for w in workshops if last(w) is not None and last(w) < now),
                  key=lambda w: (w.starts_at, w.id), reverse=True)
    return upcoming, past


# --------------------------------------------------------------------------- content type
def material_attachments(workshop: Workshop) -> list:
    """The uploaded files of a workshop's materials (made public when it is published)."""
    return [m.attachment for m in workshop.materials if m.attachment is not None]


def serialize_workshop(workshop: Workshop) -> dict:
    """Public content of a workshop: dates (ISO 8601 UTC), place, online link, Markdown
    description and materials (title, link or the file's SHA-256)."""
    return {"process_id": workshop.process_id, "title": workshop.title, "description": workshop.description,
            "starts_at": workshop.starts_at, "ends_at": workshop.ends_at, "place": workshop.place,
            "online_url": workshop.online_url,
            "materials": [{"title": m.title, "url": m.url,
                           "sha256": m.attachment.sha256 if m.attachment is not None else ""}
                          for m in workshop.materials]}


WORKSHOP_TYPE = ContentType(
    name="cocreation_workshop", plugin=PLUGIN, model=Workshop,
    label=_l("Awareness workshop"), label_plural=_l("Awareness workshops"),
    serialize=serialize_workshop, title=lambda w: w.title,
    url=lambda w: url_for("cocreation.workshop", tenant=w.tenant_id, workshop_id=w.id),
    search_document=lambda w: {
        "title": w.title, "status": "published", "date": w.published_at,
        "body": " ".join(x for x in (plain_text(w.description or ""), w.place,
                                     " ".join(m.title for m in w.materials)) if x) or w.title},
    attachments=material_attachments,
    admin_url=lambda w: url_for("admin_cocreation.workshop", tenant=w.tenant_id, workshop_id=w.id),
    field_labels={"title": _l("Title"), "description": _l("Description"), "starts_at": _l("Starts"),
                  "ends_at": _l("Ends"), "place": _l("Place"), "online_url": _l("Online link"),
                  "materials": _l("Materials"), "process_id": _l("Process")},
)



def sample_record(tenant, marker: str) -> Workshop:
    """Conformance kit: an unsaved draft workshop whose text holds ``marker`` (its draft process
    is created and flushed first)."""
    process = Process(title="Proceso del taller", cycle="2026–2027")
    db.session.add(process)
    db.session.flush()
    start = utcnow().replace(microsecond=0) + dt.timedelta(days=7)
    return Workshop(process_id=process.id, title=f"Taller {marker}", description=f"Descripción {marker}",
                    starts_at=start, ends_at=start + dt.timedelta(hours=2), place="Sala de juntas")


def _step_link(process: Process) -> svc.StepLink | None:
    count = len(db.session.scalars(select(Workshop.id).where(Workshop.process_id == process.id,
                                                             Workshop.status.in_(PUBLIC))).all())
    if not count:
        return None
    return svc.StepLink(_("Awareness workshops: %(n)d", n=count), url_for("cocreation.workshops", process_id=process.id))


STEP_LINKS[8] = _step_link


# --------------------------------------------------------------------------- forms
def _strip(value):
    return value.strip() if isinstance(value, str) else value


def _max(n: int):
    return Length(max=n, message=_l("Use at most %(max)d characters.", max=n))


class WorkshopForm(Form):
    """Create or edit a workshop: local start and end (tenant timezone), a place or an online
    link (at least one)."""

    title = StringField(_l("Title"), filters=[_strip], validators=[DataRequired(_l("Write the title.")),
                                                                    _max(TITLE_MAX)],
                        render_kw={"maxlength": TITLE_MAX})
    description = TextAreaField(_l("Description (Markdown)"), filters=[_strip],
                                validators=[DataRequired(_l("Describe the workshop.")), _max(DESCRIPTION_MAX)],
                                render_kw={"rows": 8, "maxlength": DESCRIPTION_MAX})
    starts_at = DateTimeLocalField(_l("Starts (local date and time)"), format="%Y-%m-%dT%H:%M",
                                   validators=[DataRequired(_l("Give the date and time it starts."))])
    ends_at = DateTimeLocalField(_l("Ends (local date and time)"), format="%Y-%m-%dT%H:%M",
                                 validators=[DataRequired(_l("Give the date and time it ends."))])
    place = StringField(_l("Place"), filters=[_strip], validators=[Optional(), _max(PLACE_MAX)],
                        render_kw={"maxlength": PLACE_MAX})
    online_url = URLField(_l("Online link"), filters=[_strip],
                          validators=[Optional(), URL(message=_l("Write a complete web address (https://...).")),
                                      _max(URL_MAX)],
                          render_kw={"maxlength": URL_MAX})

    def validate_ends_at(self, field):
        """The end is after the start."""
        if self.starts_at.data and field.data and field.data <= self.starts_at.data:
            raise ValidationError(_l("The workshop must end after it starts."))

    def validate(self, extra_validators=None) -> bool:
        """Validate the fields, then that a place or an online link is given (the error goes
        to ``place``)."""
        valid = super().validate(extra_validators=extra_validators)
        if not self.place.data and not self.online_url.data and not self.place.errors:
            self.place.errors = [*self.place.errors, _l("Give the place or the online link.")]
            return False
        return valid

    def validate_online_url(self, field):
        """Only ``http`` and ``https`` links."""
        if field.data and not field.data.lower().startswith(("https://", "http://")):
            raise ValidationError(_l("Write a complete web address (https://...)."))


class MaterialForm(Form):
    """A material of a workshop: a file or a link, with a title; the reason is required when the
    workshop is published (the material is published as a correction)."""

    title = StringField(_l("Title of the material"), filters=[_strip],
                        validators=[DataRequired(_l("Write the title of the material.")), _max(TITLE_MAX)],
                        render_kw={"maxlength": TITLE_MAX})
    file = FileField(_l("File"))
    url = URLField(_l("Or a link"), filters=[_strip],
                   validators=[Optional(), URL(message=_l("Write a complete web address (https://...).")),
                               _max(URL_MAX)], render_kw={"maxlength": URL_MAX})
    reason = TextAreaField(_l("Reason for the change (published with the new version)"), filters=[_strip],
                           validators=[Optional(), _max(1000)], render_kw={"rows": 2, "maxlength": 1000})

    def validate_url(self, field):
        """Links only ``http``/``https``."""
        if field.data and not field.data.lower().startswith(("https://", "http://")):
            raise ValidationError(_l("Write a complete web address (https://...)."))

    def validate(self, extra_validators=None) -> bool:
        """Validate the fields, then that exactly one of a file and a link is given (the error
        goes to ``url``)."""
        valid = super().validate(extra_validators=extra_validators)
        has_file = bool(self.file.data and getattr(self.file.data, "filename", ""))
        if has_file == bool(self.url.data) and not self.url.errors:
            self.url.errors = [*self.url.errors, _l("Upload a file or write a link (one of the two).")]
            return False
        return valid


# --------------------------------------------------------------------------- public pages
def _public_process(process_id: int) -> Process:
    return db.first_or_404(select(Process).where(Process.id == process_id, Process.status.in_(PUBLIC)))


@bp.get("/<int:process_id>/talleres")
def workshops(process_id: int):
    """The published workshops of a process, upcoming and past."""
    process = _public_process(process_id)
    rows = db.session.scalars(select(Workshop).where(Workshop.process_id == process.id,
                                                     Workshop.status.in_(PUBLIC))).all()
    upcoming, past = split_upcoming(rows)
    return render_template("cocreation/workshops/list.html", process=process, upcoming=upcoming, past=past)


@bp.get("/talleres/<int:workshop_id>")
def workshop(workshop_id: int):
    """A published workshop: dates, place or link, description and materials."""
    record = db.first_or_404(select(Workshop).where(Workshop.id == workshop_id, Workshop.status.in_(PUBLIC)))
    process = _public_process(record.process_id)
    return render_template("cocreation/workshops/workshop.html", process=process, workshop=record,
                           is_past=(record.ends_at or record.starts_at) is not None
                           and (record.ends_at or record.starts_at) < utcnow())


# --------------------------------------------------------------------------- admin pages
def _save(form: WorkshopForm, record: Workshop) -> None:
    record.title, record.description = form.title.data, form.description.data
    record.starts_at, record.ends_at = local_to_utc(form.starts_at.data), local_to_utc(form.ends_at.data)
    record.place, record.online_url = form.place.data or "", form.online_url.data or ""


def _form_for(record: Workshop | None, *, stored: bool = False) -> WorkshopForm:
    """The workshop form: the posted data, or (GET, or ``stored``) the record's stored values
    with its times in the tenant's timezone."""
    form = WorkshopForm(obj=record, formdata=None) if stored else WorkshopForm(obj=record)
    if record is not None and (stored or request.method == "GET"):
        form.starts_at.data, form.ends_at.data = utc_to_local(record.starts_at), utc_to_local(record.ends_at)
    return form


@admin_bp.route("/<int:process_id>/talleres", methods=["GET", "POST"], endpoint="workshops")
@require_role(*ROLES)
def admin_workshops(process_id: int):
    """The workshops of a process and the form that creates one (a draft)."""
    process = one_or_404(Process, process_id)
    form = _form_for(None)
    if form.validate_on_submit():
        record = Workshop(process_id=process.id)
        with admin_change("cocreation_workshop.create", record, form=form, success=_("Workshop saved.")) as change:
            _save(form, record)
            db.session.add(record)
        if change.ok:
            return redirect(url_for(".workshop", workshop_id=record.id), code=303)
    rows = db.session.scalars(select(Workshop).where(Workshop.process_id == process.id)
                              .order_by(Workshop.starts_at, Workshop.id)).all()
    return render_template("cocreation/workshops/admin_list.html", process=process, rows=rows, form=form), \
        422 if form.errors else 200


def _edit_page(record: Workshop, form: WorkshopForm, material_form: MaterialForm, status: int = 200):
    return render_template("cocreation/workshops/admin_workshop.html", process=record.process, workshop=record,
                           form=form, material_form=material_form, publish_form=ConfirmForm(),
                           retract_form=ReasonForm(formdata=None),
                           remove_form=ConfirmForm(), history=history("cocreation_workshop", record.id)), status


@admin_bp.route("/talleres/<int:workshop_id>", methods=["GET", "POST"], endpoint="workshop")
@require_role(*ROLES)
def admin_workshop(workshop_id: int):
    """Edit a workshop (a published one is corrected with the reason) and its materials."""
    record = one_or_404(Workshop, workshop_id)
    form = _form_for(record)
    if form.validate_on_submit():
        reason = (request.form.get("reason") or "").strip()
        with admin_change("cocreation_workshop.update", record, form=form, success=_("Workshop saved.")) as change:
            _save(form, record)
            if record.status == "published":
                if not reason:
                    raise ChangeRefused(_("Explain the reason; it is published with the new version."))
                correct(record, reason=reason[:1000], user=current_user, commit=False)
        if change.ok:
            return redirect(url_for(".workshop", workshop_id=record.id), code=303)
        record = one_or_404(Workshop, workshop_id)
    return _edit_page(record, form, MaterialForm(prefix="m", formdata=None), 422 if form.errors else 200)


@admin_bp.post("/talleres/<int:workshop_id>/publicar")
@require_role(*ROLES)
def publish_workshop(workshop_id: int):
    """Publish a draft workshop as version 1 (its files become public; indexed and notarized)."""
    record = one_or_404(Workshop, workshop_id)
    if ConfirmForm().validate_on_submit():
        with admin_change("cocreation_workshop.publish", record, success=_("Workshop published.")) as change:
            if record.status != "draft":
                raise ChangeRefused(_("The workshop is already published."))
            change.after = {**snapshot(record), "sha256": publish(record, user=current_user, commit=False).sha256}
    return redirect(url_for(".workshop", workshop_id=record.id), code=303)


@admin_bp.post("/talleres/<int:workshop_id>/retirar")
@require_role(*ROLES)
def retract_workshop(workshop_id: int):
    """Retract a published workshop with a public reason (published and notarized; the public
    page shows the notice, the calendars leave it out)."""
    record = one_or_404(Workshop, workshop_id)
    form = ReasonForm()
    if form.validate_on_submit():
        with admin_change("cocreation_workshop.retract", record, success=_("Workshop retracted.")) as change:
            if record.status != "published":
                raise ChangeRefused(_("Only a published workshop can be retracted."))
            change.after = {**snapshot(record), "sha256": retract(record, reason=form.reason.data[:1000],
                                                                  user=current_user, commit=False).sha256}
    else:
        for error in form.reason.errors:
            flash(f"{form.reason.label.text}: {error}", "error")
    return redirect(url_for(".workshop", workshop_id=record.id), code=303)


@admin_bp.post("/talleres/<int:workshop_id>/materiales")
@require_role(*ROLES)
def add_material(workshop_id: int):
    """Add a material (a file, validated by ``store_upload``, or a link). On a published
    workshop the reason is required and the workshop is published again as a correction."""
    record = one_or_404(Workshop, workshop_id)
    form = MaterialForm(prefix="m")
    if form.validate_on_submit():
        with admin_change("cocreation_workshop_material.create", record, form=form,
                          success=_("Material added.")) as change:
            if record.status == "retracted":
                raise ChangeRefused(_("The workshop was retracted; it cannot change."))
            if record.status == "published" and not form.reason.data:
                raise ChangeRefused(_("Explain the reason; it is published with the new version."), field="reason")
            att = None
            if form.file.data and getattr(form.file.data, "filename", ""):
                att = store_upload(form.file.data, owner_type="cocreation_workshop", owner_id=str(record.id),
                                   title=form.title.data, kinds=MATERIAL_KINDS, field="file",
                                   user_id=current_user.id)
                db.session.flush()
            record.materials.append(WorkshopMaterial(
                title=form.title.data, url=form.url.data or "", attachment=att,
                position=max((m.position for m in record.materials), default=0) + 1))
            db.session.flush()
            if record.status == "published":
                correct(record, reason=form.reason.data[:1000], user=current_user, commit=False)
            change.after = {"material": form.title.data, "sha256": att.sha256 if att else None,
                            "url": form.url.data or ""}
        if change.ok:
            return redirect(url_for(".workshop", workshop_id=record.id), code=303)
        record = one_or_404(Workshop, workshop_id)
    return _edit_page(record, _form_for(record, stored=True), form, 422)


@admin_bp.post("/talleres/materiales/<int:material_id>/eliminar")
@require_role(*ROLES)
def remove_material(material_id: int):
    """Remove a material of a draft workshop (its file, not public, is deleted too). Published
    materials stay: what was published is never taken back silently."""
    material = one_or_404(WorkshopMaterial, material_id)
    record = material.workshop
    if ConfirmForm().validate_on_submit():
        if record.status != "draft":
            flash(_("The workshop is published; its materials cannot be removed."), "error")
        else:
            with admin_change("cocreation_workshop_material.delete", record, success=_("Material removed.")):
                att = material.attachment
                record.materials.remove(material)
                db.session.flush()
                if att is not None and not att.public:
                    db.session.delete(att)
    return redirect(url_for(".workshop", workshop_id=record.id), code=303)
