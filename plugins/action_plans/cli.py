"""``comun action-plans`` commands.

* ``comun action-plans load-training <tenant>``: load the training material (Mexico's 4th
  national OGP plan and Jalisco's first local plan) into a *training* tenant; any other tenant
  is refused.
* ``comun action-plans export <tenant> <plan number> [--semicolon]``: print a plan's CSV.
"""
from __future__ import annotations

import sys

import click
from flask import current_app
from flask.cli import with_appcontext
from sqlalchemy import select


def _tenant(slug: str):
    tenant = current_app.extensions["comun"].tenants.get(slug)
    if tenant is None:
        raise click.BadParameter(f"unknown tenant '{slug}' (known: {', '.join(current_app.extensions['comun'].tenants)})",
                                 param_hint="TENANT")
    if not tenant.enables("action_plans"):
        raise click.BadParameter(f"tenant '{slug}' does not enable the action_plans plugin", param_hint="TENANT")
    return tenant


@click.group("action-plans")
def action_plans_cli() -> None:
    """Local action plans: training material and CSV export."""


@action_plans_cli.command("load-training")
@click.argument("tenant_slug", metavar="TENANT")
@click.option("--quiet", is_flag=True, help="Print nothing.")
@with_appcontext
def load_training(tenant_slug: str, quiet: bool) -> None:
    """Load the national 4th plan and the Jalisco plan into training tenant TENANT."""
    from comun_cms.demo import DemoContext
    from comun_cms.extensions import db
    from comun_cms.models import User
    from comun_cms.tenancy import tenant_context
    from plugins.action_plans.loaders import load_training_plans

    tenant = _tenant(tenant_slug)
    if not tenant.training:
        raise click.BadParameter(f"tenant '{tenant_slug}' is not a training tenant (training = true in tenant.toml)",
                                 param_hint="TENANT")
    with tenant_context(tenant):
        user = db.session.scalar(select(User).where(User.email == f"trainer@{tenant.slug}.demo.comun.mx"))
        ctx = DemoContext(tenant=tenant, user=user, log=(lambda m: None) if quiet else click.echo)
        n = load_training_plans(tenant, ctx)
        db.session.commit()
    if not quiet:
        click.echo(f"{n} training plan(s) loaded into {tenant.slug}.")


@action_plans_cli.command("export")
@click.argument("tenant_slug", metavar="TENANT")
@click.argument("number", type=click.IntRange(1, 999))
@click.option("--semicolon", is_flag=True, help="Separate with semicolons (Excel in Spanish locales).")
@with_appcontext
def export(tenant_slug: str, number: int, semicolon: bool) -> None:
    """Print the CSV of plan NUMBER of TENANT (UTF-8 with BOM)."""
    from comun_cms.extensions import db
    from comun_cms.tenancy import tenant_context
    from plugins.action_plans.csv_io import export_csv
    from plugins.action_plans.models import ActionPlan

    tenant = _tenant(tenant_slug)
    with tenant_context(tenant):
        plan = db.session.scalar(select(ActionPlan).where(ActionPlan.number == number))
        if plan is None:
            raise click.BadParameter(f"tenant '{tenant_slug}' has no plan number {number}", param_hint="NUMBER")
        sys.stdout.write(export_csv(plan, ";" if semicolon else ","))
