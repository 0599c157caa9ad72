"""Public endpoints of the notary under ``/<tenant>/notary/`` and the record seal.

Routes (blueprint ``notary``, all public, GET unless said):

* ``checkpoint``                       latest signed checkpoint with cosignatures (text/plain)
* ``tile/<L>/<N>[.p/<W>]``             hash tiles (C2SP tlog-tiles, application/octet-stream)
* ``tile/entries/<N>[.p/<W>]``         entry bundles
* ``checkpoint.tsr``                   RFC 3161 token of the newest time-stamped checkpoint
                                       (application/timestamp-reply; its size in ``Comun-Checkpoint-Size``)
* ``checkpoints/<size>/note``          that checkpoint's note as the log signed it (what the token stamps)
* ``checkpoints/<size>/timestamp.tsr`` that checkpoint's RFC 3161 token
* ``key``                              verifier keys: ``log <vkey>`` / ``witness <vkey>`` lines
* ``policy``                           a C2SP tlog-policy to verify this log's receipts
* ``witness/add-checkpoint`` (POST)    C2SP tlog-witness endpoint of this tenant's witness
* ``entries/<index>``                  JSON: entry (base64), leaf hash, publication
* ``entries/<index>/entry.json``       the canonical entry bytes (download)
* ``entries/<index>/receipt.tlog-proof`` the C2SP tlog-proof receipt (download)
* ``proof/inclusion?index=&size=``     JSON inclusion proof
* ``proof/consistency?old=&new=``      JSON consistency proof
* ``lookup/<sha256>``                  JSON: logged versions whose content or attachments have it
* ``verificar`` (GET, POST)            the citizens' verify page

Bad input answers 400 (404 for unknown entries) with ``{"error": "..."}`` or a text message.
"""
from __future__ import annotations

import hashlib
import json
import re

from flask import Blueprint, Response, abort, current_app, jsonify, make_response, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from markupsafe import Markup
from sqlalchemy import select

from comun_cms.toolkit import (
    Publication, content_disposition, content_type_for, content_types, csrf, db, get_current_tenant,
    latest_publication,
)
from plugins.notary import portal, services, witnessing
from plugins.notary.models import Checkpoint, Digest, Entry, LogHead, MonitorAlarm, Node
from plugins.notary.tlog import checkpoint as tcp
from plugins.notary.tlog import merkle, tiles
from plugins.notary.training import record_verification

bp = Blueprint("notary", __name__, url_prefix="/notary", template_folder="templates",
               static_folder="static", static_url_path="/static")

SHA_RE = services.SHA256_RE
MAX_INDEX = (1 << 63) - 1
TEXT = "text/plain; charset=utf-8"


class BadRequest(ValueError):
    """Bad input; ``str(error)`` is the user-facing message."""


def _error(message: str, status: int = 400):
    return jsonify({"error": message}), status


@bp.errorhandler(BadRequest)
def _bad_request(exc):
    return _error(str(exc), 400)


@bp.errorhandler(services.NotaryError)
def _damaged(exc):
    current_app.logger.error("notary: %s", exc)
    return _error(_("The log cannot answer this request right now: %(error)s. An administrator should run "
                    "the notary audit.", error=str(exc)), 503)


def _int_arg(name: str, value: str | None, minimum: int = 0) -> int:
    """Parse a non-negative decimal argument or raise :class:`BadRequest` naming it."""
    if value is None or value == "":
        raise BadRequest(_("Parameter %(name)s is required.", name=name))
    if not re.fullmatch(r"[0-9]{1,19}", value):
        raise BadRequest(_("Parameter %(name)s must be a whole number of at least %(min)s, got %(value)s.",
                           name=name, min=minimum, value=value[:40]))
    n = int(value)
    if n > MAX_INDEX:
        raise BadRequest(_("Parameter %(name)s is too large.", name=name))
    if n < minimum:
        raise BadRequest(_("Parameter %(name)s must be at least %(min)s.", name=name, min=minimum))
    return n


def _log_size() -> int:
    return db.session.scalar(select(LogHead.size)) or 0


def _text(body, status: int = 200, content_type: str = TEXT, cache: str = "no-cache") -> Response:
    resp = Response(body, status=status, content_type=content_type)
    resp.headers["Cache-Control"] = cache
    resp.headers["Access-Control-Allow-Origin"] = "*"
    return resp


