"""``comun action-plans`` commands.

* ``comun action-plans load-training --tenant SLUG [--quiet]``: load the training material
  (Mexico's 4th national OGP plan and Jalisco's first local plan) into a *training* tenant; any
  other tenant is refused.
* ``comun action-plans export --tenant SLUG NUMBER [--semicolon] [--language es|en]``: print a
  plan's CSV (headers, record types and statuses in the tenant's language unless
  ``--language`` says otherwise).

``--tenant`` is the core's shared option (:func:`comun_cms.toolkit.tenant_option`): an unknown
slug, or a tenant that does not enable the plugin, is refused with the list of valid ones.
"""
from __future__ import annotations

import sys

import click
from flask.cli import with_appcontext
from sqlalchemy import select

from comun_cms.toolkit import DemoContext, User, db, tenant_context, tenant_option

from .csv_io import LANGUAGES, csv_language, export_csv
from .loaders import load_training_plans
from .models import PLUGIN, ActionPlan


@click.group("action-plans")
def action_plans_cli() -> None:
    """Local action plans: training material and CSV export."""


@action_plans_cli.command("load-training")
@tenant_option(required=True, plugin=PLUGIN, training=True,
               help="Training tenant to load the plans into (training = true in tenant.toml).")
@click.option("--quiet", is_flag=True, help="Print nothing.")
@with_appcontext
def load_training(tenant, quiet: bool) -> None:
    """Load the national 4th plan and the Jalisco plan into the training tenant given with
    --tenant (published by its trainer account when it exists; commits)."""
    with tenant_context(tenant):
        user = db.session.scalar(select(User).where(User.email == f"trainer@{tenant.slug}.demo.comun.mx"))
        ctx = DemoContext(tenant=tenant, user=user, log=(lambda m: None) if quiet else click.echo)
        n = load_training_plans(tenant, ctx)
        db.session.commit()
    if not quiet:
        click.echo(f"{n} training plan(s) loaded into {tenant.slug}.")


@action_plans_cli.command("export")
@tenant_option(required=True, plugin=PLUGIN, help="Tenant whose plan is exported.")
@click.argument("number", type=click.IntRange(1, 999))
@click.option("--semicolon", is_flag=True, help="Separate with semicolons (Excel in Spanish locales).")
@click.option("--language", type=click.Choice(LANGUAGES), default=None,
              help="Language of headers, record types and statuses (default: the tenant's).")
@with_appcontext
def export(tenant, number: int, semicolon: bool, language: str | None) -> None:
    """Print the CSV of plan NUMBER of the tenant given with --tenant (UTF-8 with BOM), in the
    tenant's language unless --language is given.

    Raises click.BadParameter when the tenant has no plan NUMBER.
    """
    with tenant_context(tenant):
        plan = db.session.scalar(select(ActionPlan).where(ActionPlan.number == number))
        if plan is None:
            raise click.BadParameter(f"tenant '{tenant.slug}' has no plan number {number}", param_hint="NUMBER")
        sys.stdout.write(export_csv(plan, ";" if semicolon else ",", language or csv_language(tenant)))
