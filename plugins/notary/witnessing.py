"""Who witnesses a tenant's log, the k-of-n policy verifiers use, and the witness worker.

Each log is cosigned by a configured set of witnesses (issue 17 item 7, issue 18 item 2):

* **states**: up to ``peer_witnesses`` (default 3) other states, chosen in a ring over the
  configured order (state *i* is witnessed by states *i+1 ... i+k*), so the work of witnessing
  grows with the number of states times k, never with its square. They run in process
  (:meth:`~plugins.notary.tlog.witness.Witness.add_checkpoint`, the code of the HTTP endpoint).
* **external witnesses** (setting ``witnesses``): a URL and a verifier key each, e.g. a
  ``comun-witness`` run by a civil-society organization (docs/witness.md), asked over HTTP
  (C2SP tlog-witness).
* **quorum**: ``witness_quorum`` = k: a checkpoint is witnessed when at least k of the n witnesses
  cosigned it. :func:`policy_text` writes it as a C2SP tlog-policy (``group witnesses k ...``,
  ``quorum witnesses``); a state with several witness keys (rotation) counts once.

Cosignatures are requested **after** the publishing transaction commits and never block it:

* right after the commit, the in-process states are asked (:func:`request_cosignatures` with
  ``kinds=("state",)``, from the session listener in :mod:`plugins.notary.services`);
* the **witness worker** (``comun notary worker``, started by ``comun run`` through the
  ``register_workers`` hook) asks every witness that has not cosigned the latest checkpoint yet
  (:func:`drain`), with exponential back-off per witness after a failure
  (``NOTARY_WITNESS_RETRY_BASE`` seconds doubled per failure, at most ``NOTARY_WITNESS_RETRY_MAX``),
  so a witness that is down delays its cosignature and nothing else.

The queue is the data itself: a witness is due while the latest checkpoint lacks its
cosignature (a cosignature of checkpoint N vouches for every earlier one, C2SP tlog-witness, so
only the latest is ever asked for); :class:`~plugins.notary.models.WitnessStatus` keeps each
witness's failures, last error and next attempt. One row per witness, not per checkpoint and
witness, so the queue does not grow while a witness is down.
"""
from __future__ import annotations

import datetime as dt
import logging
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable

from flask import current_app
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from comun_cms.toolkit import db, get_tenants, tenant_context, utcnow
from plugins.notary import services
from plugins.notary.models import Checkpoint, Cosignature, WitnessStatus
from plugins.notary.tlog import cosignature as tcs
from plugins.notary.tlog import witness as twit

log = logging.getLogger(__name__)

#: Default number of other states that cosign a state's log.
DEFAULT_PEERS = 3
#: Port of the example standalone witness ``make run`` starts (``<instance>/witness-demo``).
DEMO_WITNESS_PORT = 7380
#: Folder (under the instance folder) of the example standalone witness.
DEMO_WITNESS_DIR = "witness-demo"
#: Its signed-note key name.
DEMO_WITNESS_NAME = "observatorio-demo.comun.example/witness"
#: Keys an external witness table of the ``witnesses`` setting may have.
EXTERNAL_KEYS = frozenset({"name", "url", "vkey", "vkey_file"})


@dataclass(frozen=True)
class WitnessSpec:
    """One witness of a tenant's log.

    Attributes:
        name: its name in the tenant's tlog-policy (a state's slug, or the external witness's
            ``name``, default its key name); also :attr:`WitnessStatus.witness`.
        kind: ``"state"`` (in process) or ``"external"`` (HTTP).
        vkeys: its cosignature verifier keys (C2SP tlog-cosignature, type 0x04); a state may
            have several (rotation).
        url: the ``add-checkpoint`` URL of an external witness (``None`` for a state).
        tenant: the witnessing state (a Tenant) for kind ``"state"``.
    """

    name: str
    kind: str
    vkeys: tuple[str, ...]
    url: str | None = None
    tenant: Any = field(default=None, compare=False)

    @property
    def verifiers(self) -> list[tcs.CosignatureVerifier]:
        """Cosignature verifiers of :attr:`vkeys`."""
        return [tcs.new_cosignature_verifier(v) for v in self.vkeys]

    @property
    def key_names(self) -> set[str]:
        """The key names its cosignature lines carry (``notary_cosignatures.witness``)."""
        return {v.name for v in self.verifiers}


