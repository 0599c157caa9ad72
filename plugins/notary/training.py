"""Training exercise of the notary (step 13, "Informe intermedio y final de cumplimiento del Plan
de Acción"): the participant downloads the receipt of a record *they* published in their
workspace and checks it on the verify page (``notary.verify``), without JavaScript if need be.

How "check my work" knows a verification happened: a receipt check is stateless, so when the
verify page's server-side check of a receipt succeeds for a logged-in staff account of a
*training* tenant, :func:`record_verification` adds an :class:`~comun_cms.toolkit.AuditEvent`
(action :data:`VERIFY_ACTION`, the account as actor, the verified entry and its publication in
``after``). Nothing is recorded on the other tenants (citizens' verifications are never
tracked). The core's audit log is used instead of a table of the notary because it already
holds "who did what, when" per tenant, needs no schema change, is shown to the trainer in the
admin's audit log, and a training reset already restores it with the rest of the tenant's rows.

No training scenario: the log fills itself as the scenario is published, so the plugin does not
implement ``training_scenario``.
"""
from __future__ import annotations

from flask_babel import gettext as _
from sqlalchemy import select

from comun_cms.toolkit import (
    AuditEvent, CheckItem, Page, Publication, TrainingTask, db, get_current_tenant, has_role, publish, record_audit,
)
from plugins.notary import services
from plugins.notary.models import Entry
from plugins.notary.tlog import merkle

#: Audit action of a successful receipt check on a training tenant.
VERIFY_ACTION = "notary.receipt.verify"
STEP = 13
KEY = "notary.verify_receipt"


def record_verification(tenant, user, result: dict):
    """Record that ``user`` verified a receipt successfully on the training tenant ``tenant``
    (the current tenant). Adds to the session, does not commit.

    Args:
        tenant: the current tenant; nothing is recorded unless ``tenant.training``.
        user: the account that verified; nothing is recorded for anonymous visitors nor for
            accounts without a role in ``tenant``.
        result: a successful result of :func:`plugins.notary.services.verify_receipt_text`
            (``ok``, ``index``, ``size``, ``witnesses``, ``entry`` bytes).
    Returns:
        The new :class:`~comun_cms.toolkit.AuditEvent`, or ``None`` when nothing was recorded
        (not a training tenant, not staff, failed check, or the verified entry is not the
        entry the log holds at that index).
    """
    if tenant is None or not tenant.training or not result.get("ok"):
        return None
    if user is None or not getattr(user, "is_authenticated", False) or not has_role(tenant=tenant, user=user):
        return None
    entry = services.entry_at(result["index"])
    if entry is None or entry.leaf_hash != merkle.leaf_hash(result["entry"]).hex():
        return None
    return record_audit(VERIFY_ACTION, "notary_entry", entry.index, None, {
        "index": entry.index, "publication_id": entry.publication_id, "content_type": entry.content_type,
        "record_id": entry.record_id, "version": entry.version, "leaf_hash": entry.leaf_hash,
        "checkpoint_size": result.get("size"), "witnesses": list(result.get("witnesses") or []),
    }, user=user)


def _own_publication_ids(participant) -> set[int]:
    if not participant.user_ids:
        return set()
    return set(db.session.scalars(select(Publication.id).where(
        Publication.published_by_id.in_(participant.user_ids))))


def _verified_publication_ids(participant) -> set[int]:
    if not participant.user_ids:
        return set()
    events = db.session.scalars(select(AuditEvent).where(
        AuditEvent.action == VERIFY_ACTION, AuditEvent.user_id.in_(participant.user_ids)))
    return {ev.after.get("publication_id") for ev in events if isinstance(ev.after, dict)}


def check(participant) -> list:
    """"Check my work": the participant published something in the workspace, and a receipt
    of one of *their* publications was verified on the verify page by one of their accounts
    (receipts of scenario records or of other people's records do not count).

    Args:
        participant: :class:`comun_cms.toolkit.Participant`; runs in the workspace's tenant context.
    Returns:
        Two :class:`comun_cms.toolkit.CheckItem`.
    """
    own = _own_publication_ids(participant)
    verified = bool(own & _verified_publication_ids(participant))
    return [
        CheckItem(_("You published a record in your workspace"), bool(own),
                  _("Publish any record first, for example a page: Admin → Pages → New page, save the "
                    "draft and publish it.")),
        CheckItem(_("You verified the receipt of one of your publications"), verified,
                  _("Open the public page of a record you published (the page's \"Public address\"), "
                    "download the receipt (.tlog-proof) and the log entry (.json) from its \"Verified\" "
                    "seal, then choose both files on the site's Verify page and press \"Check receipt\".")),
    ]


