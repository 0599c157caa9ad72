"""Sample records for the conformance kit (:func:`comun_cms.toolkit.testing.check_plugin`).

``sample_record(content_type, tenant, marker)`` returns a **draft** record of one of the
plugin's content types in the current tenant whose public text contains ``marker``. Parents
are made with the plugin's services: one published sample body per tenant (created once and
reused) and a fresh draft session for each session, agreement and call sample, numbered with
:func:`~plugins.stl_minutes.services.suggest_number` so repeated calls never clash with the
unique constraints (session number, agreement key, one call per session). Nothing is
committed here (the kit adds the record and commits).
"""
from __future__ import annotations

from sqlalchemy import select

from comun_cms.toolkit import db

from . import services
from .models import Body, Call, Session

#: Name of the published body that sample sessions, agreements and calls belong to.
PARENT_BODY_NAME = "Órgano colegiado de ejemplo (kit de conformidad)"


def parent_body() -> Body:
    """The tenant's published sample body (created and published once)."""
    body = db.session.scalar(select(Body).where(Body.name == PARENT_BODY_NAME))
    if body is None:
        body = Body(kind="stl", name=PARENT_BODY_NAME, short_name="Ejemplo", key_prefix="CNF-EJ",
                    description="Órgano de ejemplo del kit de conformidad.")
        db.session.add(body)
        db.session.flush()
    if body.status == "draft":
        services.publish_body(body)
    return body


def draft_session(tenant, marker: str) -> Session:
    """A new draft session (regular, next free number, dated today) of the sample body whose
    place, summary and agenda contain ``marker``."""
    body = parent_body()
    session = Session(body=body, body_id=body.id, kind="regular", number=services.suggest_number(body.id, "regular"),
                      session_date=services.tenant_today(tenant), modality="in_person",
                      place=f"Sala de ejemplo {marker}", summary=f"Resumen de ejemplo {marker}")
    db.session.add(session)
    db.session.flush()
    services.add_agenda_item(session, "informative", f"Asunto de ejemplo {marker}")
    db.session.flush()
    return session


def sample_record(content_type, tenant, marker: str):
    """Draft ``stl_body``, ``stl_session``, ``stl_agreement`` or ``stl_call`` containing
    ``marker`` (conformance kit). ``content_type`` is a ContentType or its name."""
    name = getattr(content_type, "name", content_type)
    if name == "stl_body":
        return Body(kind="stl", name=f"Órgano de ejemplo {marker}", short_name=marker[:60],
                    description=f"Descripción de ejemplo {marker}")
    if name == "stl_session":
        return draft_session(tenant, marker)
    if name == "stl_agreement":
        session = draft_session(tenant, "")
        return services.add_agreement(tenant, session, text=f"Acuerdo de ejemplo {marker}",
                                      owner=f"Responsable de ejemplo {marker}")
    if name == "stl_call":
        return Call(session=draft_session(tenant, marker))
    raise LookupError(f"stl_minutes has no content type '{name}'")
