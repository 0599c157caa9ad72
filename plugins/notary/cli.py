"""``comun notary ...`` commands: keygen, rotate, checkpoint, audit, verify.

* ``keygen [--tenant SLUG]``: create log and witness keys (idempotent; prints verifier keys only).
* ``rotate --tenant SLUG [--overlap-days N] [--which log|witness|both]``: add new keys; the old ones
  keep signing N days, and their verifier keys stay published.
* ``checkpoint [--tenant SLUG] [--watch SECONDS] [--quiet]``: sign the latest size of each log (batch
  mode) and ask every witness for cosignatures; ``--watch`` repeats every SECONDS (a worker).
* ``move-origin --tenant SLUG NEW_ORIGIN``: continue the log under a new origin, verifiably (a
  final checkpoint under the old origin, an origin-move entry, a new log key; see docs/notary.md).
* ``worker [--once] [--interval SECONDS] [--quiet]``: the witness worker (``comun run`` starts it):
  asks each witness that has not cosigned the latest checkpoint, with back-off after failures.
* ``witnesses [--tenant SLUG]``: the witnesses of each log, the quorum, who cosigned the latest
  checkpoint, since when one is silent, configuration problems.
* ``demo-witness [--dir DIR]``: set up the example standalone witness of ``make run``
  (``<instance>/witness-demo``, every real state's log); ``comun run`` then serves it.
* ``timestamp [--tenant SLUG] [--watch SECONDS] [--quiet]``: get the RFC 3161 time-stamps still
  missing (a TSA outage is retried here); ``--watch`` repeats every SECONDS (a worker).
* ``monitor [--config FILE] [--local] [--state DIR] [--email ADDR]... [--watch SECONDS] [--quiet]``:
  follow logs, keep evidence of split views, raise alarms (mail, admin banner, exit 1); see
  :mod:`plugins.notary.monitor`. ``--resolve ID`` closes an alarm.
* ``verify-evidence FILE [--key VKEY]...``: check a monitor's evidence file offline; exit 1 when it
  proves nothing.
* ``audit --tenant SLUG [--quiet]``: recompute and check everything from the database; exit 1 on faults.
* ``verify RECEIPT ENTRY --policy POLICY [--origin ORIGIN] [--tsa-chain PEM [--require-timestamp]]``:
  check a receipt offline (no database, no server), and its RFC 3161 time-stamp with the TSA's
  certificate chain; exit 1 when it does not verify.

``--tenant`` is the core's shared option (:func:`comun_cms.toolkit.tenant_option`): it accepts only
tenants that enable the notary, and where it may be left out the command acts on every tenant
enabling the notary, in configuration order.
"""
from __future__ import annotations

import sys
import time
import tomllib
from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext

from sqlalchemy import select

from comun_cms.toolkit import all_tenants, db, send_mail, tenant_context, tenant_option, utcnow
from plugins.notary.audit import audit_tenant
from plugins.notary.keys import KeyringError, ensure_keys, rotate_keys
from plugins.notary import witnessing
from plugins.notary.models import MonitorAlarm, WitnessState
from plugins.notary.monitor import EvidenceError, LogSpec, check_log, http_fetch, verify_evidence
from plugins.notary.services import (NotaryError, PLUGIN, _setting, keyring, log_origin, move_origin, notary_tenants, peer_tenants,
                                     request_cosignatures, sign_checkpoint)
from plugins.notary.tlog import cosignature as tcs
from plugins.notary.tlog import note
from plugins.notary.tlog.policy import parse_policy
from plugins.notary.timestamps import TimestampError, load_chain, note_messages, timestamp_pending, verify_token
from plugins.notary.tlog.proof import parse_proof, verify_receipt


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
            stamped = timestamp_pending(t)
            if stamped["stamped"] or stamped["error"]:
                results["time-stamp"] = stamped["error"] or f"ok ({len(stamped['stamped'])})"
            if not quiet:
                summary = ", ".join(f"{k}: {v}" for k, v in results.items()) or "no witnesses"
                click.echo(f"{t.slug}: checkpoint of {size} entries; {summary}")
        if watch is None:
            break
        time.sleep(watch)
    if failed:
        sys.exit(1)


