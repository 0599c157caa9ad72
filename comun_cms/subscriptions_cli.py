"""``comun subscriptions`` commands: ``digest`` (queue the due digests now) and ``status``."""
from __future__ import annotations

import click
from flask.cli import with_appcontext
from sqlalchemy import func, select

from comun_cms import subscriptions
from comun_cms.extensions import db
from comun_cms.models import Subscription
from comun_cms.tenancy import all_tenants

__all__ = ["subscriptions_group"]


@click.group("subscriptions")
def subscriptions_group() -> None:
    """E-mail subscriptions (follow a record, a state or a search)."""


@subscriptions_group.command("digest")
@with_appcontext
def digest_cmd() -> None:
    """Queue the digest e-mail of every due subscription (the mail worker also does it)."""
    mails, items = subscriptions.run_digest()
    click.echo(f"{mails} digest(s) queued with {items} publication(s).")


@subscriptions_group.command("status")
@with_appcontext
def status_cmd() -> None:
    """Count subscriptions by status (pending, active, stopped) in every tenant."""
    rows = db.session.execute(all_tenants(select(Subscription.status, func.count()).group_by(Subscription.status)))
    counts = {"pending": 0, "active": 0, "stopped": 0}
    counts.update({status: n for status, n in rows})
    for status, n in counts.items():
        click.echo(f"{status}: {n}")
