"""RFC 3161 time-stamps of the notary's signed checkpoints.

A tenant may name a Time-Stamp Authority (TSA) in ``[plugin_settings.notary]``:

* ``tsa_url``       the TSA's HTTP endpoint (RFC 3161 section 3.4, POST
  ``application/timestamp-query``);
* ``tsa_chain``     a PEM file with the TSA's certificate chain (its signing certificate, any
  intermediates and the root that verifiers trust); relative paths are read from the instance
  folder;
* ``tsa_name``      the name shown to citizens ("sellado por <name>"; default: the common name of
  the TSA's certificate);
* ``tsa_interval``  minutes: ``0`` stamps every signed checkpoint, ``N`` the newest checkpoint
  when the last token is ``N`` minutes old or older;
* ``tsa_timeout``   seconds to wait for the TSA;
* ``tsa_max_delay`` hours: the audit reports a token whose time is later than this after its
  checkpoint was signed (stamped too late to say much).

What is stamped: the checkpoint's note **as the log signed it** (:attr:`Checkpoint.note`: the
checkpoint text, a blank line and the log's signature lines, UTF-8, without witness
cosignatures), hashed with SHA-256 into the request's message imprint, with a nonce and
``certReq`` (RFC 3161 section 2.4.1). The whole ``TimeStampResp`` (DER) is stored
(:class:`~plugins.notary.models.Timestamp`), served at ``/<slug>/notary/checkpoint.tsr`` and
``/<slug>/notary/checkpoints/<size>/timestamp.tsr``, and added to receipts as the C2SP
tlog-proof ``extra`` line. Anyone can check it with ``openssl ts -verify -data note.txt -in
timestamp.tsr -CAfile chain.pem``, or with ``comun notary verify --tsa-chain``.

When: never inside the publishing transaction. After a commit that signed a checkpoint, a
background thread asks the TSA (:func:`schedule`); a TSA outage leaves the checkpoint without a
token, and ``comun notary timestamp`` (``--watch`` as a worker, and every run of ``comun notary
checkpoint``) asks again (:func:`timestamp_pending`): the signed checkpoint row is itself the
durable "to do" (outbox) record.

ASN.1, CMS signature and certificate-chain checks are done by ``rfc3161-client`` (Trail of Bits),
not here.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import logging
import threading
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.x509.oid import NameOID
from flask import current_app
from rfc3161_client import (HashAlgorithm, TimestampRequestBuilder, VerificationError, VerifierBuilder,
                            decode_timestamp_response)
from sqlalchemy import select
from sqlalchemy.orm import Session

from comun_cms.toolkit import db, tenant_context, utcnow
from plugins.notary.models import Checkpoint, Timestamp
from plugins.notary.services import _setting

log = logging.getLogger(__name__)

#: Largest TSA reply accepted (bytes).
MAX_REPLY = 1 << 20
#: Seconds a TSA's clock may be ahead of ours when checking a token's window.
CLOCK_SKEW = 120
#: Most checkpoints stamped in one call of :func:`timestamp_pending` (interval 0).
BATCH = 20


class TimestampError(ValueError):
    """A TSA reply or token is malformed, refused or does not verify; the message says why."""


@dataclass(frozen=True)
class TokenInfo:
    """A verified token: ``gen_time`` (aware UTC datetime, the TSA's ``genTime``), ``tsa`` (common
    name of the signing certificate), ``serial`` (the token's serial number), ``hash_name``
    (``sha256``...) and ``message`` (the exact bytes the imprint covers)."""

    gen_time: dt.datetime
    tsa: str
    serial: int
    hash_name: str
    message: bytes


# --------------------------------------------------------------------------- pure part
def load_chain(pem: bytes) -> list[x509.Certificate]:
    """Parse a PEM certificate chain. Raises :class:`TimestampError` when it holds no certificate."""
    try:
        certs = x509.load_pem_x509_certificates(pem)
    except ValueError as exc:
        raise TimestampError(f"the TSA certificate chain is not PEM certificates: {exc}") from None
    if not certs:
        raise TimestampError("the TSA certificate chain is empty")
    return certs


def _self_signed(cert: x509.Certificate) -> bool:
    return cert.issuer == cert.subject


def _is_ca(cert: x509.Certificate) -> bool:
    try:
        return bool(cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca)
    except x509.ExtensionNotFound:
        return False


def _verifier(chain: list[x509.Certificate], embeds_certificates: bool):
    """An ``rfc3161-client`` verifier trusting the self-signed certificates of ``chain`` as roots
    and its other CA certificates as intermediates. The TSA's own (non-CA) certificate is given
    only when the token does not embed it: an embedded signer certificate is then itself
    checked up to the root, so a changed byte in it fails."""
    roots = [c for c in chain if _self_signed(c)]
    if not roots:
        raise TimestampError("the TSA certificate chain has no root (self-signed) certificate")
    builder = VerifierBuilder()
    for c in roots:
        builder = builder.add_root_certificate(c)
    for c in chain:
        if not _self_signed(c) and _is_ca(c):
            builder = builder.add_intermediate_certificate(c)
    leaves = [c for c in chain if not _is_ca(c)]
    if not embeds_certificates:
        if not leaves:
            raise TimestampError("the token carries no certificate and the TSA chain has no TSA certificate")
        builder = builder.tsa_certificate(leaves[0])
    return builder.build()


_HASHES = {"2.16.840.1.101.3.4.2.1": ("sha256", hashlib.sha256), "2.16.840.1.101.3.4.2.2": ("sha384", hashlib.sha384),
           "2.16.840.1.101.3.4.2.3": ("sha512", hashlib.sha512)}


def _signer_name(resp) -> str:
    try:
        si = next(iter(resp.signed_data.signer_infos))
        for der in resp.signed_data.certificates:
            cert = x509.load_der_x509_certificate(der)
            if cert.issuer == si.issuer and cert.serial_number == si.serial_number:
                names = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
                return str(names[0].value) if names else cert.subject.rfc4514_string()
    except (StopIteration, ValueError):
        pass
    return ""


def verify_token(token: bytes, messages: list[bytes] | bytes, chain: list[x509.Certificate]) -> TokenInfo:
    """Verify an RFC 3161 ``TimeStampResp`` over one of ``messages``.

    Checks (through ``rfc3161-client``): status granted, the CMS signature and the signer's
    certificate chain up to a root of ``chain`` (valid at ``genTime``), the signer's critical
    ``timeStamping`` extended key usage, and that the message imprint is the hash of one of
    ``messages`` (SHA-256, -384 or -512, as the token says).

    Args:
        token: DER ``TimeStampResp``.
        messages: the candidate stamped bytes (see :func:`note_messages`), or one ``bytes``.
        chain: the TSA's certificates (:func:`load_chain`); self-signed ones are the roots.
    Returns:
        :class:`TokenInfo` of the matching message.
    Raises:
        TimestampError: malformed token, unsupported hash, bad signature or chain, or no
            message matches the imprint (the message says which).
    """
    if isinstance(messages, (bytes, bytearray)):
        messages = [bytes(messages)]
    try:
        resp = decode_timestamp_response(bytes(token))
        info = resp.tst_info
        algo = info.message_imprint.hash_algorithm.dotted_string
    except Exception as exc:  # the Rust parser raises ValueError; be safe with anything else
        raise TimestampError(f"the time-stamp token is malformed: {exc}") from None
    if algo not in _HASHES:
        raise TimestampError(f"the time-stamp token uses an unsupported hash ({algo})")
    name, fn = _HASHES[algo]
    imprint = info.message_imprint.message
    match = next((m for m in messages if fn(m).digest() == imprint), None)
    if match is None:
        raise TimestampError("the time-stamp token's message imprint is not the hash of this checkpoint")
    try:
        _verifier(chain, bool(resp.signed_data.certificates)).verify(resp, imprint)
    except (VerificationError, ValueError) as exc:
        raise TimestampError(f"the time-stamp token does not verify with the TSA certificate chain: {exc}") from None
    except Exception as exc:  # e.g. cryptography's InvalidVersion for a damaged embedded certificate
        raise TimestampError(f"the time-stamp token does not verify with the TSA certificate chain: "
                             f"{type(exc).__name__}: {exc}") from None
    gen = info.gen_time
    if gen.tzinfo is None:
        gen = gen.replace(tzinfo=dt.timezone.utc)
    return TokenInfo(gen.astimezone(dt.timezone.utc), _signer_name(resp), int(info.serial_number), name, match)


def note_messages(served_note: bytes) -> list[bytes]:
    """The byte strings a token over ``served_note`` may cover: the note cut after each of its
    signature lines (the note as the log signed it is such a prefix of the note served with
    witness cosignatures appended). C2SP signed-note: text, a blank line, then signature lines."""
    text, sep, sigs = bytes(served_note).partition(b"\n\n")
    if not sep:
        return []
    out, acc = [], text + b"\n\n"
    for line in sigs.split(b"\n"):
        if not line:
            continue
        acc += line + b"\n"
        out.append(acc)
    return out


def request_token(url: str, message: bytes, timeout: float = 10.0) -> bytes:
    """Ask the TSA at ``url`` for a token over ``message`` (SHA-256 imprint, nonce, certReq) and
    return its DER ``TimeStampResp`` after checking the status, the nonce and the imprint.

    Raises:
        TimestampError: the TSA is unreachable, answered an HTTP error, refused (PKIStatus not
            granted) or sent a reply for another request.
    """
    req = TimestampRequestBuilder().data(message).hash_algorithm(HashAlgorithm.SHA256).build()
    http_req = urllib.request.Request(url, data=req.as_bytes(), method="POST",
                                      headers={"Content-Type": "application/timestamp-query",
                                               "Accept": "application/timestamp-reply"})
    try:
        with urllib.request.urlopen(http_req, timeout=timeout) as r:  # noqa: S310 (configured URL)
            body = r.read(MAX_REPLY + 1)
    except (urllib.error.URLError, OSError, ValueError) as exc:
        raise TimestampError(f"the TSA at {url} did not answer: {exc}") from None
    if len(body) > MAX_REPLY:
        raise TimestampError(f"the TSA at {url} sent a reply larger than {MAX_REPLY} bytes")
    try:
        resp = decode_timestamp_response(body)
        status = resp.status
    except ValueError as exc:
        raise TimestampError(f"the TSA at {url} sent a malformed reply: {exc}") from None
    if status not in (0, 1):
        raise TimestampError(f"the TSA at {url} refused the request (status {status}: "
                             f"{' '.join(resp.status_string)})")
    if resp.tst_info.nonce != req.nonce:
        raise TimestampError(f"the TSA at {url} answered with another request's nonce")
    if resp.tst_info.message_imprint.message != hashlib.sha256(message).digest():
        raise TimestampError(f"the TSA at {url} stamped another message")
    return body


# --------------------------------------------------------------------------- the CMS side
@dataclass(frozen=True)
class TsaConfig:
    """A tenant's TSA settings (see the module docstring); ``chain`` parsed certificates."""

    url: str
    chain: tuple
    name: str
    interval: int
    timeout: float
    max_delay_hours: float


def tsa_config(tenant, instance_path: str) -> TsaConfig | None:
    """The tenant's TSA configuration, or ``None`` when ``tsa_url`` is empty.

    Raises:
        TimestampError: ``tsa_url`` is set but ``tsa_chain`` is missing, unreadable or not PEM
            certificates (the message names the setting).
    """
    url = (_setting(tenant, "tsa_url", "") or "").strip()
    if not url:
        return None
    chain_path = (_setting(tenant, "tsa_chain", "") or "").strip()
    if not chain_path:
        raise TimestampError(f"{tenant.slug}: tsa_url is set but tsa_chain (the TSA's PEM certificate chain) is not")
    path = Path(chain_path)
    if not path.is_absolute():
        path = Path(instance_path) / path
    try:
        chain = load_chain(path.read_bytes())
    except OSError as exc:
        raise TimestampError(f"{tenant.slug}: tsa_chain {path}: {exc.strerror or exc}") from None
    return TsaConfig(url, tuple(chain), (_setting(tenant, "tsa_name", "") or "").strip(),
                     int(_setting(tenant, "tsa_interval", 0) or 0), float(_setting(tenant, "tsa_timeout", 10.0)),
                     float(_setting(tenant, "tsa_max_delay", 168.0)))


def pending_checkpoints(cfg: TsaConfig, session) -> list:
    """The current tenant's checkpoints that should get a token now, oldest first: every one
    without a token (interval 0, at most :data:`BATCH`), or the newest one when it has none and
    the last token is at least ``interval`` minutes old."""
    stamped = select(Timestamp.checkpoint_id)
    if cfg.interval <= 0:
        return list(session.scalars(select(Checkpoint).where(Checkpoint.id.not_in(stamped))
                                    .order_by(Checkpoint.size.desc()).limit(BATCH)))[::-1]
    newest = session.scalar(select(Checkpoint).order_by(Checkpoint.size.desc()).limit(1))
    if newest is None or session.scalar(select(Timestamp.id).where(Timestamp.checkpoint_id == newest.id)):
        return []
    last = session.scalar(select(Timestamp.gen_time).order_by(Timestamp.gen_time.desc()).limit(1))
    if last is not None and (utcnow() - last).total_seconds() < cfg.interval * 60:
        return []
    return [newest]


def timestamp_pending(tenant, session=None) -> dict:
    """Get tokens for the tenant's pending checkpoints (:func:`pending_checkpoints`), verify each
    with the configured chain and store it, committing after each. Never raises for a TSA
    outage or a bad reply: the checkpoint stays pending and the next call asks again.

    Returns:
        ``{"stamped": [sizes], "error": str | None}`` (``error`` also when no TSA is configured
        is ``None`` and nothing is done).
    """
    session = session or db.session
    out: dict = {"stamped": [], "error": None}
    try:
        cfg = tsa_config(tenant, current_app.instance_path)
    except TimestampError as exc:
        out["error"] = str(exc)
        return out
    if cfg is None:
        return out
    with tenant_context(tenant):
        todo = [(cp.id, cp.size, cp.note) for cp in pending_checkpoints(cfg, session)]
        session.rollback()  # no transaction held open while the TSA answers
        for cp_id, size, note_text in todo:
            message = note_text.encode("utf-8")
            try:
                token = request_token(cfg.url, message, cfg.timeout)
                info = verify_token(token, message, list(cfg.chain))
            except TimestampError as exc:
                log.warning("notary: %s: no time-stamp for checkpoint %s yet: %s", tenant.slug, size, exc)
                out["error"] = str(exc)
                break
            try:
                session.add(Timestamp(tenant_id=tenant.slug, checkpoint_id=cp_id, size=size, token=token,
                                      gen_time=info.gen_time, tsa=(cfg.name or info.tsa)[:255]))
                session.commit()
                out["stamped"].append(size)
            except Exception as exc:  # another worker stored it first (unique checkpoint_id)
                session.rollback()
                log.info("notary: %s: time-stamp of checkpoint %s not stored: %s", tenant.slug, size, exc)
    return out


_inflight: set[str] = set()
_lock = threading.Lock()
_threads: list[threading.Thread] = []


def schedule(app, slugs) -> list[threading.Thread]:
    """Start one background thread per tenant in ``slugs`` that has a TSA and no thread running
    yet, which calls :func:`timestamp_pending` with its own session. Returns the started threads
    (the tests join them). Called after a commit that signed checkpoints: publishing never waits."""
    started = []
    tenants = app.extensions["comun"].tenants
    for slug in sorted(slugs):
        t = tenants.get(slug)
        if t is None or not _configured(t):
            continue
        with _lock:
            if slug in _inflight:
                continue
            _inflight.add(slug)
        th = threading.Thread(target=_run, args=(app, t), name=f"notary-tsa-{slug}", daemon=True)
        th.start()
        started.append(th)
    _threads[:] = [t for t in _threads if t.is_alive()] + started
    return started


def _configured(tenant) -> bool:
    return bool((_setting(tenant, "tsa_url", "") or "").strip())


def _run(app, tenant) -> None:
    try:
        with app.app_context():
            session = Session(bind=db.engine)
            try:
                timestamp_pending(tenant, session)
            finally:
                session.close()
    except Exception:  # a background failure is logged; the next run asks again
        log.warning("notary: background time-stamping of %s failed", tenant.slug, exc_info=True)
    finally:
        with _lock:
            _inflight.discard(tenant.slug)


def wait_idle(timeout: float | None = None) -> None:
    """Join the background threads started by :func:`schedule` (tests, clean shutdown)."""
    for th in list(_threads):
        th.join(timeout)