# --------------------------------------------------------------------------- static log (tlog-tiles)
@bp.get("/checkpoint")
def checkpoint():
    """Latest signed checkpoint with every gathered cosignature (text/plain signed note); 404 if none."""
    cp = services.latest_checkpoint()
    if cp is None:
        return _text(_("The log has no checkpoint yet.") + "\n", 404)
    return _text(services.served_note(cp))


TSR = "application/timestamp-reply"


def _tsr(ts) -> Response:
    resp = _text(ts.token, content_type=TSR, cache="public, max-age=31536000, immutable")
    resp.headers["Comun-Checkpoint-Size"] = str(ts.size)
    resp.headers["Content-Disposition"] = content_disposition("attachment", f"checkpoint-{ts.size}.tsr")
    return resp


@bp.get("/checkpoint.tsr")
def checkpoint_tsr():
    """RFC 3161 ``TimeStampResp`` (DER) of the newest time-stamped checkpoint; the checkpoint's size
    is in the ``Comun-Checkpoint-Size`` header and its note at ``checkpoints/<size>/note``. 404 when
    no checkpoint has been time-stamped."""
    ts = services.latest_timestamp()
    if ts is None:
        return _text(_("No checkpoint of this log has been time-stamped yet.") + "\n", 404)
    resp = _tsr(ts)
    resp.headers["Cache-Control"] = "no-cache"
    return resp


def _checkpoint_of_size(size_text: str):
    size = _int_arg("size", size_text, minimum=1)
    cp = db.session.scalar(select(Checkpoint).where(Checkpoint.size == size))
    if cp is None:
        abort(_text(_("There is no signed checkpoint of %(size)s entries.", size=size) + "\n", 404))
    return cp


@bp.get("/checkpoints/<size>/note")
def checkpoint_note(size: str):
    """The checkpoint of ``size`` entries as the log signed it (signed note without cosignatures):
    the exact bytes its RFC 3161 token stamps (``openssl ts -verify -data``)."""
    cp = _checkpoint_of_size(size)
    return _text(cp.note.encode("utf-8"), cache="public, max-age=31536000, immutable")


@bp.get("/checkpoints/<size>/timestamp.tsr")
def checkpoint_timestamp(size: str):
    """The RFC 3161 token of the checkpoint of ``size`` entries; 404 when it has none (yet)."""
    cp = _checkpoint_of_size(size)
    ts = services.timestamp_of(cp)
    if ts is None:
        return _text(_("The checkpoint of %(size)s entries has no time-stamp yet.", size=cp.size) + "\n", 404)
    return _tsr(ts)


@bp.get("/tile/<path:rest>")
def tile(rest: str):
    """A hash tile ``tile/<L>/<N>[.p/<W>]`` or entry bundle ``tile/entries/<N>[.p/<W>]`` (C2SP
    tlog-tiles). 400 for a malformed path, 404 for a tile beyond the log size."""
    try:
        t = tiles.parse_tile_path("tile/" + rest)
    except ValueError as exc:
        return _text(_("Malformed tile path: %(error)s", error=str(exc)) + "\n", 400)
    size = _log_size()
    if t.entries:
        first = t.index * tiles.TILE_WIDTH
        if first + t.width > size:
            return _text(_("This entry bundle does not exist yet (log size %(size)s).", size=size) + "\n", 404)
        rows = db.session.scalars(select(Entry.entry).where(Entry.index >= first, Entry.index < first + t.width)
                                  .order_by(Entry.index)).all()
        if len(rows) != t.width:
            return _text(_("Entries are missing from the log.") + "\n", 500)
        data = tiles.encode_entry_bundle([r.encode("utf-8") for r in rows])
    else:
        level = 8 * t.level
        first = t.index * tiles.TILE_WIDTH
        if (first + t.width) * (tiles.TILE_WIDTH ** t.level) > size:
            return _text(_("This tile does not exist yet (log size %(size)s).", size=size) + "\n", 404)
        rows = db.session.execute(select(Node.index, Node.hash).where(
            Node.level == level, Node.index >= first, Node.index < first + t.width).order_by(Node.index)).all()
        if len(rows) != t.width:
            return _text(_("Nodes are missing from the log.") + "\n", 500)
        data = b"".join(bytes(h) for _i, h in rows)
    cache = "public, max-age=31536000, immutable" if not t.is_partial else "no-cache"
    return _text(data, content_type="application/octet-stream", cache=cache)


