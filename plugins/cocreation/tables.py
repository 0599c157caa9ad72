"""Co-creation tables (steps 9–10 of the local strategy, "manos a la obra"): the admin creates a
:class:`~.models.CocreationTable` of a process (title, theme from the tenant's list, description,
place, capacity), chooses the published consultation problems it takes up, dates its sessions
(:class:`~.models.TableSession`, entered in the tenant's local time and stored in UTC) and sees
its participants (the :class:`~.models.Registration` rows of the open call, read-only), then
publishes it (content type ``cocreation_table``).

Public pages show a published table with its problems, sessions and participants only as counts
by sector and the organizations taking part (never names or e-mail addresses: personal data).

Services never commit: the admin views run them inside ``admin_change`` (one transaction with
its audit event), so a refusal leaves nothing half stored. Every query goes through the ORM, so
the core's tenant filter applies; the association ``cc_table_problems`` has no ``tenant_id``, so
:func:`set_problems` loads the problems through the ORM and refuses ids it cannot see.
"""
from __future__ import annotations

import datetime as dt
from collections import Counter

from flask import redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import select
from wtforms import DateField, IntegerField, SelectField, SelectMultipleField, StringField, TextAreaField, TimeField
from wtforms.validators import DataRequired, Length, NumberRange, Optional, ValidationError
from wtforms.widgets import CheckboxInput, ListWidget

from comun_cms.toolkit import (
    ChangeRefused, ConfirmForm, ContentType, Form, admin_change, correct, current_tenant, db, history, one_or_404,
    publish, require_role, snapshot,
)

from . import services as svc
from .admin import ROLES, admin_bp
from .models import SECTORS, CocreationTable, Problem, Process, Proposal, ResultsMinute, TableSession
from .views import PUBLIC, bp

PLUGIN = "cocreation"
#: Field limits (characters).
TITLE_MAX, TEXT_MAX, PLACE_MAX, NOTE_MAX, REASON_MAX = 300, 5000, 300, 2000, 1000
#: Largest capacity accepted (people).
CAPACITY_MAX = 10000

#: Spanish names of the sectors (:data:`~.models.SECTORS`), as the strategy names them.
SECTOR_LABELS = {"gobierno": _l("Government"), "sociedad_civil": _l("Civil society"), "academia": _l("Academia"),
                 "sector_privado": _l("Business and private sector"), "ciudadania": _l("Citizens")}


def sector_label(code: str) -> str:
    """The translated name of a sector code (the code itself when unknown)."""
    label = SECTOR_LABELS.get(code)
    return str(label) if label is not None else code


# --------------------------------------------------------------------------- forms
def _strip(value):
    return value.strip() if isinstance(value, str) else value


def _max(n: int):
    return Length(max=n, message=_l("Use at most %(max)d characters.", max=n))


class TableForm(Form):
    """A table's fields and the problems it takes up (choices of ``theme`` and ``problems`` set
    by the view: the tenant's themes and the process's published problems)."""

    title = StringField(_l("Title of the table"), filters=[_strip],
                        validators=[DataRequired(_l("Write the title of the table.")), _max(TITLE_MAX)],
                        render_kw={"maxlength": TITLE_MAX})
    theme = SelectField(_l("Theme"), validators=[DataRequired(_l("Choose a theme."))], validate_choice=True)
    description = TextAreaField(_l("Description"), filters=[_strip], validators=[Optional(), _max(TEXT_MAX)],
                                render_kw={"rows": 5, "maxlength": TEXT_MAX})
    place = StringField(_l("Place"), filters=[_strip], validators=[Optional(), _max(PLACE_MAX)],
                        render_kw={"maxlength": PLACE_MAX})
    capacity = IntegerField(_l("Capacity (people; empty: no limit)"), validators=[
        Optional(), NumberRange(min=1, max=CAPACITY_MAX,
                                message=_l("The capacity is a number of people from 1 to %(max)d.", max=CAPACITY_MAX))])
    problems = SelectMultipleField(_l("Consultation problems the table takes up"), coerce=int, validate_choice=True,
                                   widget=ListWidget(prefix_label=False), option_widget=CheckboxInput())


class TableSessionForm(Form):
    """A session of a table: local date and times in the tenant's time zone."""

    day = DateField(_l("Date of the session"), validators=[DataRequired(_l("Give the date of the session."))])
    starts = TimeField(_l("Starts at (local time)"), validators=[DataRequired(_l("Give the starting time."))])
    ends = TimeField(_l("Ends at (optional)"), validators=[Optional()])
    place = StringField(_l("Place"), filters=[_strip], validators=[Optional(), _max(PLACE_MAX)],
                        render_kw={"maxlength": PLACE_MAX})
    note = TextAreaField(_l("Note"), filters=[_strip], validators=[Optional(), _max(NOTE_MAX)],
                         render_kw={"rows": 2, "maxlength": NOTE_MAX})

    def validate_ends(self, field) -> None:
        """The session does not end before it starts."""
        if field.data and self.starts.data and field.data <= self.starts.data:
            raise ValidationError(_l("The session must end after it starts."))


