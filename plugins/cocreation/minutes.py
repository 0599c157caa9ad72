"""The results minute of a co-creation table (step 10, "ahora comprometámonos"): one
:class:`~.models.ResultsMinute` per table with its date, a Markdown summary and the agreed
:class:`~.models.Proposal` rows (title, description, the problem of the table it answers, the
responsible institution).

It follows the minutes lifecycle of the toolkit (:class:`comun_cms.toolkit.MinutesLifecycle`,
the same as the STL minutes, without the review stage)::

    draft (editable) --approve--> approved (frozen) --publish--> published and locked
      ^                              |                                |
      +-------return to draft--------+                                +--addendum (reason)--> new version

Once published (content type ``cocreation_minute``, notarized by the core's ``on_publish``
listeners) nothing of the minute or its proposals can change: every service here refuses, and
the only change is an addendum, a published correction whose reason is the addendum's text.
``Proposal.commitment_id`` / ``converted_at`` are not part of the published content: "Convertir
en compromiso" sets them on a locked minute's proposals.

Services never commit (callers use ``admin_change``).
"""
from __future__ import annotations

import datetime as dt

from flask import abort, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import select
from wtforms import DateField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from comun_cms.toolkit import (
    ConfirmForm, ContentType, Form, LifecycleError, MinutesLifecycle, admin_change, db, history, one_or_404,
    render_markdown, require_role, snapshot,
)

from . import services as svc
from .admin import ROLES, admin_bp
from .models import CocreationTable, Problem, Process, Proposal, ResultsMinute
from .views import PUBLIC, bp

PLUGIN = "cocreation"
#: Field limits (characters).
TITLE_MAX, TEXT_MAX, SUMMARY_MAX, INSTITUTION_MAX, REASON_MAX = 300, 5000, 20000, 300, 1000


class MinuteError(LifecycleError):
    """A rule of the results minute was broken; ``str(error)`` is translated, ``field`` names
    the form field (``""`` when none)."""


#: The shared minutes lifecycle without review: draft -> approved -> published (locked).
LIFECYCLE = MinutesLifecycle(review=False, error=MinuteError, messages={
    "not_approvable": _l("Only a draft minute can be approved."),
    "not_approved": _l("Approve the minute before publishing it."),
    "already_published": _l("The minute is already published."),
})


# --------------------------------------------------------------------------- forms
def _strip(value):
    return value.strip() if isinstance(value, str) else value


def _max(n: int):
    return Length(max=n, message=_l("Use at most %(max)d characters.", max=n))


class MinuteForm(Form):
    """The date and summary (Markdown) of a results minute."""

    held_on = DateField(_l("Date of the session that agreed the results"),
                        validators=[DataRequired(_l("Give the date of the session."))])
    summary = TextAreaField(_l("Summary (Markdown)"), filters=[_strip], validators=[Optional(), _max(SUMMARY_MAX)],
                            render_kw={"rows": 8, "maxlength": SUMMARY_MAX})


class ProposalForm(Form):
    """An agreed proposal (choices of ``problem_id`` set by the view: the table's problems)."""

    title = StringField(_l("Proposal"), filters=[_strip],
                        validators=[DataRequired(_l("Write the proposal.")), _max(TITLE_MAX)],
                        render_kw={"maxlength": TITLE_MAX})
    description = TextAreaField(_l("Description"), filters=[_strip], validators=[Optional(), _max(TEXT_MAX)],
                                render_kw={"rows": 4, "maxlength": TEXT_MAX})
    problem_id = SelectField(_l("Problem it answers"), coerce=int, validate_choice=True,
                             validators=[DataRequired(_l("Choose the problem the proposal answers."))])
    responsible_institution = StringField(_l("Responsible institution"), filters=[_strip], validators=[
        DataRequired(_l("Write the responsible institution.")), _max(INSTITUTION_MAX)],
        render_kw={"maxlength": INSTITUTION_MAX})


class AddendumForm(Form):
    """The public reason of an addendum to a published minute."""

    reason = TextAreaField(_l("Addendum (published as the reason of the new version)"), filters=[_strip],
                           validators=[DataRequired(_l("Explain the reason of the addendum; it is published.")),
                                       _max(REASON_MAX)], render_kw={"rows": 3, "maxlength": REASON_MAX})


