"""From a table's agreed proposal into the action plan (issue 16, item 7) and the cross-state
pages of item 8.

* **Conversion** ("Convertir en compromiso"): a proposal of a *published* (locked) results
  minute becomes an unpublished draft commitment of one of the tenant's action plans, through
  the toolkit's :func:`~comun_cms.toolkit.create_draft` (hook ``create_draft``, implemented by
  ``action_plans``; no import of that plugin). The proposal keeps ``commitment_id`` and
  ``converted_at``; a proposal is converted once. The minute stays locked: its published
  content is not edited.
* **Origin chain** ("Origen ciudadano", slot ``record_footer`` of the commitment page):
  consultation problems (and the duplicates merged into them) → their problem/solution trees →
  the table → the minute's proposal → the commitment. Computed from ids at render time, so a
  correction of any link shows its current version; only published records are shown.
* **Portal**: commitments that came from citizens' problems, per state (a proposal whose
  commitment is published), and the cross-state list of published problems by theme
  (``/cocreacion/problemas``, blueprint ``portal_cocreation``).

Other plugins' records are reached through the content-type registry only
(``content_types().get("action_plan" | "commitment" | "cocreation_table" | "cocreation_minute")``).
"""
from __future__ import annotations

from dataclasses import dataclass

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _, lazy_gettext as _l
from markupsafe import Markup
from sqlalchemy import and_, func, select, update
from wtforms import HiddenField, SelectField
from wtforms.validators import InputRequired

from comun_cms.toolkit import (
    ChangeRefused, Form, admin_change, all_tenants, content_types, create_draft, current_tenant, db, get_tenants,
    memo_per_generation, one_or_404, page_arg, require_role, utcnow,
)

from .admin import admin_bp
from .views import bp
from .models import CocreationTable, Problem, Process, Proposal, ResultsMinute, Tree

PLUGIN = "cocreation"
#: Content types this module reaches through the registry.
PLAN_TYPE, COMMITMENT_TYPE = "action_plan", "commitment"
TABLE_TYPE, MINUTE_TYPE, PROBLEM_TYPE, TREE_TYPE = "cocreation_table", "cocreation_minute", "cocreation_problem", \
    "cocreation_tree"
ROLES = ("admin", "editor")
PER_PAGE = 50

portal_bp = Blueprint("portal_cocreation", __name__, template_folder="templates", url_prefix="/cocreacion")


# --------------------------------------------------------------------------- registry helpers
def _registered(name: str):
    """The content type ``name`` or ``None`` when no installed plugin registers it."""
    registry = content_types()
    return registry.get(name) if name in registry else None


def plans_enabled(tenant=None) -> bool:
    """``True`` when the tenant (default: current) enables the plugin owning action plans and
    commitments (``action_plans``), so proposals can become commitments."""
    tenant = tenant or current_tenant
    plan_ct, commitment_ct = _registered(PLAN_TYPE), _registered(COMMITMENT_TYPE)
    return bool(plan_ct and commitment_ct and tenant.enables(plan_ct.plugin) and tenant.enables(commitment_ct.plugin))


def plan_choices() -> list[tuple[int, str]]:
    """``[(id, title)]`` of the current tenant's action plans a commitment can be added to (not
    retracted), newest first; empty when action plans are not enabled."""
    if not plans_enabled():
        return []
    ct = content_types().get(PLAN_TYPE)
    model = ct.model
    rows = db.session.scalars(select(model).where(model.status != "retracted").order_by(model.id.desc()))
    return [(row.id, ct.title(row)) for row in rows]


def _same_conversion(commitment_model):
    """SQL condition that the commitment row is the one the proposal's conversion created, not a
    later row that reused the id of a deleted draft (SQLite may reuse the highest id): it was
    created before the proposal recorded ``converted_at``, in the conversion's transaction."""
    return and_(commitment_model.id == Proposal.commitment_id, commitment_model.tenant_id == Proposal.tenant_id,
                commitment_model.created_at <= Proposal.converted_at)


def commitment_of(proposal: Proposal):
    """The commitment a proposal became (current tenant), or ``None`` (never converted, or its
    draft commitment was deleted since)."""
    ct = _registered(COMMITMENT_TYPE)
    if ct is None or proposal.commitment_id is None or proposal.id is None:
        return None
    return db.session.scalar(select(ct.model).join(Proposal, _same_conversion(ct.model))
                             .where(Proposal.id == proposal.id))


# --------------------------------------------------------------------------- conversion
class ConvertForm(Form):
    """"Convertir en compromiso": the proposal (hidden) and the action plan it goes into."""

    proposal = HiddenField()
    plan = SelectField(_l("Action plan"), coerce=int, validators=[InputRequired()])