# --------------------------------------------------------------------------- services
def local_to_utc(day: dt.date, time: dt.time, tenant=None) -> dt.datetime:
    """The aware UTC datetime of a local ``day`` and wall-clock ``time`` in the tenant's zone
    (default: the current tenant). 2026-05-04 10:00 in Mexico City is 16:00 UTC."""
    tenant = tenant or current_tenant
    return dt.datetime.combine(day, time, tzinfo=tenant.tz).astimezone(dt.timezone.utc)


def problem_choices(table: CocreationTable) -> list[Problem]:
    """Problems a table may take up: the published problems of its process (this tenant's)."""
    return list(db.session.scalars(select(Problem).where(
        Problem.process_id == table.process_id, Problem.status == "published").order_by(Problem.theme, Problem.id)))


def answered_problem_ids(table: CocreationTable) -> set[int]:
    """Ids of the table's problems that a proposal of its results minute answers."""
    if table.id is None:
        return set()
    return set(db.session.scalars(select(Proposal.problem_id).join(ResultsMinute).where(
        ResultsMinute.table_id == table.id, Proposal.problem_id.is_not(None))))


def set_problems(table: CocreationTable, problem_ids: list[int]) -> None:
    """Make the table take up exactly ``problem_ids``.

    Problems are loaded through the ORM (tenant-filtered): each must be a published problem of
    the table's process. A problem answered by a proposal of the table's minute cannot be left out.

    Raises:
        ChangeRefused: (field ``problems``) an id of another tenant or process, an unpublished
            problem, or a problem still answered by a proposal.
    """
    wanted = set(problem_ids)
    found = list(db.session.scalars(select(Problem).where(
        Problem.id.in_(wanted), Problem.process_id == table.process_id, Problem.status == "published"))) if wanted else []
    if len(found) != len(wanted):
        raise ChangeRefused(_("Choose published problems of this process only."), field="problems")
    kept = answered_problem_ids(table) - wanted
    if kept:
        raise ChangeRefused(_("A proposal of the results minute answers problem %(ids)s; change the proposal "
                              "before leaving the problem out.", ids=", ".join(f"#{i}" for i in sorted(kept))),
                            field="problems")
    table.problems = sorted(found, key=lambda p: p.id)


def add_session(table: CocreationTable, *, day: dt.date, starts: dt.time, ends: dt.time | None = None,
                place: str = "", note: str = "", tenant=None) -> TableSession:
    """Add a session to a table; local ``day``/``starts``/``ends`` (in ``tenant``'s zone,
    default: the current tenant) are converted to UTC.

    Raises:
        ChangeRefused: the end is not after the start (field ``ends``).
    """
    starts_at = local_to_utc(day, starts, tenant)
    ends_at = local_to_utc(day, ends, tenant) if ends else None
    if ends_at is not None and ends_at <= starts_at:
        raise ChangeRefused(_("The session must end after it starts."), field="ends")
    row = TableSession(starts_at=starts_at, ends_at=ends_at, place=place or "", note=note or "")
    table.sessions.append(row)
    return row


def sector_counts(table: CocreationTable) -> list[tuple[str, int]]:
    """Participants of a table by sector: ``[(sector code, count)]`` in :data:`SECTORS` order,
    sectors without participants left out."""
    counts = Counter(r.sector for r in table.registrations)
    return [(code, counts[code]) for code in SECTORS if counts[code]] + \
        [(code, n) for code, n in sorted(counts.items()) if code not in SECTORS]


def organizations(table: CocreationTable) -> list[str]:
    """The distinct organizations of a table's participants (sorted, empty ones left out)."""
    return sorted({r.organization.strip() for r in table.registrations if r.organization.strip()}, key=str.casefold)


def sync_published(table: CocreationTable, reason: str, user) -> None:
    """After an edit of a published table: publish a correction with ``reason``.

    Raises:
        ChangeRefused: the table is published and ``reason`` is empty (field ``reason``).
    """
    if table.status != "published":
        return
    reason = (reason or "").strip()
    if not reason:
        raise ChangeRefused(_("Explain the reason; it is published with the new version."), field="reason")
    correct(table, reason=reason[:REASON_MAX], user=user, commit=False)


def published_tables(process_id: int) -> list[CocreationTable]:
    """The published (or retracted) tables of a process, by title (template global
    ``cc_published_tables``)."""
    return list(db.session.scalars(select(CocreationTable).where(
        CocreationTable.process_id == process_id, CocreationTable.status.in_(PUBLIC))
        .order_by(CocreationTable.title, CocreationTable.id)))