# --------------------------------------------------------------------------- services
def minute_for(table: CocreationTable, create: bool = False) -> ResultsMinute | None:
    """The table's results minute; with ``create`` a new draft is added when there is none."""
    minute = db.session.scalar(select(ResultsMinute).where(ResultsMinute.table_id == table.id))
    if minute is None and create:
        minute = ResultsMinute(table_id=table.id, stage="draft")
        minute.table = table
        db.session.add(minute)
    return minute


def _today() -> dt.date:
    return svc.tenant_today()


def save_minute(minute: ResultsMinute, *, held_on: dt.date | None, summary: str) -> None:
    """Change the date and summary of an editable minute.

    Raises:
        MinuteError: not editable (approved or locked); no date, or a date in the future
            (field ``held_on``); summary too long (field ``summary``).
    """
    LIFECYCLE.ensure_editable(minute)
    if held_on is None:
        raise MinuteError(_l("Give the date of the session."), "held_on")
    if held_on > _today():
        raise MinuteError(_l("The date of the session cannot be in the future."), "held_on")
    if len(summary or "") > SUMMARY_MAX:
        raise MinuteError(_l("Use at most %(max)d characters.", max=SUMMARY_MAX), "summary")
    minute.held_on, minute.summary = held_on, summary or ""


def _check_proposal(minute: ResultsMinute, fields: dict) -> dict:
    title = (fields.get("title") or "").strip()
    institution = (fields.get("responsible_institution") or "").strip()
    description = (fields.get("description") or "").strip()
    if not title:
        raise MinuteError(_l("Write the proposal."), "title")
    if len(title) > TITLE_MAX:
        raise MinuteError(_l("Use at most %(max)d characters.", max=TITLE_MAX), "title")
    if len(description) > TEXT_MAX:
        raise MinuteError(_l("Use at most %(max)d characters.", max=TEXT_MAX), "description")
    if not institution:
        raise MinuteError(_l("Write the responsible institution."), "responsible_institution")
    if len(institution) > INSTITUTION_MAX:
        raise MinuteError(_l("Use at most %(max)d characters.", max=INSTITUTION_MAX), "responsible_institution")
    problem_id = fields.get("problem_id")
    allowed = {p.id for p in minute.table.problems}
    if problem_id not in allowed:
        raise MinuteError(_l("The proposal must answer one of the problems the table takes up."), "problem_id")
    return {"title": title, "description": description, "responsible_institution": institution,
            "problem_id": problem_id}


def add_proposal(minute: ResultsMinute, **fields) -> Proposal:
    """Append a proposal to an editable minute (``title``, ``description``, ``problem_id``,
    ``responsible_institution``); it gets the next ``seq``.

    Raises:
        MinuteError: the minute is approved or locked; an empty title or institution; a text
            too long; a problem that is not one of the table's (field named).
    """
    LIFECYCLE.ensure_editable(minute)
    clean = _check_proposal(minute, fields)
    seq = max((p.seq for p in minute.proposals), default=0) + 1
    proposal = Proposal(seq=seq, **clean)
    minute.proposals.append(proposal)
    return proposal


def update_proposal(proposal: Proposal, **fields) -> None:
    """Change a proposal of an editable minute (same fields and errors as :func:`add_proposal`)."""
    LIFECYCLE.ensure_editable(proposal.minute)
    for name, value in _check_proposal(proposal.minute, fields).items():
        setattr(proposal, name, value)


def remove_proposal(proposal: Proposal) -> None:
    """Delete a proposal of an editable minute and renumber the others 1, 2, 3…"""
    minute = proposal.minute
    LIFECYCLE.ensure_editable(minute)
    minute.proposals.remove(proposal)
    for seq, row in enumerate(sorted(minute.proposals, key=lambda p: (p.seq, p.id or 0)), start=1):
        row.seq = seq


