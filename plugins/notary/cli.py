"""``comun notary ...`` commands: keygen, rotate, checkpoint, audit, verify.

* ``keygen [--tenant SLUG]``: create log and witness keys (idempotent; prints verifier keys only).
* ``rotate --tenant SLUG [--overlap-days N] [--which log|witness|both]``: add new keys; the old ones
  keep signing N days, and their verifier keys stay published.
* ``checkpoint [--tenant SLUG] [--watch SECONDS] [--quiet]``: sign the latest size of each log (batch
  mode) and ask every witness for cosignatures; ``--watch`` repeats every SECONDS (a worker).
* ``move-origin --tenant SLUG NEW_ORIGIN``: continue the log under a new origin, verifiably (a
  final checkpoint under the old origin, an origin-move entry, a new log key; see docs/notary.md).
* ``audit --tenant SLUG [--quiet]``: recompute and check everything from the database; exit 1 on faults.
* ``verify RECEIPT ENTRY --policy POLICY [--origin ORIGIN]``: check a receipt offline (no
  database, no server); exit 1 when it does not verify.

``--tenant`` is the core's shared option (:func:`comun_cms.toolkit.tenant_option`): it accepts only
tenants that enable the notary, and where it may be left out the command acts on every tenant
enabling the notary, in configuration order.
"""
from __future__ import annotations

import sys
import time

import click
from flask import current_app
from flask.cli import with_appcontext

from comun_cms.toolkit import db, tenant_context, tenant_option
from plugins.notary.audit import audit_tenant
from plugins.notary.keys import KeyringError, ensure_keys, rotate_keys
from plugins.notary.services import (NotaryError, PLUGIN, log_origin, move_origin, request_cosignatures,
                                     sign_checkpoint)
from plugins.notary.tlog.policy import parse_policy
from plugins.notary.tlog.proof import verify_receipt


@click.group("notary", help="Transparency log of publications: keys, checkpoints, audit, receipts.")
def notary_group() -> None:
    """The ``comun notary`` command group (registered through ``register_cli_commands``)."""


@notary_group.command("keygen")
@tenant_option(plugin=PLUGIN, default_all=True, help="Only this tenant (default: every tenant enabling the notary).")
@with_appcontext
def keygen_cmd(tenants: list) -> None:
    """Create the log and witness keys of each tenant in the instance folder (mode 0600)."""
    for t in tenants:
        try:
            ring, created = ensure_keys(current_app.instance_path, t.slug, log_origin(t))
        except KeyringError as exc:
            raise click.ClickException(str(exc))
        click.echo(f"{t.slug}: {'created' if created else 'already present'}")
        click.echo(f"  log     {ring.log_vkeys[-1]}")
        click.echo(f"  witness {ring.witness_vkeys[-1]}")


@notary_group.command("rotate")
@tenant_option(required=True, plugin=PLUGIN, help="Tenant whose keys rotate.")
@click.option("--overlap-days", default=30.0, show_default=True, type=click.FloatRange(min=0),
              help="Days the old key keeps signing beside the new one.")
@click.option("--which", type=click.Choice(["log", "witness", "both"]), default="both", show_default=True)
@with_appcontext
def rotate_cmd(tenant, overlap_days: float, which: str) -> None:
    """Add new keys; old keys sign beside them for the overlap, then retire (still published)."""
    kinds = ("log", "witness") if which == "both" else (which,)
    try:
        ring = rotate_keys(current_app.instance_path, tenant.slug, log_origin(tenant), overlap_days, kinds)
    except KeyringError as exc:
        raise click.ClickException(str(exc))
    for kind in kinds:
        click.echo(f"{tenant.slug}: new {kind} key {(ring.log_vkeys if kind == 'log' else ring.witness_vkeys)[-1]}")


@notary_group.command("checkpoint")
@tenant_option(plugin=PLUGIN, default_all=True, help="Only this tenant (default: every tenant enabling the notary).")
@click.option("--watch", type=click.FloatRange(min=1), default=None, metavar="SECONDS",
              help="Keep running, signing every SECONDS.")