@notary_group.command("worker")
@click.option("--once", is_flag=True, help="One pass, then exit.")
@click.option("--interval", default=2.0, show_default=True, type=click.FloatRange(min=0.1),
              help="Seconds between two passes.")
@click.option("--quiet", is_flag=True, help="Print nothing but errors.")
@with_appcontext
def worker_cmd(once: bool, interval: float, quiet: bool) -> None:
    """Ask every witness that has not cosigned its log's latest checkpoint (back-off after failures)."""
    say = (lambda m: None) if quiet else (lambda m: click.echo(m, nl=True))
    if once:
        for slug, results in witnessing.drain().items():
            for name, result in results.items():
                say(f"{slug}: {name}: {result}")
        return
    witnessing.run_worker(interval=interval, echo=say)


@notary_group.command("witnesses")
@tenant_option(plugin=PLUGIN, default_all=True, help="Only this tenant (default: every tenant enabling the notary).")
@with_appcontext
def witnesses_cmd(tenants: list) -> None:
    """Show each log's witnesses, its k-of-n quorum and who cosigned the latest checkpoint."""
    for t in tenants:
        with tenant_context(t):
            cp, cfg, reports = witnessing.witness_reports(t)
        done = sum(1 for r in reports if r.cosigned_latest)
        size = cp.size if cp is not None else 0
        click.echo(f"{t.slug}: checkpoint {size}; cosigned by {done} of {len(reports)}; quorum {cfg.quorum}")
        for r in reports:
            state = "cosigned" if r.cosigned_latest else (
                f"silent since {r.silent_since:%Y-%m-%d %H:%M:%S}Z" if r.silent_since else "not cosigned")
            err = f"; last error: {r.status.last_error}" if r.status is not None and r.status.last_error else ""
            click.echo(f"  {r.spec.name} ({r.spec.kind}{' ' + r.spec.url if r.spec.url else ''}): {state}{err}")
        for problem in cfg.problems:
            click.echo(f"  problem: {problem}")


@notary_group.command("demo-witness")
@click.option("--dir", "directory", type=click.Path(file_okay=False), default=None,
              help="Witness folder (default: <instance>/witness-demo).")
@click.option("--quiet", is_flag=True, help="Print nothing but errors.")
@with_appcontext
def demo_witness_cmd(directory: str | None, quiet: bool) -> None:
    """Set up the example standalone witness of `make run` for every real state's log (idempotent)."""
    from plugins.notary.witness_server import WitnessSetupError
    try:
        vkey, origins = witnessing.demo_witness(current_app.instance_path, directory)
    except (WitnessSetupError, KeyringError) as exc:
        raise click.ClickException(str(exc))
    db.session.commit()  # the log origins stored on first use
    if not quiet:
        click.echo(f"Example witness {vkey}")
        for origin in origins:
            click.echo(f"  witnesses {origin}")
@notary_group.command("timestamp")
@tenant_option(plugin=PLUGIN, default_all=True, help="Only this tenant (default: every tenant enabling the notary).")
@click.option("--watch", type=click.FloatRange(min=1), default=None, metavar="SECONDS",
              help="Keep running, asking again every SECONDS.")
@click.option("--quiet", is_flag=True, help="Print nothing but errors.")
@with_appcontext
def timestamp_cmd(tenants: list, watch: float | None, quiet: bool) -> None:
    """Get the RFC 3161 time-stamps of signed checkpoints that have none yet (tenants with a TSA).

    Exit 1 when a TSA could not be reached or its reply did not verify (the checkpoints stay
    pending and the next run asks again)."""
    failed = False
    while True:
        for t in tenants:
            result = timestamp_pending(t)
            if result["error"]:
                failed = True
                click.echo(f"{t.slug}: {result['error']}", err=True)
            if not quiet and result["stamped"]:
                click.echo(f"{t.slug}: time-stamped checkpoint(s) of {', '.join(map(str, result['stamped']))} entries")
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
@click.option("--tsa-chain", "tsa_chain", default=None, type=click.Path(exists=True, dir_okay=False),
              help="PEM certificate chain of the Time-Stamp Authority: check the receipt's RFC 3161 time-stamp.")
