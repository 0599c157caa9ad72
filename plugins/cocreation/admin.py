"""Staff pages of the co-creation plugin, under ``/<tenant>/admin/cocreacion/``: processes and
their steps, the moderation queue (publish, merge, reject), the paper import and the trees.
Every write goes through ``admin_change`` (one transaction with its audit event)."""
from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from comun_cms.toolkit import (
    ChangeRefused, ConfirmForm, admin_change, correct, current_tenant, db, history, one_or_404, publish,
    require_role, snapshot,
)

from . import services as svc
from .content import serialize_tree
from .forms import ImportForm, MergeForm, ProcessForm, RejectForm, StepForm, TreeForm
from .models import STRATEGY_STEPS, Problem, Process, Tree

admin_bp = Blueprint("admin_cocreation", __name__, template_folder="templates", url_prefix="/cocreacion")
ROLES = ("admin", "editor")
MODERATION = ("pending", "published", "merged", "rejected")


def _moderation_label(code: str) -> str:
    return {"pending": _("Pending"), "published": _("Published"), "merged": _("Merged"),
            "rejected": _("Rejected")}.get(code, code)


@admin_bp.route("/", methods=["GET", "POST"], endpoint="index")
@require_role(*ROLES)
def index():
    """The tenant's processes and the form that creates one (with its 13 empty steps)."""
    form = ProcessForm()
    if form.validate_on_submit():
        record = Process()
        with admin_change("cocreation_process.create", record, form=form, success=_("Process created.")) as change:
            form.populate_obj(record)
            svc.ensure_steps(record)
            db.session.add(record)
        if change.ok:
            return redirect(url_for(".process", process_id=record.id), code=303)
    processes = db.session.scalars(select(Process).order_by(Process.id.desc())).all()
    return render_template("cocreation/admin/index.html", processes=processes, form=form), \
        422 if form.errors else 200


@admin_bp.route("/<int:process_id>", methods=["GET", "POST"])
@require_role(*ROLES)
def process(process_id: int):
    """Edit a process (draft: saved; published: saved and published as a correction with the
    reason) and see its steps; the publish button publishes version 1."""
    record = one_or_404(Process, process_id)
    form = ProcessForm(obj=record)
    if form.validate_on_submit():
        reason = (request.form.get("reason") or "").strip()
        with admin_change("cocreation_process.update", record, form=form, success=_("Process saved.")) as change:
            form.populate_obj(record)
            if record.status == "published":
                if not reason:
                    raise ChangeRefused(_("Explain the reason; it is published with the new version."))
                correct(record, reason=reason[:1000], user=current_user, commit=False)
        if change.ok:
            return redirect(url_for(".process", process_id=record.id), code=303)
    svc.ensure_steps(record)
    return render_template("cocreation/admin/process.html", process=record, form=form, publish_form=ConfirmForm(),
                           steps=[(s, svc.resolve_link(s.link_type, s.link_id)) for s in record.steps],
                           history=history("cocreation_process", record.id)), 422 if form.errors else 200


@admin_bp.post("/<int:process_id>/publicar")
@require_role(*ROLES)
def publish_process(process_id: int):
    """Publish a draft process as version 1 (indexed and notarized by the core's listeners)."""
    record = one_or_404(Process, process_id)
    form = ConfirmForm()
    if form.validate_on_submit():
        with admin_change("cocreation_process.publish", record, success=_("Process published.")) as change:
            if record.status != "draft":
                raise ChangeRefused(_("The process is already published."))
            svc.ensure_steps(record)
            change.after = {**snapshot(record), "sha256": publish(record, user=current_user, commit=False).sha256}
    return redirect(url_for(".process", process_id=record.id), code=303)


@admin_bp.route("/<int:process_id>/pasos/<int:number>", methods=["GET", "POST"])
@require_role(*ROLES)
def step(process_id: int, number: int):
    """Dates, note and link of one step. A published process gets a correction (reason)."""
    record = one_or_404(Process, process_id)
    if not 1 <= number <= len(STRATEGY_STEPS):
        abort(404)
    row = next(s for s in svc.ensure_steps(record) if s.number == number)
    form = StepForm(obj=row)
    form.link.choices = [("", _("Nothing linked"))] + svc.linkable_choices(current_tenant)
    if request.method == "GET":
        form.link.data = f"{row.link_type}:{row.link_id}" if row.link_type and row.link_id else ""
    if form.validate_on_submit():
        reason = (request.form.get("reason") or "").strip()
        with admin_change("cocreation_process.step", record, form=form, success=_("Step saved.")) as change:
            row.starts, row.ends, row.note = form.starts.data, form.ends.data, form.note.data or ""
            kind, _sep, ident = (form.link.data or "").partition(":")
            row.link_type, row.link_id = (kind, int(ident)) if ident.isdigit() else ("", None)
            if record.status == "published":
                if not reason:
                    raise ChangeRefused(_("Explain the reason; it is published with the new version."))
                correct(record, reason=reason[:1000], user=current_user, commit=False)
        if change.ok:
            return redirect(url_for(".process", process_id=record.id), code=303)
    return render_template("cocreation/admin/step.html", process=record, step=row, form=form), \
        422 if request.method == "POST" else 200


