"""``comun privacy`` commands: ``purge`` (retention) and ``notices`` (create missing notices)."""
from __future__ import annotations

import click
from flask import current_app
from flask.cli import with_appcontext

from comun_cms import privacy
from comun_cms.cli_options import tenant_option
from comun_cms.extensions import db
from comun_cms.tenancy import Tenant, tenant_context

__all__ = ["privacy_group"]


@click.group("privacy")
def privacy_group() -> None:
    """Personal data: retention purge and privacy notices (docs/privacy.md)."""


def _say_counts(slug: str, counts: dict[str, int]) -> None:
    detail = ", ".join(f"{k}: {v}" for k, v in sorted(counts.items())) or "nothing"
    click.echo(f"{slug or '(platform)'}: {detail}")


@privacy_group.command("purge")
@tenant_option(multiple=True, help="Only this tenant (repeatable; default: every tenant and the platform's mail).")
@click.option("--quiet", is_flag=True, help="Print nothing.")
@with_appcontext
def purge_cmd(tenants: list[Tenant], quiet: bool) -> None:
    """Remove the personal data past each tenant's retention periods (also run once a day by
    the mail worker). Records stay, without personal data; each tenant's audit log gets a
    privacy.purge event."""
    results = ({t.slug: privacy.purge(t) for t in tenants} if tenants else privacy.purge_all())
    if not quiet:
        for slug, counts in results.items():
            _say_counts(slug, counts)


@privacy_group.command("notices")
@with_appcontext
def notices_cmd() -> None:
    """Create and publish the privacy notices of every tenant that lacks them (also done by
    `comun init` and `comun demo`)."""
    for tenant in current_app.extensions["comun"].tenants.values():
        with tenant_context(tenant):
            n = privacy.ensure_notices(tenant)
            db.session.commit()
        if n:
            click.echo(f"{tenant.slug}: {n} notice(s) created")