@bp.get("/key")
def key():
    """Verifier keys, one per line: ``log <vkey>`` then ``witness <vkey>`` (retired keys included)."""
    tenant = get_current_tenant()
    ring = services.keyring(tenant, create=False)
    if ring is None:
        return _text(_("This log has no keys yet.") + "\n", 404)
    lines = [f"log {v}" for v in ring.log_vkeys] + [f"witness {v}" for v in ring.witness_vkeys]
    return _text("\n".join(lines) + "\n")


@bp.get("/policy")
def policy():
    """A C2SP tlog-policy that verifies this log's receipts (text/plain)."""
    return _text(services.policy_text(get_current_tenant()))


@bp.post("/witness/add-checkpoint")
def add_checkpoint():
    """C2SP tlog-witness ``add-checkpoint`` for this tenant's witness (status codes per the spec)."""
    tenant = get_current_tenant()
    if (request.content_length or 0) > (1 << 20):
        return _text("request too large\n", 413)
    body = request.get_data(cache=False)
    if len(body) > (1 << 20):
        return _text("request too large\n", 413)
    try:
        resp = services.tenant_witness(tenant).add_checkpoint(body)
    except services.KeyringError as exc:
        db.session.rollback()
        current_app.logger.error("notary witness of %s: %s", tenant.slug, exc)
        return _text("witness unavailable\n", 503)
    if resp.ok:
        db.session.commit()
    else:
        db.session.rollback()
    return _text(resp.body, resp.status, resp.content_type)


csrf.exempt(add_checkpoint)


# --------------------------------------------------------------------------- JSON API
def _entry_json(e: Entry) -> dict:
    pub = db.session.scalar(select(Publication).where(Publication.id == e.publication_id))
    return {
        "index": e.index, "entry": services.b64(e.entry.encode("utf-8")), "leaf_hash": e.leaf_hash,
        "content_type": e.content_type, "record_id": e.record_id, "version": e.version, "action": e.action,
        "content_sha256": e.content_sha256, "title": pub.title if pub else "",
        "receipt_url": url_for("notary.receipt", index=e.index), "entry_url": url_for("notary.entry_file", index=e.index),
    }


def _get_entry(index_text: str) -> Entry:
    index = _int_arg("index", index_text)
    e = services.entry_at(index)
    if e is None:
        abort(make_response(jsonify({"error": _("There is no entry %(index)s; the log has %(size)s entries.",
                                                  index=index, size=_log_size())}), 404))
    return e


@bp.get("/entries/<index>")
def entry(index: str):
    """JSON of entry ``index``: entry bytes (base64), leaf hash (hex), record, download URLs."""
    return jsonify(_entry_json(_get_entry(index)))


@bp.get("/entries/<index>/entry.json")
def entry_file(index: str):
    """The canonical entry bytes of ``index`` as a download (``entry-<index>.json``)."""
    e = _get_entry(index)
    resp = Response(e.entry.encode("utf-8"), content_type="application/json")
    resp.headers["Content-Disposition"] = content_disposition("attachment", f"entry-{e.index}.json")
    return resp


@bp.get("/entries/<index>/receipt.tlog-proof")
def receipt(index: str):
    """The C2SP tlog-proof receipt of ``index`` against the newest checkpoint; 404 if not covered yet."""
    e = _get_entry(index)
    data = services.receipt_for(e.index)
    if data is None:
        return _error(_("Entry %(index)s is not covered by a signed checkpoint yet; try again later.", index=e.index), 404)
    resp = Response(data, content_type=TEXT)
    resp.headers["Content-Disposition"] = content_disposition("attachment", f"entry-{e.index}.tlog-proof")
    return resp


@bp.get("/proof/inclusion")
def inclusion():
    """JSON inclusion proof ``{index, size, leaf_hash, hashes: [base64]}``; ``size`` defaults to the
    newest checkpoint size. 400 names the bad parameter."""
    size_now = _log_size()
    index = _int_arg("index", request.args.get("index"))
    cp = services.latest_checkpoint()
    size_text = request.args.get("size")
    size = _int_arg("size", size_text, minimum=1) if size_text not in (None, "") else (cp.size if cp else 0)
    if size < 1:
        raise BadRequest(_("The log has no checkpoint yet."))
    if size > size_now:
        raise BadRequest(_("Parameter size (%(size)s) is larger than the log (%(now)s entries).", size=size, now=size_now))
    if index >= size:
        raise BadRequest(_("Parameter index (%(index)s) must be smaller than size (%(size)s).", index=index, size=size))
    hashes = merkle.inclusion_proof(index, size, services.node_reader())
    e = services.entry_at(index)
    return jsonify({"index": index, "size": size, "leaf_hash": e.leaf_hash if e else None,
                    "hashes": [services.b64(h) for h in hashes]})