@admin_bp.get("/<int:process_id>/problemas")
@require_role(*ROLES)
def problems(process_id: int):
    """The moderation queue of a process: every problem with its actions."""
    record = one_or_404(Process, process_id)
    moderation = request.args.get("estado", "pending")
    query = select(Problem).where(Problem.process_id == record.id)
    if moderation in MODERATION:
        query = query.where(Problem.moderation == moderation)
    rows = db.session.scalars(query.order_by(Problem.id)).all()
    targets = db.session.scalars(select(Problem).where(Problem.process_id == record.id,
                                                       Problem.moderation == "published").order_by(Problem.id)).all()
    return render_template("cocreation/admin/problems.html", process=record, rows=rows, moderation=moderation,
                           targets=targets, label=_moderation_label, confirm_form=ConfirmForm(),
                           merge_form=_merge_form(targets), reject_form=RejectForm(),
                           counts={r.id: svc.support_count(r.id) for r in rows})


def _merge_form(targets, formdata=None) -> MergeForm:
    form = MergeForm(formdata=formdata) if formdata is not None else MergeForm()
    form.target.choices = [(t.id, f"{t.id} · {t.title}") for t in targets]
    return form


@admin_bp.post("/problemas/<int:problem_id>/<action>")
@require_role(*ROLES)
def moderate(problem_id: int, action: str):
    """``publicar``, ``fusionar`` (field ``target``) or ``rechazar`` (field ``reason``)."""
    problem = one_or_404(Problem, problem_id)
    back = redirect(url_for(".problems", process_id=problem.process_id), code=303)
    if action == "publicar":
        if ConfirmForm().validate_on_submit():
            with admin_change("cocreation_problem.publish", problem, success=_("Problem published.")):
                svc.publish_problem(problem, current_user)
        return back
    if action == "fusionar":
        targets = db.session.scalars(select(Problem).where(Problem.process_id == problem.process_id,
                                                           Problem.moderation == "published")).all()
        form = _merge_form(targets, request.form)
        if form.validate_on_submit():
            with admin_change("cocreation_problem.merge", problem, success=_("Problem merged.")):
                svc.merge_problem(problem, db.session.get(Problem, form.target.data), current_user)
        else:
            _flash_errors(form)
        return back
    if action == "rechazar":
        form = RejectForm()
        if form.validate_on_submit():
            with admin_change("cocreation_problem.reject", problem, success=_("Problem rejected.")):
                svc.reject_problem(problem, form.reason.data, current_user)
        else:
            _flash_errors(form)
        return back
    abort(404)


def _flash_errors(form) -> None:
    for field in form:
        for error in field.errors:
            flash(f"{field.label.text}: {error}", "error")


@admin_bp.route("/<int:process_id>/importar", methods=["GET", "POST"])
@require_role(*ROLES)
def import_problems(process_id: int):
    """Upload or paste the problems of a paper consultation: all rows or none."""
    record = one_or_404(Process, process_id)
    form = ImportForm()
    if form.validate_on_submit():
        with admin_change("cocreation_problem.import", record, form=form, errors=(svc.ImportRefused,)) as change:
            added = svc.import_paper_problems(record, text=form.text.data or "", file=form.file.data)
            change.after = {"imported": len(added)}
        if change.ok:
            flash(_("%(n)d problems imported; they wait for moderation.", n=len(added)), "success")
            return redirect(url_for(".problems", process_id=record.id), code=303)
    return render_template("cocreation/admin/import.html", process=record, form=form,
                           columns=svc.IMPORT_COLUMNS, themes=svc.themes()), 422 if form.errors else 200


@admin_bp.route("/problemas/<int:problem_id>/arboles", methods=["GET", "POST"])
@require_role(*ROLES)
def trees(problem_id: int):
    """Edit and publish the problem tree and the solution tree of a published problem."""
    problem = one_or_404(Problem, problem_id)
    kind = request.values.get("kind", "problem")
    if kind not in ("problem", "solution"):
        kind = "problem"
    current = {k: svc.tree_for(problem, k) for k in ("problem", "solution")}
    tree = current[kind]
    form = TreeForm(obj=tree, prefix=kind)
    if form.validate_on_submit():
        tree = tree or Tree(problem_id=problem.id, kind=kind)
        reason = (request.form.get("reason") or "").strip()
        with admin_change("cocreation_tree.save", tree, form=form, success=_("Tree published.")) as change:
            if problem.moderation != "published":
                raise ChangeRefused(_("Publish the problem before its trees."))
            form.populate_obj(tree)
            for name, label in (("roots", form.roots.label.text), ("branches", form.branches.label.text)):
                try:
                    svc.parse_outline(getattr(tree, name), label)
                except ValueError as exc:
                    raise ChangeRefused(str(exc), field=name) from exc
            db.session.add(tree)
            db.session.flush()
            if tree.status == "draft":
                publication = publish(tree, user=current_user, commit=False)
            else:
                if not reason:
                    raise ChangeRefused(_("Explain the reason; it is published with the new version."))
                publication = correct(tree, reason=reason[:1000], user=current_user, commit=False)
            change.after = {**serialize_tree(tree), "sha256": publication.sha256}
        if change.ok:
            return redirect(url_for(".trees", problem_id=problem.id, kind=kind), code=303)
        current[kind] = tree if tree.id else None
    forms = {k: (form if k == kind else TreeForm(obj=current[k], prefix=k, formdata=None))
             for k in ("problem", "solution")}
    return render_template("cocreation/admin/trees.html", problem=problem, forms=forms, trees=current,
                           histories={k: history("cocreation_tree", t.id) if t and t.id else [] for k, t in current.items()}), \
        422 if form.errors else 200
