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
from flask.cli import with_appcontext
from sqlalchemy import select

from comun_cms.toolkit import PublishError, db, get_tenants, record_audit, snapshot, tenant_context, tenant_option

from . import services
from .framework_io import FrameworkImportError, export_csv
from .models import CriteriaFramework


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
@tenant_option(multiple=True, default_all=True, plugin="criteria",
               help="Tenant to import into (repeat; default: every tenant enabling the plugin).")
@click.option("--publish", is_flag=True, help="Publish the version after importing it.")
@click.option("--quiet", is_flag=True, help="Print nothing but errors.")
@with_appcontext
def import_framework_cmd(csv_file: str, slug: str, version_label: str, name: str, description: str, source: str,
                         valid_from: dt.datetime | None, tenants: list, publish: bool, quiet: bool) -> None:
    """Import a framework version from CSV_FILE into each tenant (its own copy, same content hash).

    The file is validated once per tenant; any problem (listed with line and column) stops the
    command with status 1 and stores nothing in that tenant. A tenant that already holds the
    version is skipped.
    """
    with open(csv_file, "rb") as fh:
        data = fh.read()
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
                                               tenant_slugs=list(get_tenants()))
                record_audit("criteria.framework.import", "criteria_framework", fw.id, None, snapshot(fw))
                if publish:
                    services.publish_framework(fw)
                    record_audit("criteria.framework.publish", "criteria_framework", fw.id, None, snapshot(fw))
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
@tenant_option(required=True, plugin="criteria", help="Tenant holding the version.")
@click.option("--slug", required=True, help="Framework name (slug).")
@click.option("--version", "version_label", required=True, help="Version label.")
@click.option("-o", "--output", type=click.Path(dir_okay=False, writable=True), default="-",
              help="File to write (default: standard output).")
@with_appcontext
def export_framework_cmd(tenant, slug: str, version_label: str, output: str) -> None:
    """Write a framework version as CSV (importable again; same content hash)."""
    with tenant_context(tenant):
        fw = db.session.scalar(select(CriteriaFramework).where(CriteriaFramework.slug == slug,
                                                               CriteriaFramework.version_label == version_label))
        if fw is None:
            raise click.ClickException(f"framework '{slug}' version '{version_label}' not found in {tenant.slug}")
        text = export_csv(fw)
    if output == "-":
        click.echo(text, nl=False)
    else:
        with open(output, "w", encoding="utf-8", newline="") as fh:
            fh.write(text)


COMMANDS = [criteria_group]
