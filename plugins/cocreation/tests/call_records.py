"""Records of the open call and workshops for the co-creation tests: a published call, a
published table with a session and capacity, and a published workshop with a link material,
created directly with the models (the tables' admin is another module)."""
from __future__ import annotations

import datetime as dt

from comun_cms.toolkit import db, publish, tenant_context, utcnow
from comun_cms.toolkit.testing import get_tenant

from plugins.cocreation import services as svc
from plugins.cocreation.models import Call, CocreationTable, Registration, TableSession, Workshop, WorkshopMaterial


def make_call_records(app, slug: str, process_id: int, *, opens: int = -1, closes: int = 5, capacity: int | None = 3,
                      call_published: bool = True, label: str | None = None) -> dict:
    """Create, in tenant ``slug`` for ``process_id``: a call (registration from ``opens`` to
    ``closes`` days from today; published unless told), a published table (``capacity``) with one
    session, a draft table, a registration, and a published workshop with a link material.
    Returns ``{"call_id", "table_id", "draft_table_id", "session_id", "registration_id",
    "workshop_id", "material_id"}``."""
    label = label or f"exclusivo {slug}"
    tenant = get_tenant(app, slug)
    with tenant_context(tenant):
        today = svc.tenant_today(tenant)
        call = Call(process_id=process_id, title=f"Convocatoria {label}", body=f"Participe en las mesas {label}.",
                    registration_opens=today + dt.timedelta(days=opens),
                    registration_closes=today + dt.timedelta(days=closes))
        table = CocreationTable(process_id=process_id, title=f"Mesa {label}", theme="Transparencia",
                                place="Sala del Comité", capacity=capacity, status="published",
                                published_at=utcnow(), version=1)
        draft = CocreationTable(process_id=process_id, title=f"Mesa borrador {label}", status="draft")
        db.session.add_all([call, table, draft])
        db.session.flush()
        start = (utcnow() + dt.timedelta(days=20)).replace(microsecond=0, second=0)
        session = TableSession(table_id=table.id, starts_at=start, ends_at=start + dt.timedelta(hours=3),
                               place="Auditorio")
        reg = Registration(table_id=table.id, call_id=call.id, name=f"Persona {label}", email=f"persona@{slug}.mx",
                           sector="academia", organization="Universidad", source="call")
        workshop = Workshop(process_id=process_id, title=f"Taller {label}", description="Qué es la **cocreación**.",
                            starts_at=start - dt.timedelta(days=5), ends_at=start - dt.timedelta(days=5, hours=-2),
                            place="Biblioteca")
        db.session.add_all([session, reg, workshop])
        db.session.flush()
        material = WorkshopMaterial(workshop_id=workshop.id, title="Guía", url="https://example.org/guia.pdf")
        db.session.add(material)
        db.session.commit()
        if call_published:
            publish(call)
        publish(workshop)
        return {"call_id": call.id, "table_id": table.id, "draft_table_id": draft.id, "session_id": session.id,
                "registration_id": reg.id, "workshop_id": workshop.id, "material_id": material.id}
