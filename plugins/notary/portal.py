"""The cross-state verify page (blueprint ``portal_notary``, mounted at ``/verificar`` on the
portal): search a SHA-256, typed or computed from a chosen file, in the log of every state and
say in which state(s) it was found, with a link to that state's verify page, which checks the
inclusion proof and the signatures (in the browser too).

Without JavaScript the chosen file is sent and hashed on the server (it is not stored). Only
published versions are in the logs, so this is a cross-tenant read of public data
(:func:`plugins.notary.services.find_in_logs`).
"""
from __future__ import annotations

import hashlib

from flask import Blueprint, render_template, request, url_for
from flask_babel import gettext as _
from markupsafe import Markup

from plugins.notary import services

bp = Blueprint("portal_notary", __name__, url_prefix="/verificar", template_folder="templates")


def file_sha256(stream, chunk: int = 1 << 20) -> str:
    """Hex SHA-256 of a binary stream, read in ``chunk``-byte pieces (nothing kept)."""
    h = hashlib.sha256()
    for piece in iter(lambda: stream.read(chunk), b""):
        h.update(piece)
    return h.hexdigest()


def state_verify_url(slug: str, sha: str) -> str:
    """URL of state ``slug``'s verify page with the results for ``sha``."""
    return url_for("notary.verify", tenant=slug, sha256=sha) + "#notary-results"


@bp.route("/", methods=["GET", "POST"], strict_slashes=False)
def verify():
    """Search ``sha256`` (GET or POST) or the SHA-256 of the POSTed ``file`` in every state's
    log. Answers 200 with the states where it was found (or a "found nowhere" notice), 400 with
    a message naming the field when the SHA-256 is malformed."""
    sha = (request.values.get("sha256") or "").strip().lower()
    upload = request.files.get("file")
    if upload is not None and upload.filename:
        sha = file_sha256(upload.stream)
    error = None
    hits = None
    if sha:
        if services.SHA256_RE.match(sha):
            hits = services.find_in_logs(sha)
        else:
            error = _("SHA-256: enter 64 hexadecimal characters (0-9, a-f).")
    return render_template("notary/portal_verify.html", sha=sha, hits=hits, error=error,
                           verify_url=state_verify_url), 400 if error else 200


def render_portal_widget() -> Markup:
    """Portal home widget (``portal_widgets``): a SHA-256 search box for every state's log."""
    return Markup(render_template("notary/_portal_widget.html"))