@dataclass(frozen=True)
class WitnessConfig:
    """The witnesses of a tenant's log and its quorum.

    Attributes:
        witnesses: every usable witness, states first (ring order), then external ones.
        quorum: k actually used (``witness_quorum`` lowered to n when larger; 0 = none).
        configured_quorum: ``witness_quorum`` as configured.
        problems: one message per unusable ``witnesses`` item or inconsistent setting (the
            item is left out; the admin page and ``comun notary witnesses`` show them).
    """

    witnesses: tuple[WitnessSpec, ...]
    quorum: int
    configured_quorum: int
    problems: tuple[str, ...] = ()


# --------------------------------------------------------------------------- configuration
def _setting(tenant, key: str, default: Any) -> Any:
    try:
        return tenant.setting(services.PLUGIN, key)
    except KeyError:
        return default


def ring_peers(tenant, group: list) -> list:
    """Up to ``peer_witnesses`` (setting, default :data:`DEFAULT_PEERS`) tenants of ``group``
    that follow ``tenant`` in ``group``'s order, wrapping around (a ring: each tenant witnesses
    as many logs as witness its own). ``tenant`` need not be in ``group`` (then from the start)."""
    count = int(_setting(tenant, "peer_witnesses", DEFAULT_PEERS))
    others = [t for t in group if t.slug != tenant.slug]
    if count <= 0 or not others:
        return []
    slugs = [t.slug for t in group]
    start = slugs.index(tenant.slug) + 1 if tenant.slug in slugs else 0
    ordered = group[start:] + group[:start]
    return [t for t in ordered if t.slug != tenant.slug][:count]


def _external(tenant, problems: list[str]) -> list[WitnessSpec]:
    """The usable external witnesses of the ``witnesses`` setting (items are
    ``"<vkey> <url>"`` strings or tables ``{name, url, vkey | vkey_file}``, ``vkey_file``
    relative to the instance folder); a problem message per unusable item."""
    out: list[WitnessSpec] = []
    for i, item in enumerate(_setting(tenant, "witnesses", []) or []):
        where = f"plugin_settings.notary.witnesses[{i}]"
        name = None
        if isinstance(item, str):
            parts = item.split()
            if len(parts) != 2:
                problems.append(f"{where}: must be \"<vkey> <url>\" or a table with url and vkey")
                continue
            vkey, url = parts
        elif isinstance(item, dict):
            unknown = sorted(set(item) - EXTERNAL_KEYS)
            if unknown:
                problems.append(f"{where}: unknown key(s) {', '.join(unknown)} (allowed: name, url, vkey, vkey_file)")
                continue
            url, vkey, name = item.get("url"), item.get("vkey"), item.get("name")
            if not isinstance(url, str) or not url.startswith(("http://", "https://")):
                problems.append(f"{where}.url: an http:// or https:// add-checkpoint URL is required")
                continue
            if vkey is None and isinstance(item.get("vkey_file"), str):
                path = Path(current_app.instance_path) / item["vkey_file"]
                try:
                    vkey = path.read_text(encoding="ascii").strip()
                except OSError:
                    problems.append(f"{where}.vkey_file: {path} cannot be read (for the example witness: "
                                    "run `comun notary demo-witness`)")
                    continue
            if not isinstance(vkey, str):
                problems.append(f"{where}: vkey or vkey_file is required")
                continue
        else:
            problems.append(f"{where}: must be a string or a table")
            continue
        try:
            verifier = tcs.new_cosignature_verifier(vkey)
        except ValueError as exc:
            problems.append(f"{where}: bad witness verifier key: {exc}")
            continue
        if name is not None and (not isinstance(name, str) or not name or any(c.isspace() for c in name)
                                 or name == "none"):
            problems.append(f"{where}.name: one word without spaces (not 'none') is required")
            continue
        out.append(WitnessSpec(name or verifier.name, "external", (vkey,), url))
    return out