def source_label(proposal: Proposal) -> str:
    """The commitment's source note: "Propuesta N de la minuta de resultados de «mesa»"."""
    return _("Proposal %(n)s of the results minute of the co-creation table “%(table)s”", n=proposal.seq,
             table=proposal.minute.table.title)


def public_problem_text(proposal: Proposal) -> str:
    """What the draft commitment says about the public problem: the citizens' problem the
    proposal answers (title, then its description), or ``""`` when it names none."""
    problem = proposal.problem
    if problem is None:
        return ""
    return "\n\n".join(part for part in (problem.title, problem.description) if part)


def convert_proposal(proposal: Proposal, plan_id: int):
    """Turn ``proposal`` into a draft commitment of plan ``plan_id`` (not committed: call it
    inside ``admin_change``).

    Pre-fills title, description, public problem (the citizens' problem), owner institution (the
    responsible institution) and the origin, through the ``create_draft`` hook; then stores
    ``commitment_id`` and ``converted_at`` on the proposal with a conditional update, so two
    concurrent conversions cannot both succeed. A proposal whose draft commitment was deleted
    since can be converted again.

    Returns:
        The new commitment (a draft of the content type ``commitment``).

    Raises:
        ChangeRefused: the minute is not published, the proposal was already converted (into a
            commitment that still exists), action
            plans are not enabled, or the plan is not one of the tenant's (field ``plan``).
    """
    minute = proposal.minute
    if minute.status != "published":
        raise ChangeRefused(_("Only proposals of a published (locked) results minute can become commitments."))
    previous = proposal.commitment_id
    if previous is not None and commitment_of(proposal) is not None:
        raise ChangeRefused(_("This proposal was already converted into a commitment."))
    if not plans_enabled():
        raise ChangeRefused(_("Action plans are not enabled on this site."))
    if plan_id not in {pid for pid, _title in plan_choices()}:
        raise ChangeRefused(_("Action plan: choose one of the action plans of this site that is not retracted."),
                            field="plan")
    fields = {"plan_id": plan_id, "title": proposal.title, "description": proposal.description,
              "public_problem": public_problem_text(proposal), "owner_institution": proposal.responsible_institution}
    origin = {"content_type": MINUTE_TYPE, "record_id": minute.id, "proposal_id": proposal.id,
              "problem_id": proposal.problem_id, "label": source_label(proposal)}
    try:
        record = create_draft(COMMITMENT_TYPE, fields, origin)
    except ChangeRefused as exc:
        field = "plan" if exc.field == "plan_id" else None
        raise ChangeRefused(str(exc), field=field) from exc
    if record is None:
        raise ChangeRefused(_("Action plans are not enabled on this site."))
    # a proposal whose draft commitment was deleted may be converted again
    unconverted = Proposal.commitment_id.is_(None) if previous is None else Proposal.commitment_id == previous
    done = db.session.execute(update(Proposal).where(
        Proposal.id == proposal.id, Proposal.tenant_id == current_tenant.slug, unconverted)
        .values(commitment_id=record.id, converted_at=utcnow()).execution_options(synchronize_session=False))
    if done.rowcount != 1:
        raise ChangeRefused(_("This proposal was already converted into a commitment."))
    db.session.refresh(proposal)
    return record


@dataclass
class Conversion:
    """What the admin shows on a proposal (:func:`proposal_conversion`): the ``commitment`` it
    became (or ``None``), whether its draft was ``deleted`` since, whether "Convertir en
    compromiso" is ``available`` (published minute, not converted, action plans enabled, a plan
    to choose), the plan ``choices``, the empty ``form`` (CSRF) and the form's ``action``."""

    commitment: object | None
    deleted: bool
    available: bool
    choices: list
    form: ConvertForm
    action: str


def proposal_conversion(proposal: Proposal) -> Conversion:
    """The conversion state of ``proposal`` for the admin templates (the partial
    ``cocreation/origin/_convert_form.html`` calls it; context processor of ``admin_cocreation``)."""
    commitment = commitment_of(proposal)
    choices = plan_choices() if commitment is None else []
    available = commitment is None and bool(choices) and proposal.minute.status == "published"
    form = ConvertForm(formdata=None)
    form.proposal.data = proposal.id
    form.plan.choices = choices
    return Conversion(commitment, commitment is None and proposal.commitment_id is not None, available, choices, form,
                      url_for("admin_cocreation.proposals", process_id=proposal.minute.table.process_id))


@admin_bp.context_processor
def _conversion_helpers() -> dict:
    return {"proposal_conversion": proposal_conversion, "commitment_type": lambda: _registered(COMMITMENT_TYPE)}


def process_minutes(process: Process) -> list[ResultsMinute]:
    """The results minutes of the process's tables (current tenant), by table."""
    return list(db.session.scalars(select(ResultsMinute).join(CocreationTable, CocreationTable.id == ResultsMinute.table_id)
                                   .where(CocreationTable.process_id == process.id)
                                   .order_by(CocreationTable.id, ResultsMinute.id)))


