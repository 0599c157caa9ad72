"""Bulk entry of STL members (``admin_stl_minutes.members_import``): a pasted or uploaded
table, previewed, stored all-or-nothing, one correction of a published body for all rows."""
from __future__ import annotations

import html as html_lib
import io
import json

from openpyxl import Workbook
from sqlalchemy import func, select

from comun_cms.toolkit import AuditEvent, Publication, db, history

from plugins.stl_minutes.models import Member

from .conftest import within

TABLE = ("Nombre\tInstitución\tSector\tCalidad\tInicio del periodo\tCorreo\n"
         "Irma Nueva\tOSC Tres\tSociedad civil\tTitular\t2024-03-01\tirma@example.org\n"
         "Jorge Nuevo\tUniversidad\tacademia\tsuplente\t15/03/2024\t\n"
         "Karla Nueva\tCámara\tPrivate sector\t\t\t\n")


def url(body_id: int) -> str:
    return f"/edomex/admin/actas/organos/{body_id}/integrantes/importar"


def members(app, body_id) -> list[Member]:
    db.session.expire_all()
    with within(app):
        return list(db.session.scalars(select(Member).where(Member.body_id == body_id).order_by(Member.position)))


def corrections(app, body_id) -> int:
    with within(app):
        return len([p for p in history("stl_body", body_id) if p.action == "correct"])


def test_preview_then_add_several_members_in_one_correction(app, client, login_as, stl):
    body_id = stl.body.id
    login_as("editor")
    assert client.get(url(body_id)).status_code == 200
    preview = client.post(url(body_id), data={"table": TABLE, "preview": "1"})
    html = preview.get_data(as_text=True)
    assert preview.status_code == 200
    assert "Preview: 3 rows" in html and "Irma Nueva" in html and "Add the 3 members" in html
    assert len(members(app, body_id)) == 8  # a preview stores nothing

    # the body is published: the reason is required, and nothing is added without it
    refused = client.post(url(body_id), data={"table": TABLE, "confirm": "1"})
    assert refused.status_code == 422 and len(members(app, body_id)) == 8 and corrections(app, body_id) == 0

    done = client.post(url(body_id), data={"table": TABLE, "confirm": "1", "reason": "Altas de la sesión 5"})
    assert done.status_code == 303
    added = members(app, body_id)[8:]
    assert [(m.name, m.sector, m.capacity, m.term_start and m.term_start.isoformat(), m.email) for m in added] == [
        ("Irma Nueva", "civil_society", "member", "2024-03-01", "irma@example.org"),
        ("Jorge Nuevo", "academia", "alternate", "2024-03-15", ""),
        ("Karla Nueva", "private", "member", None, "")]
    assert corrections(app, body_id) == 1
    with within(app):
        [*_, last] = history("stl_body", body_id)
        assert last.reason == "Altas de la sesión 5"
        names = [m["name"] for m in json.loads(last.canonical_json)["content"]["members"]]
        assert names[-3:] == ["Irma Nueva", "Jorge Nuevo", "Karla Nueva"]
        [event] = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "stl_member.import")).all()
        assert event.after["added"] == ["Irma Nueva", "Jorge Nuevo", "Karla Nueva"]


def test_bad_rows_add_nothing_and_name_the_rows(app, client, login_as, stl):
    body_id = stl.body.id
    login_as("editor")
    table = TABLE + "\tSin nombre\tgobierno\n" + "Luz Mala\tX\tmarciano\tTitular\t2024-13-45\tluz@\n"
    response = client.post(url(body_id), data={"table": table, "confirm": "1", "reason": "Altas"})
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "Rows with problems: 5, 6." in html
    assert "Nombre: the name is required." in html
    assert "Sector: “marciano” is not one of" in html
    assert "Inicio del periodo: “2024-13-45” is not a date" in html
    assert "Correo: “luz@” is not an e-mail address." in html
    assert "Add the" not in html  # no confirmation button while rows have problems
    assert len(members(app, body_id)) == 8 and corrections(app, body_id) == 0


def test_a_bad_header_is_explained(app, client, login_as, stl):
    login_as("editor")
    response = client.post(url(stl.body.id), data={"table": "Nombre\tEdad\nAna\t30\n", "preview": "1"})
    assert response.status_code == 422 and "Unknown column “Edad” in row 1" in response.get_data(as_text=True)


def test_an_uploaded_workbook_is_previewed_and_carried_to_the_confirmation(app, client, login_as, stl):
    wb = Workbook()
    ws = wb.active
    ws.append(["Name", "Institution", "Sector", "Capacity"])
    ws.append(["Mario Excel", "Colegio", "Academia", "Guest"])
    buffer = io.BytesIO()
    wb.save(buffer)
    login_as("editor")
    preview = client.post(url(stl.body.id), data={"file": (io.BytesIO(buffer.getvalue()), "altas.xlsx"), "preview": "1"},
                          content_type="multipart/form-data")
    html = preview.get_data(as_text=True)
    assert preview.status_code == 200 and "Mario Excel" in html
    # the table travels as text in the form, so the confirmation needs no file
    assert "Nombre\tInstitución" in html.replace("&#9;", "\t")
    text = html.split('name="table"', 1)[1].split(">", 1)[1].split("</textarea>", 1)[0]
    done = client.post(url(stl.body.id), data={"table": html_lib.unescape(text), "confirm": "1", "reason": "Alta"})
    assert done.status_code == 303
    assert members(app, stl.body.id)[-1].name == "Mario Excel" and members(app, stl.body.id)[-1].capacity == "guest"


def test_a_draft_body_needs_no_reason_and_another_tenant_gets_404(app, client, login_as):
    from .conftest import make_body
    with within(app):
        draft = make_body("Comité de prueba", publish=False, members=())
        draft_id = draft.id
    with within(app, "puebla"):
        foreign_id = make_body("Órgano de Puebla", publish=False, members=()).id
    login_as("editor")
    assert client.post(url(draft_id), data={"table": TABLE, "confirm": "1"}).status_code == 303
    assert len(members(app, draft_id)) == 3
    with within(app):
        assert db.session.scalar(select(func.count()).select_from(Publication)) == 0
    assert client.post(url(foreign_id), data={"table": TABLE, "confirm": "1"}).status_code == 404
    assert client.get(url(foreign_id)).status_code == 404
