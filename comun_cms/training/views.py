"""Training web pages, mounted under ``/<tenant>/capacitacion/`` (404 outside training tenants).

``/`` lists the exercises (in a workspace, with its participant's progress; on the training
tenant, a link to the visitor's own workspace); ``/<n>`` shows one exercise with links to where
each task starts; ``/<n>/revisar`` is "check my work"; ``/avance`` is the trainers' overview.
"""
from __future__ import annotations

from flask import Blueprint, Flask, abort, current_app, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.routing import BuildError

from comun_cms.permissions import has_role, require_role
from comun_cms.routing import register_tenant_blueprint
from comun_cms.tenancy import Tenant, get_current_tenant
from comun_cms.training.exercises import TrainingError, check_exercise, exercises, get_exercise, progress
from comun_cms.training.workspaces import PARTICIPANT_ROLES, participant, workspace_of_user, workspaces_of

__all__ = ["bp", "can_follow", "init_app"]

bp = Blueprint("training", __name__, url_prefix="/capacitacion")


def _require_training() -> Tenant:
    tenant = get_current_tenant()
    if tenant is None or not tenant.training:
        abort(404)
    return tenant


def _parent(tenant: Tenant) -> Tenant:
    return current_app.extensions["comun"].tenants[tenant.workspace_of] if tenant.is_workspace else tenant


def can_follow(workspace: Tenant, user=None) -> bool:
    """``True`` if ``user`` (default: the current user) may see the progress of ``workspace``:
    its own accounts, and trainers and administrators of its training tenant."""
    user = user or current_user
    if not getattr(user, "is_authenticated", False):
        return False
    return has_role(*PARTICIPANT_ROLES, tenant=workspace, user=user) or \
        has_role("trainer", "admin", tenant=_parent(workspace), user=user)


def _render(heading: str, **context):
    defaults = {"exercises": None, "results": None, "ex": None, "result": None, "own_workspace": None,
                "is_trainer": False, "rows": None, "start_links": {}}
    return render_template("training/page.html", heading=heading, **{**defaults, **context})


@bp.get("/")
def index():
    """The exercises; in a workspace, its progress for its participant and trainers; on the
    training tenant, a link to the visitor's own workspace and, for trainers, to the overview."""
    tenant = _require_training()
    exs = exercises(tenant)
    results = progress(participant(tenant)) if tenant.is_workspace and can_follow(tenant) else None
    own = None if tenant.is_workspace else workspace_of_user(current_app, current_user, tenant)
    trainer = not tenant.is_workspace and current_user.is_authenticated and has_role("trainer", "admin")
    return _render(_("Training exercises"), exercises=exs, results=results, own_workspace=own, is_trainer=trainer)


@bp.get("/<int:number>")
def exercise(number: int):
    """Goals and steps of one exercise, with links to where each task starts (in a workspace)."""
    tenant = _require_training()
    try:
        ex = get_exercise(number, tenant)
    except TrainingError:
        abort(404)
    links = {}
    if tenant.is_workspace and can_follow(tenant):
        for task in ex.tasks:
            if task.start_endpoint:
                try:
                    links[task.key] = url_for(task.start_endpoint)
                except BuildError:  # a plugin naming an endpoint that does not exist: no link
                    current_app.logger.warning("training task %s: unknown start_endpoint %r", task.key, task.start_endpoint)
    own = None if tenant.is_workspace else workspace_of_user(current_app, current_user, tenant)
    return _render(_("Exercise %(n)d", n=number), ex=ex, start_links=links, own_workspace=own)


@bp.get("/<int:number>/revisar")
def check(number: int):
    """"Check my work": what the workspace's participant has done in this exercise (its
    accounts and the trainers may look). On the training tenant it leads to the visitor's own
    workspace."""
    tenant = _require_training()
    if not current_user.is_authenticated:
        return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))
    try:
        ex = get_exercise(number, tenant)
    except TrainingError:
        abort(404)
    if not tenant.is_workspace:
        own = workspace_of_user(current_app, current_user, tenant)
        if own is not None:
            return redirect(url_for("training.check", tenant=own.slug, number=number), code=303)
        return _render(_("Check my work: exercise %(n)d", n=number), no_workspace=True)
    if not can_follow(tenant):
        abort(403)
    return _render(_("Check my work: exercise %(n)d", n=number), result=check_exercise(participant(tenant), ex))


@bp.get("/avance")
@require_role("trainer", "admin")
def overview():
    """The trainer's overview: each workspace with a participant and the exercises done."""
    tenant = _require_training()
    if tenant.is_workspace:
        abort(404)
    rows = []
    for ws in workspaces_of(current_app, tenant):
        who = participant(ws)
        if who.editor is None:
            continue
        rows.append((ws, who, progress(who)))
    return _render(_("Workshop progress"), rows=rows, exercises=exercises(tenant), is_trainer=True)


def init_app(app: Flask) -> None:
    """Mount the training pages under ``/<tenant>/capacitacion/`` (404 outside training
    tenants). Call in ``create_app`` before the first request."""
    if "training" not in app.blueprints:
        register_tenant_blueprint(app, bp)
