"""Command line of the STL-minutes plugin: ``comun minutes ...``."""
from __future__ import annotations

import click
from flask import current_app
from flask.cli import with_appcontext


@click.group("minutes")
def minutes_group() -> None:
    """STL minutes: training sessions, overdue agreements."""


def _tenant(slug: str):
    tenants = current_app.extensions["comun"].tenants
    if slug not in tenants:
        raise click.BadParameter(f"unknown tenant '{slug}'; valid: {', '.join(tenants)}", param_hint="--tenant")
    return tenants[slug]


@minutes_group.command("load-training")
@click.option("--tenant", "tenant_slug", required=True, metavar="SLUG", help="A training tenant.")
@click.option("--quiet", is_flag=True, help="Print nothing but errors.")
@with_appcontext
def load_training(tenant_slug: str, quiet: bool) -> None:
    """Load the training material (the Sinaloa STL sessions and the practice STL with its
    members) into a training tenant."""
    from sqlalchemy import select
    from comun_cms.demo import DemoContext
    from comun_cms.extensions import db
    from comun_cms.models import User
    from comun_cms.tenancy import tenant_context
    from .training import load_scenario

    tenant = _tenant(tenant_slug)
    if not tenant.training:
        raise click.BadParameter(f"tenant '{tenant_slug}' is not a training tenant", param_hint="--tenant")
    with tenant_context(tenant):
        user = db.session.scalar(select(User).where(User.email == f"editor@{tenant.slug}.demo.comun.mx"))
        ctx = DemoContext(tenant=tenant, user=user, log=(lambda m: None) if quiet else click.echo)
        n = load_scenario(tenant, ctx)
        db.session.commit()
    if not quiet:
        click.echo(f"{n} record(s) (sessions and bodies) loaded into {tenant_slug}.")


@minutes_group.command("overdue")
@click.option("--tenant", "tenant_slug", required=True, metavar="SLUG")
@with_appcontext
def overdue(tenant_slug: str) -> None:
    """List the tenant's overdue published agreements (today in the tenant's time zone)."""
    from sqlalchemy import select
    from comun_cms.extensions import db
    from comun_cms.tenancy import tenant_context
    from .models import Agreement
    from .services import overdue_condition, tenant_today

    tenant = _tenant(tenant_slug)
    with tenant_context(tenant):
        today = tenant_today(tenant)
        rows = db.session.scalars(select(Agreement).where(Agreement.status == "published", overdue_condition(today))
                                  .order_by(Agreement.current_due_date))
        count = 0
        for ag in rows:
            count += 1
            click.echo(f"{ag.key}\t{ag.current_due_date.isoformat()}\t{ag.owner}\t{ag.text[:80]}")
    click.echo(f"{count} overdue agreement(s) on {today.isoformat()} ({tenant.timezone}).", err=True)
