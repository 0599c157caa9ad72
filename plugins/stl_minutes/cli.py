"""Command line of the STL-minutes plugin: ``comun minutes ...``.

Both commands take the shared ``--tenant SLUG`` option (:func:`comun_cms.toolkit.tenant_option`),
which refuses an unknown slug with the list of valid ones.
"""
from __future__ import annotations

import click
from flask.cli import with_appcontext
from sqlalchemy import select

from comun_cms.toolkit import DemoContext, Tenant, User, db, tenant_context, tenant_option

from .models import Agreement
from .services import overdue_condition, tenant_today
from .training import load_scenario


@click.group("minutes")
def minutes_group() -> None:
    """STL minutes: training sessions, overdue agreements."""


@minutes_group.command("load-training")
@tenant_option(required=True, training=True, help="A training tenant.")
@click.option("--quiet", is_flag=True, help="Print nothing but errors.")
@with_appcontext
def load_training(tenant: Tenant, quiet: bool) -> None:
    """Load the training material (the Sinaloa STL sessions and the practice STL with its
    members) into a training tenant; commits.

    Raises:
        click.BadParameter: the tenant is unknown or not a training tenant.
    """
    with tenant_context(tenant):
        user = db.session.scalar(select(User).where(User.email == f"editor@{tenant.slug}.demo.comun.mx"))
        ctx = DemoContext(tenant=tenant, user=user, log=(lambda m: None) if quiet else click.echo)
        n = load_scenario(tenant, ctx)
        db.session.commit()
    if not quiet:
        click.echo(f"{n} record(s) (sessions and bodies) loaded into {tenant.slug}.")


@minutes_group.command("overdue")
@tenant_option(required=True)
@with_appcontext
def overdue(tenant: Tenant) -> None:
    """List the tenant's overdue published agreements (today in the tenant's time zone): one
    tab-separated line per agreement (key, due date, responsible, text), the count on stderr.

    Raises:
        click.BadParameter: the tenant is unknown.
    """
    with tenant_context(tenant):
        today = tenant_today(tenant)
        rows = db.session.scalars(select(Agreement).where(Agreement.status == "published", overdue_condition(today))
                                  .order_by(Agreement.current_due_date))
        count = 0
        for ag in rows:
            count += 1
            click.echo(f"{ag.key}\t{ag.current_due_date.isoformat()}\t{ag.owner}\t{ag.text[:80]}")
    click.echo(f"{count} overdue agreement(s) on {today.isoformat()} ({tenant.timezone}).", err=True)