def _ready(minute: ResultsMinute) -> None:
    if minute.held_on is None:
        raise MinuteError(_l("Give the date of the session before approving the minute."), "held_on")
    if minute.held_on > _today():
        raise MinuteError(_l("The date of the session cannot be in the future."), "held_on")
    if not minute.proposals:
        raise MinuteError(_l("Record at least one agreed proposal before approving the minute."))
    allowed = {p.id for p in minute.table.problems}
    for proposal in minute.proposals:
        if proposal.problem_id not in allowed:
            raise MinuteError(_l("Proposal %(n)d does not answer a problem of the table.", n=proposal.seq), "problem_id")


def approve_minute(minute: ResultsMinute, now: dt.datetime | None = None) -> None:
    """draft -> approved (frozen). Needs a date not in the future and at least one proposal,
    each answering a problem of the table.

    Raises:
        MinuteError: not a draft, or the minute is not ready.
    """
    LIFECYCLE.approve(minute, now=now, check=_ready)


def return_minute_to_draft(minute: ResultsMinute) -> None:
    """approved -> draft (the approval is cleared). Raises :class:`MinuteError` otherwise."""
    LIFECYCLE.return_to_draft(minute)


def publish_minute(minute: ResultsMinute, user=None, publisher=None):
    """approved -> published and locked: version 1 of content type ``cocreation_minute``
    (notarized). The table must be published. ``publisher`` (``record -> Publication``)
    replaces the toolkit's ``publish`` (``comun demo`` passes ``DemoContext.publish``).

    Returns:
        The :class:`~comun_cms.toolkit.Publication`. Nothing is committed.

    Raises:
        MinuteError: not approved, already published, table not published.
    """
    def before(_record) -> None:
        if minute.table.status != "published":
            raise MinuteError(_l("Publish the table before its results minute."))
        _ready(minute)

    return LIFECYCLE.lock(minute, user=user, publisher=publisher, before=before)


def add_minute_addendum(minute: ResultsMinute, reason: str, user=None):
    """Publish an addendum of a locked minute: a new version whose reason is ``reason``.

    Raises:
        MinuteError: the minute is not published, or ``reason`` is empty (field ``reason``).
    """
    if len((reason or "").strip()) > REASON_MAX:
        raise MinuteError(_l("Use at most %(max)d characters.", max=REASON_MAX), "reason")
    return LIFECYCLE.add_addendum(minute, reason, user=user)


def addenda(minute: ResultsMinute) -> list:
    """The addenda of a published minute: its correction publications, oldest first."""
    return [p for p in history("cocreation_minute", minute.id) if p.action == "correct"]


# --------------------------------------------------------------------------- content type
def minute_title(minute: ResultsMinute) -> str:
    """``Minuta de resultados: <table title>`` (Spanish, as published)."""
    return f"Minuta de resultados: {minute.table.title}"


def serialize_minute(minute: ResultsMinute) -> dict:
    """Public content of a results minute: table, date, summary (Markdown) and the proposals
    (sequence, title, description, problem id and title, responsible institution)."""
    problems = {p.id: p.title for p in minute.table.problems}
    return {
        "table_id": minute.table_id, "table": minute.table.title, "held_on": minute.held_on,
        "summary": minute.summary,
        "proposals": [{"seq": p.seq, "title": p.title, "description": p.description, "problem_id": p.problem_id,
                       "problem": problems.get(p.problem_id, p.problem.title if p.problem else ""),
                       "responsible_institution": p.responsible_institution}
                      for p in minute.proposals],
    }


MINUTE_TYPE = ContentType(
    name="cocreation_minute", plugin=PLUGIN, model=ResultsMinute,
    label=_l("Results minute of a co-creation table"), label_plural=_l("Results minutes of the co-creation tables"),
    serialize=serialize_minute, title=minute_title,
    url=lambda m: url_for("cocreation.minute", tenant=m.tenant_id, table_id=m.table_id),
    search_document=lambda m: {"title": minute_title(m), "body": " ".join(
        [m.summary] + [f"{p.title} {p.description} {p.responsible_institution}" for p in m.proposals]).strip(),
        "status": "published", "date": m.published_at},
    admin_url=lambda m: url_for("admin_cocreation.minute", tenant=m.tenant_id, table_id=m.table_id),
    field_labels={"table_id": _l("Co-creation table"), "table": _l("Co-creation table"), "held_on": _l("Date"), "summary": _l("Summary"),
                  "proposals": _l("Proposals")},
)