@click.option("--quiet", is_flag=True, help="Print nothing but errors.")
@with_appcontext
def checkpoint_cmd(tenants: list, watch: float | None, quiet: bool) -> None:
    """Sign a checkpoint of each log's latest size and gather witness cosignatures."""
    failed = False
    while True:
        for t in tenants:
            try:
                with tenant_context(t):
                    cp = sign_checkpoint(t)
                    size = cp.size
                    db.session.commit()
            except NotaryError as exc:
                db.session.rollback()
                click.echo(f"{t.slug}: {exc}", err=True)
                failed = True
                continue
            results = request_cosignatures(t)
            if not quiet:
                summary = ", ".join(f"{k}: {v}" for k, v in results.items()) or "no witnesses"
                click.echo(f"{t.slug}: checkpoint of {size} entries; {summary}")
        if watch is None:
            break
        time.sleep(watch)
    if failed:
        sys.exit(1)


@notary_group.command("move-origin")
@tenant_option(required=True, plugin=PLUGIN, help="Tenant whose log moves.")
@click.argument("new_origin")
@with_appcontext
def move_origin_cmd(tenant, new_origin: str) -> None:
    """Continue the tenant's log under NEW_ORIGIN (e.g. sesea.example.gob.mx/notary).

    Signs a final checkpoint under the old origin, appends an origin-move entry that holds it,
    makes a log key named NEW_ORIGIN (the old keys stop signing and stay published) and signs the
    first checkpoint under NEW_ORIGIN, consistent with the final one. Nothing changes on error.
    """
    try:
        with tenant_context(tenant):
            r = move_origin(tenant, new_origin)
    except (NotaryError, KeyringError) as exc:
        raise click.ClickException(str(exc))
    results = request_cosignatures(tenant)
    click.echo(f"{tenant.slug}: final checkpoint of {r.old_origin} at size {r.final_size}; "
               f"origin-move entry {r.move_index}; {r.new_origin} from size {r.new_size}")
    click.echo(f"  new log key {r.new_vkey}")
    click.echo("  witnesses: " + (", ".join(f"{k}: {v}" for k, v in results.items()) or "none"))


@notary_group.command("audit")
@tenant_option(required=True, plugin=PLUGIN, help="Tenant whose log is audited.")
@click.option("--quiet", is_flag=True, help="Print only the faults.")
@with_appcontext
def audit_cmd(tenant, quiet: bool) -> None:
    """Recompute every content hash, leaf, node, root and signature of the tenant's log; exit 1 on faults."""
    report = audit_tenant(tenant, None if quiet else (lambda m: click.echo(f"  {m}")))
    for fault in report.faults:
        click.echo(f"FAULT {fault}")
    if report.ok:
        if not quiet:
            redacted = (f"; {report.redacted} redacted version(s): hash kept, content gone"
                        if report.redacted else "")
            click.echo(f"{tenant.slug}: OK ({report.entries} entries, {report.checkpoints} checkpoints){redacted}")
        return
    click.echo(f"{tenant.slug}: {len(report.faults)} fault(s)", err=True)
    sys.exit(1)


@notary_group.command("verify")
@click.argument("receipt", type=click.Path(exists=True, dir_okay=False))
@click.argument("entry", type=click.Path(exists=True, dir_okay=False))
@click.option("--policy", "policy_path", required=True, type=click.Path(exists=True, dir_okay=False),
              help="C2SP tlog-policy file (e.g. downloaded from /<tenant>/notary/policy).")
@click.option("--origin", default=None, help="Require this log origin.")
def verify_cmd(receipt: str, entry: str, policy_path: str, origin: str | None) -> None:
    """Verify a receipt (.tlog-proof) for a log entry offline, against a trust policy."""
    try:
        with open(policy_path, "rb") as fh:
            pol = parse_policy(fh.read())
    except ValueError as exc:
        click.echo(f"NO MATCH: policy {policy_path}: {exc}", err=True)
        sys.exit(2)
    with open(receipt, "rb") as fh:
        receipt_bytes = fh.read()
    with open(entry, "rb") as fh:
        entry_bytes = fh.read()
    try:
        v = verify_receipt(receipt_bytes, entry_bytes, pol, origin=origin)
    except ValueError as exc:
        click.echo(f"NO MATCH: {exc}", err=True)
        sys.exit(1)
    wit = ", ".join(v.witnesses) or "none"
    click.echo(f"OK: entry {v.index} is in {v.checkpoint.origin} (size {v.checkpoint.size}); "
               f"log key {v.log_key.split('+')[0]}; cosigned by: {wit}")