def published_minute(table: CocreationTable) -> ResultsMinute | None:
    """The table's results minute when published (or retracted), else ``None``."""
    return db.session.scalar(select(ResultsMinute).where(ResultsMinute.table_id == table.id,
                                                         ResultsMinute.status.in_(PUBLIC)))


bp.add_app_template_global(published_tables, "cc_published_tables")


# --------------------------------------------------------------------------- content type
def serialize_table(table: CocreationTable) -> dict:
    """Public content of a table: fields, the problems it takes up (id and title) and its
    sessions (UTC, ISO 8601). Participants are personal data and never part of it."""
    return {
        "process_id": table.process_id, "title": table.title, "theme": table.theme,
        "description": table.description, "place": table.place, "capacity": table.capacity,
        "problems": [{"id": p.id, "title": p.title} for p in table.problems],
        "sessions": [{"starts_at": s.starts_at, "ends_at": s.ends_at, "place": s.place, "note": s.note}
                     for s in table.sessions],
    }


TABLE_TYPE = ContentType(
    name="cocreation_table", plugin=PLUGIN, model=CocreationTable,
    label=_l("Co-creation table"), label_plural=_l("Co-creation tables"),
    serialize=serialize_table, title=lambda t: t.title,
    url=lambda t: url_for("cocreation.table", tenant=t.tenant_id, table_id=t.id),
    search_document=lambda t: {"title": t.title, "body": " ".join(
        [t.theme, t.description, t.place] + [p.title for p in t.problems]).strip(),
        "status": "published", "date": t.published_at},
    admin_url=lambda t: url_for("admin_cocreation.table", tenant=t.tenant_id, table_id=t.id),
    field_labels={"title": _l("Title"), "theme": _l("Theme"), "description": _l("Description"),
                  "place": _l("Place"), "capacity": _l("Capacity of the table"), "problems": _l("Problems"),
                  "sessions": _l("Sessions"), "process_id": _l("Process")},
)


def sample_table(marker: str) -> CocreationTable:
    """Conformance kit: an unsaved draft table whose public text holds ``marker`` (its process
    is created and flushed first, without the marker)."""
    process = Process(title="Proceso de muestra", cycle="2026–2027")
    db.session.add(process)
    db.session.flush()
    return CocreationTable(process_id=process.id, title=f"Mesa {marker}", theme=svc.DEFAULT_THEMES[0],
                           description=f"Descripción {marker}", place="Toluca")


# --------------------------------------------------------------------------- admin views
def _theme_choices(current: str = "") -> list[tuple[str, str]]:
    themes = svc.themes()
    if current and current not in themes:
        themes = [current, *themes]
    return [("", _("Choose a theme"))] + [(t, t) for t in themes]


def _table_form(table: CocreationTable, *, submitted: bool) -> TableForm:
    """The table form: from the request when ``submitted``, else from the record."""
    form = TableForm(obj=table) if submitted else TableForm(obj=table, formdata=None)
    form.theme.choices = _theme_choices(table.theme)
    form.problems.choices = [(p.id, f"{p.title} ({p.theme})") for p in problem_choices(table)]
    if not submitted:
        form.problems.data = [p.id for p in table.problems]
    return form


def _apply(form: TableForm, table: CocreationTable) -> None:
    table.title = form.title.data
    table.theme = form.theme.data
    table.description = form.description.data or ""
    table.place = form.place.data or ""
    table.capacity = form.capacity.data
    set_problems(table, form.problems.data or [])


@admin_bp.route("/<int:process_id>/mesas", methods=["GET", "POST"], endpoint="tables")
@require_role(*ROLES)
def admin_tables(process_id: int):
    """The tables of a process and the form that creates one (a draft)."""
    process = one_or_404(Process, process_id)
    table = CocreationTable(process_id=process.id)
    form = TableForm()
    form.theme.choices = _theme_choices()
    form.problems.choices = [(p.id, f"{p.title} ({p.theme})") for p in problem_choices(table)]
    if form.validate_on_submit():
        with admin_change("cocreation_table.create", table, form=form, success=_("Table created.")) as change:
            db.session.add(table)
            _apply(form, table)
        if change.ok:
            return redirect(url_for(".table", table_id=table.id), code=303)
    rows = db.session.scalars(select(CocreationTable).where(CocreationTable.process_id == process.id)
                              .order_by(CocreationTable.title, CocreationTable.id)).all()
    return render_template("cocreation/tables/admin_list.html", process=process, rows=rows, form=form), \
        422 if form.errors else 200