@bp.get("/proof/consistency")
def consistency():
    """JSON consistency proof ``{old, new, hashes: [base64]}`` (RFC 9162 2.1.4); 400 names the bad parameter."""
    size_now = _log_size()
    old = _int_arg("old", request.args.get("old"))
    new = _int_arg("new", request.args.get("new"), minimum=1)
    if new > size_now:
        raise BadRequest(_("Parameter new (%(new)s) is larger than the log (%(now)s entries).", new=new, now=size_now))
    if old > new:
        raise BadRequest(_("Parameter old (%(old)s) must not be larger than new (%(new)s).", old=old, new=new))
    hashes = merkle.consistency_proof(old, new, services.node_reader())
    return jsonify({"old": old, "new": new, "hashes": [services.b64(h) for h in hashes]})


def lookup_matches(sha: str) -> list[dict]:
    """Every logged version whose content or an attachment has SHA-256 ``sha`` (hex), with the
    data a browser needs to check it: entry (base64), publication canonical JSON, inclusion
    proof against the newest checkpoint, the checkpoint note and a server-side verdict."""
    digests = db.session.execute(select(Digest.index, Digest.kind, Digest.filename)
                                 .where(Digest.sha256 == sha).order_by(Digest.index)).all()
    cp = services.latest_checkpoint()
    note_text = services.served_note(cp).decode("utf-8") if cp else ""
    out = []
    for index, kind, filename in digests:
        e = services.entry_at(index)
        if e is None:
            continue
        pub = db.session.scalar(select(Publication).where(Publication.id == e.publication_id))
        item = _entry_json(e)
        item.update(kind=kind, filename=filename, sha256=sha,
                    canonical_json=pub.canonical_json if pub else "", redaction=redaction_facts(pub),
                    record_url=_record_url(pub), published_at=pub.published_at.isoformat() if pub else "")
        item["checkpoint"] = note_text if cp is not None and cp.size > index else ""
        item["proof"] = ([services.b64(h) for h in merkle.inclusion_proof(index, cp.size, services.node_reader())]
                         if item["checkpoint"] else [])
        item["server_check"] = server_check(e, pub, sha, kind, cp)
        out.append(item)
    return out


def _record_url(pub) -> str:
    if pub is None:
        return ""
    try:
        ct = content_types().get(pub.content_type)
        record = db.session.scalar(select(ct.model).where(ct.model.id == int(pub.record_id)))
        return ct.url(record) if record is not None else ""
    except Exception:  # the owning plugin's page may not build (disabled, renamed)
        return ""


def redaction_facts(pub) -> dict | None:
    """``{"at": RFC 3339 UTC, "legal_basis": str, "by_version": int}`` when a redaction removed
    ``pub``'s content (read from its stub), else ``None``."""
    if pub is None or pub.redaction_id is None:
        return None
    try:
        facts = json.loads(pub.canonical_json).get("redacted") or {}
    except ValueError:
        facts = {}
    return {"at": str(facts.get("at", "")), "legal_basis": str(facts.get("legal_basis", "")),
            "by_version": facts.get("by_version")}


