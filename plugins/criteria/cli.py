"""``comun criteria`` commands: import a framework version into tenants, export one as CSV.

Examples::

    comun criteria import-framework marco-2026.csv --slug sistema-criterios-comun --version 2026.1 \\
        --name "Sistema de criterios CO+MÚN" --publish            # every tenant enabling the plugin
    comun criteria import-framework marco.csv --slug x --version 2 --name X --tenant puebla
    comun criteria export-framework --tenant edomex --slug sistema-criterios-comun --version 1 -o marco.csv
"""
from __future__ import annotations

import datetime as dt
import sys

import click
from flask import current_app
from flask.cli import with_appcontext
from sqlalchemy import select

from comun_cms.audit import record_audit
from comun_cms.extensions import db
from comun_cms.publishing import PublishError
from comun_cms.tenancy import tenant_context

from . import services
from .framework_io import FrameworkImportError, export_csv
from .models import CriteriaFramework


def _tenants(slugs: tuple[str, ...]):
    tenants = current_app.extensions["comun"].tenants
    for slug in slugs:
        if slug not in tenants:
            raise click.BadParameter(f"unknown tenant '{slug}'; valid: {', '.join(tenants)}", param_hint="--tenant")
    chosen = [tenants[s] for s in slugs] if slugs else list(tenants.values())
    return [t for t in chosen if t.enables("criteria")]


@click.group("criteria")
def criteria_group() -> None:
    """Criteria framework: import and export versions."""


@criteria_group.command("import-framework")
@click.argument("csv_file", type=click.Path(exists=True, dir_okay=False))
@click.option("--slug", required=True, help="Framework name (slug), the same for every version.")
@click.option("--version", "version_label", required=True, help="Version label, e.g. 2026.1.")
@click.option("--name", required=True, help="Title of the framework.")
@click.option("--description", default="", help="What this version is or changes.")
@click.option("--source", default="", help="Where the criteria come from (default: the file name).")
@click.option("--valid-from", type=click.DateTime(formats=["%Y-%m-%d"]), default=None, help="YYYY-MM-DD.")
@click.option("--tenant", "tenant_slugs", multiple=True, metavar="SLUG",
              help="Tenant to import into (repeat; default: every tenant enabling the plugin).")
@click.option("--publish", is_flag=True, help="Publish the version after importing it.")
@click.option("--quiet", is_flag=True, help="Print nothing but errors.")
@with_appcontext
def import_framework_cmd(csv_file: str, slug: str, version_label: str, name: str, description: str, source: str,
                         valid_from: dt.datetime | None, tenant_slugs: tuple[str, ...], publish: bool,
                         quiet: bool) -> None:
    """Import a framework version from CSV_FILE into each tenant (its own copy, same content hash).

    The file is validated once per tenant; any problem (listed with line and column) stops the
    command with status 1 and stores nothing in that tenant. A tenant that already holds the
    version is skipped.
    """
    with open(csv_file, "rb") as fh:
        data = fh.read()
    tenants = _tenants(tenant_slugs)
    failed = False
    for tenant in tenants:
        with tenant_context(tenant):
            existing = db.session.scalar(select(CriteriaFramework).where(
                CriteriaFramework.slug == slug, CriteriaFramework.version_label == version_label))
            if existing is not None:
                if not quiet:
                    click.echo(f"{tenant.slug}: version {version_label} already present "
                               f"({existing.status}, {existing.content_sha256[:12]}…); skipped")
                continue
            try:
                fw = services.import_framework(data, slug=slug, version_label=version_label, name=name,
                                               description=description, source=source or csv_file,
                                               valid_from=valid_from.date() if valid_from else None,
                                               tenant_slugs=list(current_app.extensions["comun"].tenants))
                record_audit("criteria.framework.import", "criteria_framework", fw.id, None, services.snapshot(fw))
                if publish:
                    services.publish_framework(fw)
                    record_audit("criteria.framework.publish", "criteria_framework", fw.id, None, services.snapshot(fw))
                db.session.commit()
            except (FrameworkImportError, services.CriteriaError, PublishError) as exc:
                db.session.rollback()
                click.echo(f"{tenant.slug}: not imported:\n{exc}", err=True)
                failed = True
                continue
            if not quiet:
                click.echo(f"{tenant.slug}: imported {len(fw.criteria)} criteria as version {version_label} "
                           f"({'published' if publish else 'draft'}), content SHA-256 {fw.content_sha256}")
    if failed:
        sys.exit(1)


@criteria_group.command("export-framework")
@click.option("--tenant", "tenant_slug", required=True, metavar="SLUG", help="Tenant holding the version.")
@click.option("--slug", required=True, help="Framework name (slug).")
@click.option("--version", "version_label", required=True, help="Version label.")
@click.option("-o", "--output", type=click.Path(dir_okay=False, writable=True), default="-",
              help="File to write (default: standard output).")
@with_appcontext
def export_framework_cmd(tenant_slug: str, slug: str, version_label: str, output: str) -> None:
    """Write a framework version as CSV (importable again; same content hash)."""
    tenant = _tenants((tenant_slug,))
    if not tenant:
        raise click.BadParameter(f"tenant '{tenant_slug}' does not enable the criteria plugin", param_hint="--tenant")
    with tenant_context(tenant[0]):
        fw = db.session.scalar(select(CriteriaFramework).where(CriteriaFramework.slug == slug,
                                                               CriteriaFramework.version_label == version_label))
        if fw is None:
            raise click.ClickException(f"framework '{slug}' version '{version_label}' not found in {tenant_slug}")
        text = export_csv(fw)
    if output == "-":
        click.echo(text, nl=False)
    else:
        with open(output, "w", encoding="utf-8", newline="") as fh:
            fh.write(text)


COMMANDS = [criteria_group]