@admin_bp.route("/<int:process_id>/propuestas", methods=["GET", "POST"], endpoint="proposals")
@require_role(*ROLES)
def proposals(process_id: int):
    """The proposals of the process's results minutes; on each proposal of a published minute,
    "Convertir en compromiso" (when action plans are enabled): POST ``proposal`` and ``plan``
    creates the draft commitment and opens its admin page."""
    process = one_or_404(Process, process_id)
    enabled = plans_enabled()
    choices = plan_choices()
    form = ConvertForm()
    form.plan.choices = choices
    status = 200
    if request.method == "POST":
        if not enabled:
            abort(404)
        proposal = db.session.scalar(select(Proposal).join(ResultsMinute, ResultsMinute.id == Proposal.minute_id)
                                     .join(CocreationTable, CocreationTable.id == ResultsMinute.table_id)
                                     .where(Proposal.id == _int(form.proposal.data),
                                            CocreationTable.process_id == process.id))
        if proposal is None:
            abort(404)
        if form.validate_on_submit():
            with admin_change("cocreation_proposal.convert", proposal,
                              success=_("Draft commitment created from the proposal; complete it and publish it.")) \
                    as change:
                record = convert_proposal(proposal, form.plan.data)
            if change.ok:
                return redirect(content_types().get(COMMITMENT_TYPE).admin_url(record), code=303)
        else:
            for error in form.plan.errors:
                flash(f"{form.plan.label.text}: {error}", "error")
        status = 422
    return render_template("cocreation/origin/admin_proposals.html", process=process, minutes=process_minutes(process),
                           enabled=enabled, choices=choices), status


def _int(value) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


# --------------------------------------------------------------------------- origin chain
@dataclass(frozen=True)
class ChainItem:
    """One record of the origin chain: its ``title``, current public ``url`` (``None`` when its
    content type has no public page here) and an optional ``note`` ("merged duplicate")."""

    title: str
    url: str | None
    note: str = ""


@dataclass(frozen=True)
class ChainLevel:
    """One level of the origin chain (``key``: problems, trees, table, proposal, commitment)
    with its translated ``label`` and its items."""

    key: str
    label: str
    items: tuple[ChainItem, ...]


def _item(type_name: str, record, title: str | None = None, note: str = "") -> ChainItem:
    ct = _registered(type_name)
    return ChainItem(title or (ct.title(record) if ct else str(getattr(record, "title", ""))),
                     ct.url(record) if ct else None, note)


def proposal_for(commitment) -> Proposal | None:
    """The proposal (current tenant) that became ``commitment``, or ``None``."""
    ct = _registered(COMMITMENT_TYPE)
    if ct is None or getattr(commitment, "id", None) is None:
        return None
    return db.session.scalar(select(Proposal).join(ct.model, _same_conversion(ct.model))
                             .where(ct.model.id == commitment.id).order_by(Proposal.id).limit(1))


def origin_chain(commitment) -> list[ChainLevel]:
    """The citizen origin of a **published** commitment, from the consultation to the plan.

    Levels, each kept only when it has a published record: ``problems`` (the problem the
    proposal answers, else the table's problems, each followed by the duplicates merged into
    it), ``trees`` (their published problem and solution trees), ``table``, ``proposal`` (the
    proposal, linked to its published minute) and ``commitment``. Links are the records'
    current public URLs (the content types' ``url``), so corrections never break the chain.

    Returns:
        ``[]`` when the commitment is not published or no proposal became it.
    """
    if getattr(commitment, "status", None) != "published":
        return []
    proposal = proposal_for(commitment)
    if proposal is None:
        return []
    minute = proposal.minute
    table = minute.table
    problems = [proposal.problem] if proposal.problem is not None else list(table.problems)
    problems = [p for p in problems if p.status == "published"]
    levels: list[ChainLevel] = []
    items: list[ChainItem] = []
    for problem in problems:
        items.append(_item(PROBLEM_TYPE, problem))
        merged = db.session.scalars(select(Problem).where(Problem.merged_into_id == problem.id).order_by(Problem.id))
        for dup in merged:
            public = dup.status in ("published", "retracted")
            items.append(ChainItem(dup.title, _item(PROBLEM_TYPE, dup).url if public else None,
                                   _("merged into “%(title)s”", title=problem.title)))
    if items:
        levels.append(ChainLevel("problems", _("Consultation problems"), tuple(items)))
    trees = db.session.scalars(select(Tree).where(Tree.problem_id.in_([p.id for p in problems]),
                                                  Tree.status == "published").order_by(Tree.problem_id, Tree.kind)) \
        if problems else []
    items = [_item(TREE_TYPE, t, _("Problem tree: %(core)s", core=t.core) if t.kind == "problem"
                   else _("Solution tree: %(core)s", core=t.core)) for t in trees]
    if items:
        levels.append(ChainLevel("trees", _("Problem and solution trees"), tuple(items)))
    if table.status == "published":
        levels.append(ChainLevel("table", _("Co-creation table"), (_item(TABLE_TYPE, table, table.title),)))
    if minute.status == "published":
        minute_ct = _registered(MINUTE_TYPE)
        levels.append(ChainLevel("proposal", _("Proposal of the results minute"), (ChainItem(
            _("Proposal %(n)s: %(title)s", n=proposal.seq, title=proposal.title),
            f"{minute_ct.url(minute)}#propuesta-{proposal.seq}" if minute_ct else None),)))
    levels.append(ChainLevel("commitment", _("Commitment"), (_item(COMMITMENT_TYPE, commitment),)))
    return levels