def server_check(e: Entry, pub, sha: str, kind: str, cp) -> dict:
    """Check on the server what the browser checks: ``{"ok": bool, "problems": [str]}``.

    A version whose content a redaction removed cannot be compared with its hash any more: its
    verdict is ``{"ok": False, "redacted": True, "problems": []}`` when the rest holds (the entry
    carries the SHA-256, the entry is in a signed checkpoint), instead of "no match"."""
    problems = []
    redacted = pub is not None and pub.redaction_id is not None
    data = e.entry.encode("utf-8")
    try:
        doc = json.loads(data)
    except ValueError:
        doc = {}
        problems.append(_("The log entry is not valid JSON."))
    if pub is None:
        problems.append(_("The publication of this entry is missing."))
    elif redacted:
        if doc.get("content_sha256") != pub.sha256:
            problems.append(_("The published content does not match the log entry."))
    else:
        if hashlib.sha256(pub.canonical_json.encode("utf-8")).hexdigest() != pub.sha256:
            problems.append(_("The published content does not match its SHA-256."))
        if doc.get("content_sha256") != hashlib.sha256(pub.canonical_json.encode("utf-8")).hexdigest():
            problems.append(_("The published content does not match the log entry."))
        if kind == "attachment":
            atts = (json.loads(pub.canonical_json).get("attachments") or []) if pub.canonical_json else []
            if not any(a.get("sha256") == sha for a in atts):
                problems.append(_("The file is not listed in the published content."))
        elif doc.get("content_sha256") != sha:
            problems.append(_("The SHA-256 is not the one in the log entry."))
    if cp is None or cp.size <= e.index:
        problems.append(_("No signed checkpoint covers this entry yet."))
    else:
        try:
            verifiers = services.log_verifiers(get_current_tenant())
            body, _n = tcp.open_checkpoint(services.served_note(cp), verifiers)
            hashes = merkle.inclusion_proof(e.index, cp.size, services.node_reader())
            merkle.verify_inclusion(merkle.leaf_hash(data), e.index, cp.size, hashes, body.root_hash)
        except (ValueError, services.NotaryError):
            problems.append(_("The inclusion proof or the checkpoint signature fails."))
    if redacted and not problems:
        return {"ok": False, "redacted": True, "problems": []}
    return {"ok": not problems, "problems": problems}


@bp.get("/lookup/<sha>")
def lookup(sha: str):
    """JSON ``{sha256, matches: [...]}`` of :func:`lookup_matches`; 400 malformed, 404 nothing found."""
    sha = sha.strip().lower()
    if not SHA_RE.match(sha):
        raise BadRequest(_("A SHA-256 is 64 hexadecimal characters."))
    matches = lookup_matches(sha)
    if not matches:
        return _error(_("No published record contains this SHA-256."), 404)
    return jsonify({"sha256": sha, "matches": matches})


# --------------------------------------------------------------------------- verify page
#: Largest receipt or log entry file accepted by the verify page (bytes).
MAX_RECEIPT_FILE = 1 << 20


def receipt_error_message(detail: str) -> str:
    """The user's-language explanation of a failed receipt check, from the English ``detail``
    of :func:`plugins.notary.tlog.proof.verify_receipt` (kept as ``detail`` for auditors)."""
    if detail.startswith("inclusion proof does not verify"):
        return _("The log entry is not the one this receipt proves: the inclusion proof does not lead to the "
                 "signed checkpoint. The entry or the receipt was changed, or they belong to different records.")
    if detail.startswith("witness quorum"):
        return _("The receipt's checkpoint does not have the witness cosignatures this log's policy requires.")
    if "checkpoint" in detail:
        return _("The receipt's checkpoint is not signed by this state's log, or it is damaged.")
    return _("This text is not a valid receipt (.tlog-proof): it is damaged or incomplete.")


def _verify_receipt_server(receipt_text: str, entry_text: str) -> dict:
    """:func:`services.verify_receipt_text` for the current tenant; a failure's ``error`` is in
    the user's language (:func:`receipt_error_message`), its English cause in ``detail``."""
    result = services.verify_receipt_text(get_current_tenant(), receipt_text, entry_text)
    if not result["ok"]:
        result["detail"] = result["error"]
        result["error"] = receipt_error_message(result["error"])
    return result


def _uploaded_text(name: str) -> str | None:
    """Text of the uploaded file field ``name`` (``None`` when no file was chosen).

    Raises:
        BadRequest: the file is larger than :data:`MAX_RECEIPT_FILE` or not UTF-8 text.
    """
    upload = request.files.get(name)
    if upload is None or not upload.filename:
        return None
    data = upload.stream.read(MAX_RECEIPT_FILE + 1)
    if len(data) > MAX_RECEIPT_FILE:
        raise BadRequest(_("The file %(name)s is too large for a receipt or a log entry.", name=upload.filename))
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise BadRequest(_("The file %(name)s is not a receipt or a log entry (it is not text).",
                           name=upload.filename)) from None


def _record_training_check(tenant, result: dict) -> None:
    """On a training tenant, remember that a logged-in staff account verified a receipt (for
    the training exercise's "check my work"); nothing is recorded anywhere else."""
    if not tenant.training:
        return
    try:
        if record_verification(tenant, current_user, result) is not None:
            db.session.commit()
    except Exception:  # never let the exercise bookkeeping break the citizens' page
        db.session.rollback()
        current_app.logger.warning("notary: could not record a training verification", exc_info=True)