def sample_minute(marker: str) -> ResultsMinute:
    """Conformance kit: an unsaved draft minute whose public text holds ``marker`` (its process
    and table are created and flushed first, without the marker)."""
    process = Process(title="Proceso de muestra", cycle="2026–2027")
    db.session.add(process)
    db.session.flush()
    table = CocreationTable(process_id=process.id, title="Mesa de muestra", theme=svc.DEFAULT_THEMES[0])
    db.session.add(table)
    db.session.flush()
    minute = ResultsMinute(table_id=table.id, held_on=dt.date(2026, 5, 4), summary=f"Resumen {marker}")
    minute.table = table
    return minute


# --------------------------------------------------------------------------- admin views
def _proposal_form(minute: ResultsMinute, proposal: Proposal | None = None, submitted: bool = False) -> ProposalForm:
    form = ProposalForm(obj=proposal) if submitted else ProposalForm(obj=proposal, formdata=None)
    form.problem_id.choices = [(0, _("Choose a problem"))] + [(p.id, p.title) for p in minute.table.problems]
    return form


def _render_minute(table: CocreationTable, minute: ResultsMinute | None, form: MinuteForm,
                   proposal_form: ProposalForm | None = None, addendum_form: AddendumForm | None = None,
                   status: int = 200):
    if minute is not None and proposal_form is None:
        proposal_form = _proposal_form(minute)
    return render_template(
        "cocreation/tables/admin_minute.html", table=table, process=table.process, minute=minute, form=form,
        proposal_form=proposal_form, addendum_form=addendum_form or AddendumForm(formdata=None),
        confirm_form=ConfirmForm(), editable=minute is None or LIFECYCLE.is_editable(minute),
        history=history("cocreation_minute", minute.id) if minute is not None and minute.id else []), status


@admin_bp.route("/mesas/<int:table_id>/minuta", methods=["GET", "POST"], endpoint="minute")
@require_role(*ROLES)
def admin_minute(table_id: int):
    """The results minute of a table: date and summary (a draft is created on the first save),
    its proposals and the lifecycle buttons."""
    table = one_or_404(CocreationTable, table_id)
    minute = minute_for(table)
    form = MinuteForm(obj=minute) if request.method == "POST" else MinuteForm(obj=minute, formdata=None)
    if form.validate_on_submit():
        with admin_change("cocreation_minute.save", minute, form=form, errors=(MinuteError,),
                          success=_("Minute saved.")) as change:
            minute = minute_for(table, create=True)
            change.record = minute
            save_minute(minute, held_on=form.held_on.data, summary=form.summary.data or "")
        if change.ok:
            return redirect(url_for(".minute", table_id=table.id), code=303)
        minute = minute_for(table)
    status = 422 if request.method == "POST" else 200
    return _render_minute(table, minute, form, status=status)


@admin_bp.post("/mesas/<int:table_id>/minuta/propuestas", endpoint="add_proposal")
@require_role(*ROLES)
def admin_add_proposal(table_id: int):
    """Add a proposal to the table's editable minute."""
    table = one_or_404(CocreationTable, table_id)
    minute = minute_for(table)
    if minute is None:
        abort(404)
    form = _proposal_form(minute, submitted=True)
    if form.validate_on_submit():
        with admin_change("cocreation_minute.proposal", minute, form=form, errors=(MinuteError,),
                          success=_("Proposal added.")) as change:
            add_proposal(minute, title=form.title.data, description=form.description.data,
                         problem_id=form.problem_id.data, responsible_institution=form.responsible_institution.data)
        if change.ok:
            return redirect(url_for(".minute", table_id=table.id, _anchor="propuestas"), code=303)
    return _render_minute(table, minute, MinuteForm(obj=minute, formdata=None), proposal_form=form, status=422)