@click.option("--require-timestamp", is_flag=True, help="Fail when the receipt has no time-stamp that verifies.")
def verify_cmd(receipt: str, entry: str, policy_path: str, origin: str | None, tsa_chain: str | None,
               require_timestamp: bool) -> None:
    """Verify a receipt (.tlog-proof) for a log entry offline, against a trust policy, and its
    RFC 3161 time-stamp (the receipt's ``extra`` line) with ``--tsa-chain``."""
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
    stamp = "none"
    if v.extra is not None and tsa_chain:
        try:
            with open(tsa_chain, "rb") as fh:
                chain = load_chain(fh.read())
            info = verify_token(v.extra, note_messages(parse_proof(receipt_bytes).checkpoint), chain)
        except TimestampError as exc:
            click.echo(f"NO MATCH: time-stamp: {exc}", err=True)
            sys.exit(1)
        stamp = f"{info.tsa} at {info.gen_time.isoformat()}"
    elif v.extra is not None:
        stamp = "present, not checked (give --tsa-chain)"
    if require_timestamp and (v.extra is None or not tsa_chain):
        click.echo("NO MATCH: the receipt has no time-stamp checked with --tsa-chain", err=True)
        sys.exit(1)
    wit = ", ".join(v.witnesses) or "none"
    click.echo(f"OK: entry {v.index} is in {v.checkpoint.origin} (size {v.checkpoint.size}); "
               f"log key {v.log_key.split('+')[0]}; cosigned by: {wit}; time-stamped by: {stamp}")


def _local_specs(base_url: str) -> list:
    """:class:`~plugins.notary.monitor.LogSpec` of every notary log of this deployment: URL
    ``<base_url>/<slug>/notary``, its origin and log keys, the witness keys of its peers and
    extra witnesses, and as gossip the checkpoints this deployment's witnesses cosigned for it
    (their stored state, an explicit cross-tenant read)."""
    specs = []
    for t in notary_tenants():
        ring = keyring(t, create=False)
        if ring is None:
            continue
        origin = log_origin(t)
        witnesses = [v for other in peer_tenants(t) for v in
                     ((keyring(other, create=False).witness_vkeys) if keyring(other, create=False) else [])]
        for item in _setting(t, "witnesses", []) or []:
            parts = str(item).split()
            try:
                witnesses.append(tcs.new_cosignature_verifier(parts[0]) and parts[0])
            except (IndexError, ValueError):
                continue  # reported where cosignatures are requested
        gossip = tuple((f"witness of {slug}", text) for slug, text in db.session.execute(all_tenants(
            select(WitnessState.tenant_id, WitnessState.checkpoint).where(WitnessState.origin == origin))) if text)
        specs.append(LogSpec(f"{base_url.rstrip('/')}/{t.slug}/notary", origin, tuple(ring.log_vkeys),
                             tuple(witnesses), gossip))
    return specs


def _config_specs(path: str) -> tuple[list, dict]:
    """Read a monitor configuration file (TOML, docs/notary.md "Monitor"). Returns ``(specs,
    options)``; raises ``click.ClickException`` naming the bad item."""
    try:
        with open(path, "rb") as fh:
            doc = tomllib.load(fh)
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise click.ClickException(f"{path}: {exc}")
    specs = []
    for i, item in enumerate(doc.get("log") or []):
        try:
            spec = LogSpec(str(item["url"]), str(item["origin"]), tuple(item["keys"]), tuple(item.get("witnesses") or ()))
            for k in spec.keys:
                note.new_verifier(k)
            for k in spec.witnesses:
                tcs.new_cosignature_verifier(k)
        except (KeyError, TypeError, ValueError) as exc:
            raise click.ClickException(f"{path}: [[log]] number {i + 1}: {exc} (url, origin and keys are required)")
        specs.append(spec)
    return specs, doc