@admin_bp.route("/mesas/<int:table_id>", methods=["GET", "POST"], endpoint="table")
@require_role(*ROLES)
def admin_table(table_id: int):
    """Edit a table (a published one publishes a correction with the reason), its sessions and
    its participants (read-only: they come from the open call)."""
    record = one_or_404(CocreationTable, table_id)
    form = _table_form(record, submitted=request.method == "POST")
    if form.validate_on_submit():
        with admin_change("cocreation_table.update", record, form=form, success=_("Table saved.")) as change:
            _apply(form, record)
            db.session.flush()
            sync_published(record, request.form.get("reason", ""), current_user)
        if change.ok:
            return redirect(url_for(".table", table_id=record.id), code=303)
    return _render_table(record, form, TableSessionForm(formdata=None))


def _render_table(record: CocreationTable, form: TableForm, session_form: TableSessionForm):
    minute = db.session.scalar(select(ResultsMinute).where(ResultsMinute.table_id == record.id))
    status = 422 if form.errors or session_form.errors else 200
    return render_template("cocreation/tables/admin_table.html", table=record, process=record.process, form=form,
                           session_form=session_form, confirm_form=ConfirmForm(), minute=minute,
                           sectors=sector_counts(record), sector_label=sector_label,
                           history=history("cocreation_table", record.id)), status


@admin_bp.post("/mesas/<int:table_id>/publicar")
@require_role(*ROLES)
def publish_table(table_id: int):
    """Publish a draft table as version 1 (indexed and notarized by the core's listeners)."""
    record = one_or_404(CocreationTable, table_id)
    if ConfirmForm().validate_on_submit():
        with admin_change("cocreation_table.publish", record, success=_("Table published.")) as change:
            if record.status != "draft":
                raise ChangeRefused(_("The table is already published."))
            if record.process.status != "published":
                raise ChangeRefused(_("Publish the process before its tables."))
            change.after = {**snapshot(record), "sha256": publish(record, user=current_user, commit=False).sha256}
    return redirect(url_for(".table", table_id=record.id), code=303)


@admin_bp.post("/mesas/<int:table_id>/sesiones")
@require_role(*ROLES)
def add_table_session(table_id: int):
    """Add a dated session (local time of the tenant) to a table."""
    record = one_or_404(CocreationTable, table_id)
    session_form = TableSessionForm()
    if session_form.validate_on_submit():
        with admin_change("cocreation_table.session", record, form=session_form, success=_("Session added.")) as change:
            add_session(record, day=session_form.day.data, starts=session_form.starts.data,
                        ends=session_form.ends.data, place=session_form.place.data or "",
                        note=session_form.note.data or "")
            db.session.flush()
            sync_published(record, request.form.get("reason", ""), current_user)
        if change.ok:
            return redirect(url_for(".table", table_id=record.id, _anchor="sesiones"), code=303)
    return _render_table(record, _table_form(record, submitted=False), session_form)


@admin_bp.post("/mesas/<int:table_id>/sesiones/<int:session_id>/borrar")
@require_role(*ROLES)
def delete_table_session(table_id: int, session_id: int):
    """Remove a session of a table (a published table needs a reason: a correction)."""
    record = one_or_404(CocreationTable, table_id)
    row = one_or_404(TableSession, session_id)
    if row.table_id != record.id:
        return redirect(url_for(".table", table_id=record.id), code=303)
    if ConfirmForm().validate_on_submit():
        with admin_change("cocreation_table.session_delete", record, success=_("Session removed.")):
            record.sessions.remove(row)
            db.session.flush()
            sync_published(record, request.form.get("reason", ""), current_user)
    return redirect(url_for(".table", table_id=record.id, _anchor="sesiones"), code=303)


# --------------------------------------------------------------------------- public views
@bp.get("/<int:process_id>/mesas", endpoint="tables")
def public_tables(process_id: int):
    """The published tables of a process and their published results minutes."""
    process = db.first_or_404(select(Process).where(Process.id == process_id, Process.status == "published"))
    rows = published_tables(process.id)
    minutes = {t.id: published_minute(t) for t in rows}
    return render_template("cocreation/tables/list.html", process=process, rows=rows, minutes=minutes)


@bp.get("/mesas/<int:table_id>", endpoint="table")
def public_table(table_id: int):
    """A published table: theme, description, problems, sessions (local time), participants as
    counts by sector and organizations, and the link to its results minute."""
    record = db.first_or_404(select(CocreationTable).where(CocreationTable.id == table_id,
                                                           CocreationTable.status.in_(PUBLIC)))
    problems = [p for p in record.problems if p.status == "published"]
    return render_template("cocreation/tables/table.html", table=record, process=record.process, problems=problems,
                           sectors=sector_counts(record), organizations=organizations(record),
                           participants=len(record.registrations), sector_label=sector_label,
                           minute=published_minute(record))