def published_commitment_of(proposal: Proposal):
    """The commitment ``proposal`` became when it is **published** (for the public results
    minute: "proposal → commitment"), else ``None``."""
    commitment = commitment_of(proposal)
    return commitment if commitment is not None and commitment.status == "published" else None


@bp.context_processor
def _public_helpers() -> dict:
    return {"published_commitment_of": published_commitment_of, "commitment_type": lambda: _registered(COMMITMENT_TYPE)}


def render_origin_slot(tenant, context: dict) -> Markup | None:
    """``record_footer`` slot: "Origen ciudadano" on a published commitment whose proposal came
    from a co-creation table, else ``None``."""
    record = context.get("record")
    ct = _registered(COMMITMENT_TYPE)
    if record is None or ct is None or not isinstance(record, ct.model):
        return None
    chain = origin_chain(record)
    if len(chain) < 2:  # the commitment alone tells nothing
        return None
    return Markup(render_template("cocreation/origin/_chain.html", chain=chain))


# --------------------------------------------------------------------------- portal
def _portal_tenants() -> list:
    return [t for t in get_tenants(public_only=True).values() if t.enables(PLUGIN)]


def commitments_from_citizens() -> list[tuple]:
    """``[(tenant, n)]`` for each public tenant enabling the plugin: how many of its published
    commitments came from a co-creation proposal (proposals whose commitment is published;
    corrected commitments count, retracted ones do not). Explicit all-tenants read."""
    tenants = _portal_tenants()
    ct = _registered(COMMITMENT_TYPE)
    counts: dict[str, int] = {}
    if tenants and ct is not None:
        model = ct.model
        rows = db.session.execute(all_tenants(
            select(Proposal.tenant_id, func.count(func.distinct(Proposal.commitment_id)))
            .join(model, _same_conversion(model))
            .where(model.status == "published", Proposal.tenant_id.in_([t.slug for t in tenants]))
            .group_by(Proposal.tenant_id)))
        counts = dict(rows.all())
    return [(t, counts.get(t.slug, 0)) for t in tenants if ct is not None and t.enables(ct.plugin)]


def render_citizens_widget() -> Markup:
    """Portal widget: commitments from citizens' problems per state, and the link to the
    cross-state list of problems by theme (memoized per portal generation)."""
    def compute():
        return str(render_template("cocreation/origin/_portal_counts.html", rows=commitments_from_citizens()))
    return Markup(memo_per_generation("cocreation.portal_origin", compute))


@portal_bp.get("/problemas", endpoint="problems")
def portal_problems():
    """Published problems of every public state, grouped by theme; ``?tema=`` keeps one theme,
    ``?page=`` pages by 50."""
    tenants = _portal_tenants()
    by_slug = {t.slug: t for t in tenants}
    slugs = list(by_slug)
    theme = (request.args.get("tema") or "").strip()[:100]
    base = select(Problem).where(Problem.tenant_id.in_(slugs), Problem.status == "published")
    theme_counts = db.session.execute(all_tenants(
        select(Problem.theme, func.count(Problem.id)).where(Problem.tenant_id.in_(slugs), Problem.status == "published")
        .group_by(Problem.theme).order_by(Problem.theme))).all() if slugs else []
    if theme:
        base = base.where(Problem.theme == theme)
    page = page_arg()
    rows = db.session.scalars(all_tenants(base.order_by(Problem.theme, Problem.tenant_id, Problem.id)
                                          .limit(PER_PAGE + 1).offset((page - 1) * PER_PAGE))).all() if slugs else []
    has_next = len(rows) > PER_PAGE
    groups: dict[str, list] = {}
    for row in rows[:PER_PAGE]:
        groups.setdefault(row.theme, []).append((by_slug[row.tenant_id], row))
    return render_template("cocreation/origin/portal_problems.html", groups=groups, theme=theme,
                           theme_counts=theme_counts, page=page, has_next=has_next, tenants=tenants)