def _raise_alarm(kind: str, origin: str, message: str, evidence: str, emails: list[str]) -> None:
    """Store an open :class:`MonitorAlarm` (admin banner) and queue one e-mail per address, in one
    transaction."""
    db.session.add(MonitorAlarm(origin=origin[:255], kind=kind, message=message, evidence=evidence))
    for to in emails:
        send_mail(to, "notary_monitor_alarm", {"origin": origin, "kind": kind, "message": message,
                                               "evidence": evidence}, kind="notary_monitor_alarm")
    db.session.commit()


@notary_group.command("monitor")
@click.option("--config", "config_path", type=click.Path(exists=True, dir_okay=False), default=None,
              help="TOML file listing the logs to follow ([[log]] url, origin, keys, witnesses).")
@click.option("--local", is_flag=True, help="Also follow this deployment's logs (with its witnesses' state as gossip).")
@click.option("--local-url", default=None, help="Base URL of this deployment (default http://<SITE_HOST>).")
@click.option("--state", "state_dir", type=click.Path(file_okay=False), default=None,
              help="Folder of the monitor's state and evidence (default <instance>/notary/monitor).")
@click.option("--email", "emails", multiple=True, help="Send alarms to this address (repeatable).")
@click.option("--watch", type=click.FloatRange(min=1), default=None, metavar="SECONDS", help="Look again every SECONDS.")
@click.option("--resolve", "resolve_id", type=int, default=None, help="Close the alarm with this number and exit.")
@click.option("--quiet", is_flag=True, help="Print only alarms and errors.")
@with_appcontext
def monitor_cmd(config_path, local, local_url, state_dir, emails, watch, resolve_id, quiet) -> None:
    """Follow transparency logs: check each new checkpoint's signature and its consistency with
    the last one seen and with what the witnesses cosigned; keep re-verifiable evidence of any
    split view and raise an alarm (e-mail, admin banner, exit status 1)."""
    if resolve_id is not None:
        alarm = db.session.get(MonitorAlarm, resolve_id)
        if alarm is None:
            raise click.ClickException(f"there is no monitor alarm {resolve_id}")
        alarm.resolved_at = utcnow()
        db.session.commit()
        click.echo(f"alarm {resolve_id} resolved")
        return
    specs, options = _config_specs(config_path) if config_path else ([], {})
    emails = list(emails) + [str(e) for e in options.get("alert_emails") or []]
    folder = Path(state_dir or options.get("state_dir") or Path(current_app.instance_path) / "notary" / "monitor")
    if not specs and not local:
        raise click.ClickException("nothing to follow: give --config FILE and/or --local")
    fetch = http_fetch(float(options.get("timeout", 10.0)))
    alarmed = False
    while True:
        todo = specs + (_local_specs(local_url or f"http://{current_app.config['SITE_HOST']}") if local else [])
        for spec in todo:
            res = check_log(spec, folder, fetch)
            if res.error:
                click.echo(f"{spec.origin}: could not check: {res.error}", err=True)
            for kind, message, evidence in res.alarms:
                alarmed = True
                click.echo(f"ALARM {kind} {spec.origin}: {message}" + (f" (evidence {evidence})" if evidence else ""),
                           err=True)
                _raise_alarm(kind, spec.origin, message, evidence, emails)
            if not quiet and not res.alarms and res.size is not None:
                cos = ", ".join(res.cosigners) or "none"
                click.echo(f"{spec.origin}: OK, {res.size} entries{' (new)' if res.advanced else ''}; "
                           f"cosigned by: {cos}")
        if watch is None:
            break
        time.sleep(watch)
    if alarmed:
        sys.exit(1)


@notary_group.command("verify-evidence")
@click.argument("evidence", type=click.Path(exists=True, dir_okay=False))
@click.option("--key", "keys", multiple=True, help="Log verifier key you trust (default: the file's log_keys).")
def verify_evidence_cmd(evidence: str, keys: tuple[str, ...]) -> None:
    """Check a monitor's split-view evidence file offline (no database, no network): both
    checkpoints are signed by the log and cannot both be true. Exit 1 when it proves nothing."""
    with open(evidence, "rb") as fh:
        data = fh.read()
    try:
        said = verify_evidence(data, list(keys) or None)
    except EvidenceError as exc:
        click.echo(f"NOT PROVEN: {exc}", err=True)
        sys.exit(1)
    click.echo(f"PROVEN: {said}")