def witness_config(tenant, create_keys: bool = False, session: Session | None = None) -> WitnessConfig:
    """The witnesses of ``tenant``'s log (:func:`~plugins.notary.services.peer_tenants`, then the
    external ones) and the quorum. Never raises for a bad ``witnesses`` item: it is left out and
    named in :attr:`WitnessConfig.problems`. Works whatever the current tenant is.

    Args:
        create_keys: make a peer state's keys when it has none yet (when asking it to cosign);
            otherwise such a state is left out (and named in the problems).
        session: the session keys are made through (default ``db.session``).
    """
    problems: list[str] = []
    specs: list[WitnessSpec] = []
    for other in services.peer_tenants(tenant):
        with tenant_context(other):
            ring = services.keyring(other, create=create_keys, session=session)
        if ring is None or not ring.witness_vkeys:
            problems.append(f"{other.slug}: the state has no witness key yet (run `comun init`)")
            continue
        specs.append(WitnessSpec(other.slug, "state", tuple(ring.witness_vkeys), None, other))
    taken = {s.name for s in specs}
    seen_keys = {v for s in specs for v in s.vkeys}
    for spec in _external(tenant, problems):
        if spec.vkeys[0] in seen_keys:
            problems.append(f"{spec.name}: the same witness key is listed twice; left out")
            continue
        name, n = spec.name, 2
        while name in taken:
            name, n = f"{spec.name}-{n}", n + 1
        taken.add(name)
        seen_keys.add(spec.vkeys[0])
        specs.append(WitnessSpec(name, spec.kind, spec.vkeys, spec.url))
    configured = int(_setting(tenant, "witness_quorum", 1))
    quorum = min(configured, len(specs))
    if specs and configured > len(specs):  # with no witness at all, "quorum none" is no surprise
        problems.append(f"plugin_settings.notary.witness_quorum: {configured} is more than the {len(specs)} "
                        f"witness(es); {quorum} is used")
    return WitnessConfig(tuple(specs), quorum, configured, tuple(problems))


def policy_text(tenant) -> str:
    """The C2SP tlog-policy for verifying ``tenant``'s checkpoints and receipts.

    Lines: ``log <vkey>`` for every log key the tenant used; ``witness <name> <vkey> [<url>]``
    for every witness key (a state's extra keys are named ``<slug>-2``...; the URL only for
    external witnesses); a state with several keys becomes ``group <slug>-keys any ...`` so it
    counts once; then ``group witnesses <k> <members>`` and ``quorum witnesses`` (``quorum
    none`` when k is 0 or there is no witness). Spec: C2SP tlog-policy.
    """
    cfg = witness_config(tenant)
    lines = [f"# {services.log_origin(tenant)}"]
    ring = services.keyring(tenant, create=False)
    lines += [f"log {v}" for v in (ring.log_vkeys if ring else [])]
    members, groups = [], []
    for spec in cfg.witnesses:
        names = []
        for i, vkey in enumerate(spec.vkeys):
            name = spec.name if i == 0 else f"{spec.name}-{i + 1}"
            lines.append(f"witness {name} {vkey}" + (f" {spec.url}" if spec.url else ""))
            names.append(name)
        if len(names) > 1:
            groups.append(f"group {spec.name}-keys any {' '.join(names)}")
            members.append(f"{spec.name}-keys")
        else:
            members.append(names[0])
    lines += groups
    if members and cfg.quorum > 0:
        lines.append(f"# {cfg.quorum} of {len(members)} witnesses")
        lines.append(f"group witnesses {cfg.quorum} {' '.join(members)}")
        lines.append("quorum witnesses")
    else:
        lines.append("quorum none")
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------- asking
def _last_cosigned_size(spec: WitnessSpec, session: Session) -> int:
    """The size of the newest checkpoint of the current tenant that ``spec`` cosigned (0 if none)."""
    return session.scalar(select(func.max(Checkpoint.size)).join(Cosignature, Cosignature.checkpoint_id == Checkpoint.id)
                          .where(Cosignature.witness.in_(spec.key_names))) or 0


