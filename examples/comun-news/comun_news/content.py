"""The ``news_item`` content type: how an item is frozen at publication, titled, linked and
indexed."""
from __future__ import annotations

from flask import url_for
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from comun_cms.toolkit import ContentType, db, plain_text, search_document_for
from comun_news.models import NewsItem


def serialize(item: NewsItem) -> dict:
    """Public content of an item, frozen as canonical JSON when it is published."""
    return {"title": item.title, "summary": item.summary, "body": item.body}


def search_document(item: NewsItem) -> dict:
    """Search fields of a published item."""
    return {"title": item.title, "body": f"{item.summary} {plain_text(item.body)}".strip(),
            "status": "published", "date": item.published_at}


ITEM_TYPE = ContentType(
    name="news_item", plugin="news", model=NewsItem,
    label=_l("Communiqué"), label_plural=_l("Communiqués"),
    serialize=serialize, title=lambda item: item.title,
    url=lambda item: url_for("news.item", tenant=item.tenant_id, item_id=item.id),
    search_document=search_document,
    admin_url=lambda item: url_for("admin_news.index", tenant=item.tenant_id),
)


def search_documents(tenant):
    """Every published item of the current tenant as a search document (full reindex)."""
    for item in db.session.scalars(select(NewsItem).where(NewsItem.status == "published")):
        doc = search_document_for(ITEM_TYPE, item, tenant)
        if doc is not None:
            yield doc


def sample_record(content_type, tenant, marker: str) -> NewsItem:
    """An unsaved draft item whose title and body contain ``marker`` (conformance kit)."""
    return NewsItem(title=f"Ejemplo {marker}", summary=f"Resumen {marker}", body=f"Texto {marker}")


DEMO = (
    ("Convocatoria a la sesión ordinaria del Secretariado Técnico Local",
     "Se invita a integrantes y público a la próxima sesión del STL.",
     "La sesión será pública y se transmitirá en línea. El orden del día se publicará con anticipación."),
    ("Resultados del ejercicio de cocreación",
     "Resumen de las propuestas recibidas en las mesas de cocreación.",
     "Las propuestas se integrarán al plan de acción local después de su revisión por el STL."),
)


def load_demo(tenant, ctx) -> int:
    """``demo_data``: publish two invented communiqués (``is_demo=True``) once. Returns how many
    were created."""
    created = 0
    for title, summary, body in DEMO:
        if db.session.scalar(select(NewsItem.id).where(NewsItem.title == title)) is not None:
            continue
        item = NewsItem(title=title, summary=summary, body=body, is_demo=True)
        db.session.add(item)
        ctx.publish(item)
        created += 1
        ctx.log(f"  {tenant.slug}: communiqué “{title}” (Dato de ejemplo)")
    return created