def _free_slug(base: str) -> str:
    slug, n = base, 1
    while db.session.scalar(select(Page.id).where(Page.slug == slug)) is not None:
        n += 1
        slug = f"{base}-{n}"
    return slug


def solve(participant) -> None:
    """Model answer: publish a page as ``participant.editor`` if they have published nothing
    yet, then verify the receipt of their newest logged publication as the verify page does and
    record it as the editor. Adds and flushes only (the caller commits).

    Witness cosignatures are gathered only after a commit, so a checkpoint signed in this
    transaction has none: when the tenant's policy (witness quorum) rejects the receipt for
    that reason, the receipt is checked with the log's own keys (signature and inclusion proof,
    ``quorum none``).

    Raises:
        ValueError: the participant has no editor account.
        RuntimeError: the receipt does not verify, or the verification was not recorded.
    """
    editor = participant.editor
    if editor is None:
        raise ValueError("the participant has no editor account")
    tenant = get_current_tenant()
    entry = None
    if participant.user_ids:
        entry = db.session.scalar(select(Entry).join(Publication, Publication.id == Entry.publication_id)
                                  .where(Publication.published_by_id.in_(participant.user_ids))
                                  .order_by(Entry.index.desc()).limit(1))
    if entry is None:
        page = Page(slug=_free_slug("informe-de-cumplimiento"), title="Informe de cumplimiento del Plan de Acción",
                    summary="Informe intermedio de cumplimiento de los compromisos del Plan de Acción.",
                    body="Informe intermedio de cumplimiento del Plan de Acción: avance de cada compromiso.\n",
                    section="", language="es")
        db.session.add(page)
        pub = publish(page, user=editor, commit=False)
        entry = services.entry_for_publication(pub.id)
    if entry is None:
        raise RuntimeError("the publication is not in the notary log")
    receipt = services.receipt_for(entry.index)
    if receipt is None:
        services.sign_checkpoint(tenant)
        receipt = services.receipt_for(entry.index)
    receipt_text = receipt.decode("utf-8")
    result = services.verify_receipt_text(tenant, receipt_text, entry.entry)
    if not result["ok"]:
        result = services.verify_receipt_text(tenant, receipt_text, entry.entry,
                                              policy=services.log_only_policy(tenant))
    if not result["ok"]:
        raise RuntimeError(f"the receipt of entry {entry.index} does not verify: {result['error']}")
    if record_verification(tenant, editor, result) is None:
        raise RuntimeError("the verification was not recorded (is the tenant a training tenant?)")
    db.session.flush()


def training_tasks() -> list:
    """The notary's training tasks: :data:`KEY` (step 13).

    Returns:
        ``[TrainingTask]``.
    """
    return [TrainingTask(
        step=STEP, key=KEY,
        title="Verifique la constancia de una publicación suya",
        goals=(
            "Comprobar por su cuenta que lo que publicó (por ejemplo, el informe de cumplimiento del "
            "Plan de Acción) está en la bitácora pública de transparencia del sitio, firmado y sin cambios.",
            "Conocer la constancia (.tlog-proof) que cualquier persona puede descargar y comprobar.",
        ),
        steps=(
            "Si aún no ha publicado nada en su espacio, entre a Administración → Páginas, cree una página "
            "nueva (por ejemplo, su informe de cumplimiento), guarde el borrador y publíquela.",
            "En la página de edición, abra su «Dirección pública».",
            "Al pie de la página pública, en el sello «Verificado», descargue la constancia (.tlog-proof) y la "
            "entrada de la bitácora (JSON canónico).",
            "Abra «Verificar» en el menú del sitio; en «Comprobar una constancia» elija los dos archivos (o "
            "pegue su texto) y pulse «Comprobar constancia».",
            "Debe aparecer «Coincidencia (comprobado por el servidor)». Luego abra «Revisar mi trabajo» de "
            "este ejercicio.",
        ),
        check=check, solve=solve, start_endpoint="admin.pages",
    )]