def _has_cosigned(spec: WitnessSpec, cp: Checkpoint, session: Session) -> bool:
    return session.scalar(select(Cosignature.id).where(Cosignature.checkpoint_id == cp.id,
                                                       Cosignature.witness.in_(spec.key_names)).limit(1)) is not None


def _ask_state(log_tenant, spec: WitnessSpec, cp: Checkpoint, session: Session) -> str:
    """Ask the in-process witness of state ``spec.tenant``; commits. Returns "ok" or the refusal."""
    other = spec.tenant
    note_bytes = cp.note.encode("utf-8")
    with tenant_context(other):
        state = services._witness_store(session)[0](services.log_origin(log_tenant, session))
        state_size = state.size if state is not None else 0

    def send(body: bytes) -> tuple[int, bytes]:
        with tenant_context(other):
            resp = services.tenant_witness(other, session).add_checkpoint(body)
            if resp.ok:
                session.flush()  # committed below with the cosignature rows
            else:
                session.rollback()
            return resp.status, resp.body
    with tenant_context(log_tenant):
        status, body = services._ask(send, state_size, cp, note_bytes, services.node_reader(session))
        if status == 200:
            services._store_cosignatures(cp, body, spec.verifiers, session)
            session.commit()
            return "ok"
    return f"{status}: {body.decode('utf-8', 'replace').strip()[:200]}"


def _ask_external(log_tenant, spec: WitnessSpec, cp: Checkpoint, session: Session) -> str:
    """Ask an external witness over HTTP from the size it last cosigned; commits the cosignature.
    Returns "ok" or the refusal. Raises :class:`~plugins.notary.tlog.witness.WitnessUnavailableError`
    when it does not answer."""
    timeout = float(_setting(log_tenant, "witness_timeout", 5.0))
    with tenant_context(log_tenant):
        last = _last_cosigned_size(spec, session)
        status, body = services._ask(twit.http_sender(spec.url, timeout), last, cp, cp.note.encode("utf-8"),
                                     services.node_reader(session))
        if status == 200 and services._store_cosignatures(cp, body, spec.verifiers, session):
            session.commit()
            return "ok"
        session.rollback()
    text = body.decode("utf-8", "replace").strip()[:200]
    return f"{status}: {text}" if status != 200 else "200: " + ("no valid cosignature for its key" if not text else text)


def _backoff(attempts: int) -> dt.timedelta:
    """``NOTARY_WITNESS_RETRY_BASE * 2**(attempts-1)`` seconds, at most ``NOTARY_WITNESS_RETRY_MAX``."""
    base = float(current_app.config.get("NOTARY_WITNESS_RETRY_BASE", 10.0))
    cap = float(current_app.config.get("NOTARY_WITNESS_RETRY_MAX", 900.0))
    return dt.timedelta(seconds=min(cap, base * 2 ** max(0, attempts - 1)))


def _record(log_tenant, spec: WitnessSpec, result: str, session: Session) -> None:
    """Store the outcome of one request in :class:`WitnessStatus` and commit: a failure counts
    and schedules the next attempt; a success clears them (nothing is written when there was
    nothing to clear, so a healthy witness costs no write per publication)."""
    now = utcnow()
    with tenant_context(log_tenant):
        row = session.scalar(select(WitnessStatus).where(WitnessStatus.witness == spec.name))
        if result == "ok" and row is not None and row.attempts == 0 and row.last_error is None:
            session.rollback()  # nothing changed: no write per publication (cosignature rows say when)
            return
        if row is None:
            row = WitnessStatus(tenant_id=log_tenant.slug, witness=spec.name, attempts=0)
            session.add(row)
        row.last_attempt_at = now
        if result == "ok":
            row.attempts, row.last_error, row.next_attempt_at, row.last_success_at = 0, None, None, now
        else:
            row.attempts = (row.attempts or 0) + 1
            row.last_error = result[:2000]
            row.next_attempt_at = now + _backoff(row.attempts)
        session.commit()