@bp.route("/verificar", methods=["GET", "POST"])
def verify():
    """The citizens' verify page: search by SHA-256 (GET ``sha256``), by file (POST ``file``, hashed
    in the browser with JavaScript, on the server without), or check a receipt (POST ``receipt`` and
    ``entry``, pasted, or the files ``receipt_file`` and ``entry_file``). Server-side verdicts are
    always shown; verify.js repeats the checks in the browser. A SHA-256 not in this log but in
    another state's is reported as found there (:func:`services.find_in_logs`), with a link to
    that state's page, instead of suggesting tampering. On a training tenant a successful
    receipt check by a logged-in staff account is recorded for the exercises
    (:func:`plugins.notary.training.record_verification`)."""
    tenant = get_current_tenant()
    sha = (request.values.get("sha256") or "").strip().lower()
    error = None
    matches = None
    receipt_result = None
    receipt_text = request.form.get("receipt", "")
    entry_text = request.form.get("entry", "")
    try:
        receipt_text = _uploaded_text("receipt_file") or receipt_text
        entry_text = _uploaded_text("entry_file") or entry_text
    except BadRequest as exc:
        error = str(exc)
    upload = request.files.get("file")
    if error:
        pass
    elif request.method == "POST" and (receipt_text.strip() or entry_text.strip()):
        if not receipt_text.strip() or not entry_text.strip():
            error = _("Paste both the receipt and the log entry.")
        else:
            receipt_result = _verify_receipt_server(receipt_text, entry_text)
            if receipt_result["ok"]:
                _record_training_check(tenant, receipt_result)
    elif upload is not None and upload.filename:
        h = hashlib.sha256()
        for chunk in iter(lambda: upload.stream.read(1 << 20), b""):
            h.update(chunk)
        sha = h.hexdigest()
    if sha and receipt_result is None and not error:
        if not SHA_RE.match(sha):
            error = _("A SHA-256 is 64 hexadecimal characters.")
            sha = ""
        else:
            matches = lookup_matches(sha)
    # nothing here: say which other state published it rather than suggest tampering
    elsewhere = services.find_in_logs(sha, exclude=tenant.slug) if matches == [] else []
    cp = services.latest_checkpoint()
    ring = services.keyring(tenant, create=False)
    _cp, wcfg, reports = witnessing.witness_reports(tenant)
    status = 400 if error else 200
    return render_template("notary/verify.html", sha=sha, matches=matches, error=error, elsewhere=elsewhere,
                           type_labels={ct.name: ct.label for ct in content_types()},
                           action_names={"publish": _("publication"), "correct": _("correction"),
                                         "retract": _("retraction")},
                           elsewhere_url=portal.state_verify_url,
                           receipt_result=receipt_result, receipt_text=receipt_text, entry_text=entry_text,
                           checkpoint=cp, origin=services.log_origin(tenant), stamp=services.latest_timestamp(),
                           log_vkeys=ring.log_vkeys if ring else [],
                           witness_policy=services.policy_text(tenant),
                           cosigned_by=[r.spec.name for r in reports if r.cosigned_latest],
                           witness_quorum=wcfg.quorum, witness_count=len(wcfg.witnesses)), status


def render_seal(tenant, context: dict):
    """``record_footer`` slot: the "Verificado" seal of a published record version, with the
    receipt and canonical entry downloads. Returns Markup or ``None`` (nothing logged)."""
    pub = context.get("publication")
    record = context.get("record")
    if pub is None and record is not None and getattr(record, "id", None) is not None:
        # templates may pass just the record: use its current published version
        try:
            pub = latest_publication(content_type_for(record).name, record.id)
        except KeyError:
            pub = None
    if pub is None or getattr(pub, "id", None) is None:
        return None
    e, covered = services.entry_with_coverage(pub.id)
    if e is None:
        return None
    return Markup(render_template("notary/seal.html", entry=e, publication=pub, covered=covered))


def open_monitor_alarms(limit: int = 10) -> list:
    """The open :class:`~plugins.notary.models.MonitorAlarm` rows, newest first (at most ``limit``)."""
    return list(db.session.scalars(select(MonitorAlarm).where(MonitorAlarm.resolved_at.is_(None))
                                   .order_by(MonitorAlarm.id.desc()).limit(limit)))


def render_monitor_banner():
    """Dashboard widget: the open monitor alarms (:func:`open_monitor_alarms`) as a warning banner."""
    return Markup(render_template("notary/_monitor_banner.html", alarms=open_monitor_alarms()))
