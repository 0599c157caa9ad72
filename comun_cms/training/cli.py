"""``comun training`` commands: ``load``, ``participants``, ``reset``, ``check``, ``progress``,
``exercises``. Each takes the shared ``--tenant SLUG`` option (a training tenant; default: the
only one)."""
from __future__ import annotations

import click
from flask import current_app
from flask.cli import with_appcontext

from comun_cms.cli_options import tenant_option
from comun_cms.setup import sync_tenants
from comun_cms.tenancy import Tenant
from comun_cms.training.exercises import CheckResult, TrainingError, check_exercise, exercises, progress
from comun_cms.training.workspaces import (
    create_participants, load_scenario, participant, reset, sheet_path, training_tenant, workspace_of_user,
    workspaces_of,
)
from comun_cms.users import find_user

__all__ = ["training_group"]

def _tenant_or_fail(tenant: Tenant | None) -> Tenant:
    """The training tenant given with ``--tenant`` (not a participant workspace), or the only one."""
    try:
        return training_tenant(current_app._get_current_object(), tenant.slug if tenant is not None else None)
    except TrainingError as exc:
        raise click.BadParameter(str(exc), param_hint="--tenant") from None


_tenant_opt = tenant_option(training=True, help="Training tenant (default: the only one).")


@click.group("training")
def training_group() -> None:
    """Training workshops: scenario, participants and workspaces, reset, check my work."""


@training_group.command("load")
@_tenant_opt
@click.option("--quiet", is_flag=True, help="Print only the summary.")
@with_appcontext
def load_cmd(tenant: Tenant | None, quiet: bool) -> None:
    """Load the training scenario (the plugins' training material and the 13 exercise pages)
    into the training tenant and save it as the state `comun training reset` restores.
    Workspaces get theirs from `comun training participants`."""
    app = current_app._get_current_object()
    tenant = _tenant_or_fail(tenant)
    sync_tenants(app)
    result = load_scenario(app, tenant, log=(lambda m: None) if quiet else click.echo)
    click.echo(f"Scenario of {tenant.slug}: {result['records']} training record(s), "
               f"{result['exercises']} new exercise page(s).")


@training_group.command("participants")
@click.argument("count", type=click.IntRange(1, 200))
@click.option("--date", "workshop_date", required=True, type=click.DateTime(["%Y-%m-%d"]),
              help="Workshop date (YYYY-MM-DD); accounts stop working two days later.")
@click.option("--workshop", default="taller", show_default=True, help="Workshop name (letters, digits, hyphens).")
@_tenant_opt
@with_appcontext
def participants_cmd(count: int, workshop_date, workshop: str, tenant: Tenant | None) -> None:
    """Give COUNT participants their workspaces and accounts and print their logins (a
    printable HTML sheet is written to instance/training/<workshop>-accesos.html)."""
    app = current_app._get_current_object()
    tenant = _tenant_or_fail(tenant)
    try:
        logins = create_participants(app, tenant, count, workshop_date.date(), workshop=workshop)
    except TrainingError as exc:
        raise click.UsageError(str(exc)) from None
    for item in logins:
        click.echo(f"{item['workspace']:18} {item['email']:48} {item['evaluator_email']:46} {item['password']}")
    click.echo(f"Printable sheet: {sheet_path(app, workshop)}")


@training_group.command("reset")
@click.option("--exercise", type=int, default=None,
              help="Start at exercise N: workspaces get the model answers of exercises 1..N-1.")
@click.option("--workspace", type=int, default=None, help="Only workspace N (one participant).")
@_tenant_opt
@with_appcontext
def reset_cmd(exercise: int | None, workspace: int | None, tenant: Tenant | None) -> None:
    """Restore the training scenario of the training tenant and every workspace (or one);
    participants keep their accounts, their work is removed."""
    app = current_app._get_current_object()
    tenant = _tenant_or_fail(tenant)
    try:
        result = reset(app, tenant, exercise, workspace)
    except TrainingError as exc:
        raise click.UsageError(str(exc)) from None
    start = f", starting at exercise {exercise}" if exercise is not None else ""
    click.echo(f"Scenario restored in {len(result['tenants'])} tenant(s) ({', '.join(result['tenants'])}){start}: "
               f"{result['rows']} row(s) in {result['seconds']} s.")


def _print_results(results: list[CheckResult]) -> None:
    for res in results:
        click.echo(f"{res.exercise.number:2}. {res.exercise.step}: {'done' if res.done else 'pending'}")
        for item in res.items:
            click.echo(f"    [{'x' if item.done else ' '}] {item.label}" + ("" if item.done else f" — {item.hint}"))


@training_group.command("check")
@click.argument("email")
@click.option("--exercise", type=int, default=None, help="Only exercise N.")
@_tenant_opt
@with_appcontext
def check_cmd(email: str, exercise: int | None, tenant: Tenant | None) -> None:
    """Show what participant EMAIL (either of their accounts) has done, for every exercise or one."""
    app = current_app._get_current_object()
    tenant = _tenant_or_fail(tenant)
    user = find_user(email)
    if user is None:
        raise click.BadParameter(f"no user {email}", param_hint="EMAIL")
    ws = workspace_of_user(app, user, tenant)
    if ws is None:
        raise click.BadParameter(f"{email} has no workspace in '{tenant.slug}'", param_hint="EMAIL")
    try:
        who = participant(ws)
        results = [check_exercise(who, exercise)] if exercise is not None else progress(who)
    except TrainingError as exc:
        raise click.UsageError(str(exc)) from None
    click.echo(f"Workspace {ws.slug}")
    _print_results(results)


@training_group.command("progress")
@_tenant_opt
@with_appcontext
def progress_cmd(tenant: Tenant | None) -> None:
    """One line per workspace with a participant: exercises done (✔) and pending (·)."""
    app = current_app._get_current_object()
    tenant = _tenant_or_fail(tenant)
    shown = 0
    for ws in workspaces_of(app, tenant):
        who = participant(ws)
        if who.editor is None:
            continue
        marks = "".join("✔" if r.done else "·" for r in progress(who))
        click.echo(f"{ws.slug:18} {marks} {marks.count('✔'):2}/13 {who.editor.email}")
        shown += 1
    if not shown:
        click.echo("No workspace has a participant yet (comun training participants N --date YYYY-MM-DD).")


@training_group.command("exercises")
@_tenant_opt
@with_appcontext
def exercises_cmd(tenant: Tenant | None) -> None:
    """List the 13 exercises (steps of the local strategy) and their tasks."""
    tenant = _tenant_or_fail(tenant)
    for ex in exercises(tenant):
        click.echo(f"{ex.number:2}. {ex.step}  [{'; '.join(task.key for task in ex.tasks)}]")