def ask_witness(log_tenant, spec: WitnessSpec, session: Session | None = None) -> str:
    """Ask ``spec`` to cosign ``log_tenant``'s latest checkpoint, store the cosignature and the
    outcome (:class:`WitnessStatus`, back-off after a failure). Never raises for a witness's
    failure.

    Returns:
        ``"ok"``, ``"cosigned"`` (it already had), ``"no checkpoint"``, or ``"<status>: <message>"``
        / ``"error: <what>"``.
    """
    session = session or db.session
    with tenant_context(log_tenant):
        cp = services.latest_checkpoint(session)
        if cp is None:
            return "no checkpoint"
        if _has_cosigned(spec, cp, session):
            return "cosigned"
    try:
        if spec.kind == "state":
            result = _ask_state(log_tenant, spec, cp, session)
        else:
            result = _ask_external(log_tenant, spec, cp, session)
    except Exception as exc:  # a witness's failure never breaks the caller
        session.rollback()
        log.warning("notary: witness %s failed for %s: %s", spec.name, log_tenant.slug, exc)
        result = f"error: {exc}"
    try:
        _record(log_tenant, spec, result, session)
    except Exception as exc:  # the status is bookkeeping: never let it hide the result
        session.rollback()
        log.warning("notary: could not record the witness status of %s: %s", spec.name, exc)
    return result


def request_cosignatures(log_tenant, session: Session | None = None,
                         kinds: Iterable[str] = ("state", "external")) -> dict[str, str]:
    """Ask every witness of ``log_tenant`` of the given ``kinds`` (now, whatever the back-off)
    to cosign its latest checkpoint. Returns ``{witness name: result}`` (see :func:`ask_witness`)."""
    kinds = tuple(kinds)
    return {spec.name: ask_witness(log_tenant, spec, session)
            for spec in witness_config(log_tenant, create_keys=True, session=session).witnesses if spec.kind in kinds}


def drain(now: dt.datetime | None = None, session: Session | None = None) -> dict[str, dict[str, str]]:
    """One pass of the witness worker: for every tenant enabling the notary, ask each witness
    that has not cosigned the latest checkpoint and whose back-off has passed.

    Returns:
        ``{tenant slug: {witness name: result}}`` of the witnesses asked (empty when none was due).
    """
    session = session or db.session
    now = now or utcnow()
    done: dict[str, dict[str, str]] = {}
    for tenant in services.notary_tenants():
        cfg = witness_config(tenant, create_keys=True, session=session)
        if not cfg.witnesses:
            continue
        with tenant_context(tenant):
            cp = services.latest_checkpoint(session)
            if cp is None:
                continue
            rows = {r.witness: r for r in session.scalars(select(WitnessStatus))}
            due = [s for s in cfg.witnesses if not _has_cosigned(s, cp, session)
                   and (s.name not in rows or rows[s.name].next_attempt_at is None
                        or rows[s.name].next_attempt_at <= now)]
        session.rollback()  # end the read transaction: each request commits on its own
        for spec in due:
            done.setdefault(tenant.slug, {})[spec.name] = ask_witness(tenant, spec, session)
    return done


def run_worker(interval: float = 2.0, stop: Callable[[], bool] = lambda: False,
               echo: Callable[[str], None] | None = None) -> None:
    """Run :func:`drain` every ``interval`` seconds until ``stop()`` is true (``comun notary
    worker``). Unexpected errors are logged and the loop goes on (nothing is lost: a witness stays
    due until it cosigns)."""
    while not stop():
        try:
            for slug, results in drain().items():
                for name, result in results.items():
                    if echo is not None:
                        echo(f"{slug}: {name}: {result}")
        except Exception:
            current_app.logger.exception("notary witness worker failed; retrying")
            db.session.rollback()
        time.sleep(interval)