@admin_bp.route("/propuestas/<int:proposal_id>", methods=["GET", "POST"], endpoint="proposal")
@require_role(*ROLES)
def admin_proposal(proposal_id: int):
    """Edit a proposal of an editable minute (a locked one shows it read-only)."""
    proposal = one_or_404(Proposal, proposal_id)
    minute = proposal.minute
    form = _proposal_form(minute, proposal, submitted=request.method == "POST")
    if form.validate_on_submit():
        with admin_change("cocreation_minute.proposal", minute, form=form, errors=(MinuteError,),
                          success=_("Proposal saved.")) as change:
            update_proposal(proposal, title=form.title.data, description=form.description.data,
                            problem_id=form.problem_id.data, responsible_institution=form.responsible_institution.data)
        if change.ok:
            return redirect(url_for(".minute", table_id=minute.table_id, _anchor="propuestas"), code=303)
    return render_template("cocreation/tables/admin_proposal.html", proposal=proposal, minute=minute,
                           table=minute.table, process=minute.table.process, form=form, confirm_form=ConfirmForm(),
                           editable=LIFECYCLE.is_editable(minute)), 422 if request.method == "POST" else 200


@admin_bp.post("/propuestas/<int:proposal_id>/borrar", endpoint="delete_proposal")
@require_role(*ROLES)
def admin_delete_proposal(proposal_id: int):
    """Delete a proposal of an editable minute."""
    proposal = one_or_404(Proposal, proposal_id)
    minute = proposal.minute
    if ConfirmForm().validate_on_submit():
        with admin_change("cocreation_minute.proposal_delete", minute, errors=(MinuteError,),
                          success=_("Proposal deleted.")):
            remove_proposal(proposal)
    return redirect(url_for(".minute", table_id=minute.table_id, _anchor="propuestas"), code=303)


@admin_bp.post("/mesas/<int:table_id>/minuta/<action>", endpoint="minute_action")
@require_role(*ROLES)
def admin_minute_action(table_id: int, action: str):
    """Lifecycle of the minute: ``aprobar``, ``borrador`` (back to draft), ``publicar`` (lock)
    and ``adenda`` (field ``reason``)."""
    table = one_or_404(CocreationTable, table_id)
    minute = minute_for(table)
    if minute is None or action not in ("aprobar", "borrador", "publicar", "adenda"):
        abort(404)
    back = redirect(url_for(".minute", table_id=table.id), code=303)
    if action == "adenda":
        form = AddendumForm()
        if form.validate_on_submit():
            with admin_change("cocreation_minute.addendum", minute, form=form, errors=(MinuteError,),
                              success=_("Addendum published.")) as change:
                pub = add_minute_addendum(minute, form.reason.data, user=current_user)
                change.after = {**snapshot(minute), "sha256": pub.sha256}
            if change.ok:
                return back
        return _render_minute(table, minute, MinuteForm(obj=minute, formdata=None), addendum_form=form, status=422)
    if not ConfirmForm().validate_on_submit():
        return back
    messages = {"aprobar": _("Minute approved."), "borrador": _("Minute returned to draft."),
                "publicar": _("Minute published and locked.")}
    verb = {"aprobar": "approve", "borrador": "reopen", "publicar": "publish"}[action]
    with admin_change(f"cocreation_minute.{verb}", minute, errors=(MinuteError,), success=messages[action]) as change:
        if action == "aprobar":
            approve_minute(minute)
        elif action == "borrador":
            return_minute_to_draft(minute)
        else:
            change.after = {**snapshot(minute), "sha256": publish_minute(minute, user=current_user).sha256}
    return back


# --------------------------------------------------------------------------- public view
@bp.get("/mesas/<int:table_id>/minuta", endpoint="minute")
def public_minute(table_id: int):
    """The published results minute of a table: summary and proposals (anchors
    ``#propuesta-<seq>``), each linking the problem it answers, and its addenda."""
    minute = db.first_or_404(select(ResultsMinute).where(ResultsMinute.table_id == table_id,
                                                         ResultsMinute.status.in_(PUBLIC)))
    table = minute.table
    problems = {p.id: p for p in db.session.scalars(select(Problem).where(
        Problem.id.in_([pr.problem_id for pr in minute.proposals if pr.problem_id]), Problem.status == "published"))}
    return render_template("cocreation/tables/minute.html", minute=minute, table=table, process=table.process,
                           problems=problems, summary=render_markdown(minute.summary), addenda=addenda(minute),
                           table_public=table.status in PUBLIC)