# --------------------------------------------------------------------------- status
@dataclass(frozen=True)
class WitnessReport:
    """What the admin page shows about one witness of the current tenant's log.

    Attributes:
        spec: the witness.
        cosigned_latest: it cosigned the latest checkpoint.
        last_cosigned_size / last_cosigned_at: its newest cosigned checkpoint (0 / None if none).
        silent_since: when the first checkpoint it has not cosigned was signed (None when it
            cosigned the latest).
        status: its :class:`WitnessStatus` row (attempts, next attempt, last error) or None.
    """

    spec: WitnessSpec
    cosigned_latest: bool
    last_cosigned_size: int
    last_cosigned_at: dt.datetime | None
    silent_since: dt.datetime | None
    status: WitnessStatus | None


def witness_reports(tenant, session: Session | None = None) -> tuple[Checkpoint | None, WitnessConfig, list[WitnessReport]]:
    """The latest checkpoint, the configuration and one :class:`WitnessReport` per witness of
    ``tenant``'s log (``tenant`` must be current)."""
    session = session or db.session
    cfg = witness_config(tenant)
    cp = services.latest_checkpoint(session)
    rows = {r.witness: r for r in session.scalars(select(WitnessStatus))}
    reports = []
    for spec in cfg.witnesses:
        last = session.execute(select(Checkpoint.size, Cosignature.created_at)
                               .join(Cosignature, Cosignature.checkpoint_id == Checkpoint.id)
                               .where(Cosignature.witness.in_(spec.key_names))
                               .order_by(Checkpoint.size.desc()).limit(1)).first()
        size, at = (int(last[0]), last[1]) if last else (0, None)
        latest = cp is not None and last is not None and size >= cp.size
        silent = None
        if cp is not None and not latest:
            silent = session.scalar(select(func.min(Checkpoint.created_at)).where(Checkpoint.size > size))
        reports.append(WitnessReport(spec, latest, size, at, silent, rows.get(spec.name)))
    return cp, cfg, reports


def register_workers(instance_path: str) -> list:
    """The processes ``comun run`` starts for the notary: the witness worker and, when
    ``<instance>/witness-demo`` holds a witness key (``comun notary demo-witness``), the example
    standalone ``comun-witness`` on port :data:`DEMO_WITNESS_PORT`."""
    from comun_cms.toolkit import Worker
    workers = [Worker("notary worker", (sys.executable, "-m", "comun_cms.cli", "notary", "worker"))]
    folder = Path(instance_path) / DEMO_WITNESS_DIR
    if (folder / "witness.key").exists():
        workers.append(Worker("example witness", (sys.executable, "-m", "plugins.notary.witness_server", "serve",
                                                  "--dir", str(folder), "--port", str(DEMO_WITNESS_PORT), "--quiet")))
    return workers


def demo_witness(instance_path: str, directory: Path | None = None) -> tuple[str, list[str]]:
    """Set up the example standalone witness of ``make run`` (idempotent): its folder
    (``<instance>/witness-demo`` unless ``directory``), key and database, and every real
    state's log (origin and log keys) in it.

    Returns:
        ``(witness verifier key, [origins added])``.
    Raises:
        plugins.notary.witness_server.WitnessSetupError: the folder holds another witness's key.
    """
    from plugins.notary import witness_server as ws
    folder = Path(directory) if directory else Path(instance_path) / DEMO_WITNESS_DIR
    vkey = ws.init_folder(folder, DEMO_WITNESS_NAME)
    origins = []
    for tenant in get_tenants().values():
        if not tenant.enables(services.PLUGIN) or tenant.training or tenant.workspace_of is not None:
            continue
        ring = services.keyring(tenant)
        origin = services.log_origin(tenant)
        for v in ring.log_vkeys:
            ws.add_log(folder, services.note.new_verifier(v).name, v)
        origins.append(origin)
    return vkey, origins
