"""CSV round trip: export, preview, apply; bad rows rejected with line, column and message, and
nothing changed."""
from __future__ import annotations

import datetime as dt
import hashlib
import io
import json

import pytest
from sqlalchemy import func, select

from comun_cms.toolkit import AuditEvent, Publication, db, tenant_context
from comun_cms.toolkit.testing import get_tenant

from plugins.action_plans import csv_io
from plugins.action_plans.models import ActionPlan, Commitment, Milestone

D = dt.date


@pytest.fixture
def plan_id(make_plan):
    """A published plan in edomex with two commitments (dated) and two milestones each."""
    return make_plan(title="Plan CSV", valid_from=D(2024, 1, 1), valid_until=D(2024, 12, 31), commitments=[
        {"title": "Datos abiertos", "start_date": D(2024, 1, 1), "end_date": D(2024, 12, 31),
         "milestones": [("Diagnóstico", 40, "completed", 100, D(2024, 1, 1), D(2024, 2, 28)),
                        ("Publicación", 60, "started", 50, D(2024, 3, 1), D(2024, 6, 30))]},
        {"title": "Contraloría social", "progress_status": "not_started",
         "milestones": [("Capacitación", 50, "not_started", 0, None, None),
                        ("Comités", 50, "not_started", 0, None, None)]},
    ])


def export(client, plan_id, sep=None, language="en") -> str:
    """The plan's export; these tests edit the English codes (``?idioma=en``); the tenant's
    own language (Spanish for edomex) is tested below."""
    url = f"/edomex/admin/planes-de-accion/{plan_id}/exportar.csv?idioma={language}" + ("&sep=semicolon" if sep else "")
    response = client.get(url)
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/csv")
    return response.get_data().decode("utf-8")


def edit(text: str, replacements: list[tuple[str, str]]) -> str:
    for old, new in replacements:
        assert old in text, old
        text = text.replace(old, new, 1)
    return text


def upload(client, plan_id, data: bytes, filename="plan.csv"):
    return client.post(f"/edomex/admin/planes-de-accion/{plan_id}/importar",
                       data={"file": (io.BytesIO(data), filename)}, content_type="multipart/form-data")


def apply(client, plan_id, sha: str, reason="Actualización del avance en sesión del STL"):
    return client.post(f"/edomex/admin/planes-de-accion/{plan_id}/importar/aplicar", data={"sha256": sha, "reason": reason})


def state(app, plan_id) -> dict:
    """Every commitment's and milestone's editable values plus publication counts."""
    with tenant_context(get_tenant(app, "edomex")):
        db.session.expire_all()
        plan = db.session.scalar(select(ActionPlan).where(ActionPlan.id == plan_id))
        out = {"pubs": db.session.scalar(select(func.count()).select_from(Publication))}
        for c in plan.commitments:
            out[c.number] = (c.title, c.progress_status, c.progress, c.start_date, c.end_date, c.version,
                             [(m.number, m.description, m.weight, m.progress_status, m.progress, m.start_date, m.end_date)
                              for m in c.milestones])
        return out


def test_export_has_one_row_per_commitment_and_milestone(client, login, plan_id):
    login("editor")
    text = export(client, plan_id)
    assert text.startswith("\ufeff" + ",".join(csv_io.COLUMNS))
    lines = text.strip("\ufeff").strip().split("\r\n")
    assert len(lines) == 1 + 2 + 4
    assert lines[1].startswith("commitment,1,1,,,Datos abiertos,")
    assert "milestone,1,1,2,,Publicación,,2024-03-01,2024-06-30,started,50,,60," in text
    semicolons = export(client, plan_id, sep=True)
    assert semicolons.splitlines()[0].count(";") == len(csv_io.COLUMNS) - 1


def test_round_trip_preview_then_apply_publishes_corrections(app, client, login, plan_id):
    login("editor")
    before = state(app, plan_id)
    text = edit(export(client, plan_id), [
        ("milestone,1,1,2,,Publicación,,2024-03-01,2024-06-30,started,50,",
         "milestone,1,1,2,,Publicación,,2024-03-01,2024-06-30,completed,100,"),
        ("milestone,1,2,1,,Capacitación,,,,not_started,0,", "milestone,1,2,1,,Capacitación,,,,started,30,"),
        ("commitment,1,2,,,Contraloría social,,,,not_started,0,", "commitment,1,2,,,Contraloría social,,,,started,0,"),
    ])
    data = text.encode("utf-8")
    response = upload(client, plan_id, data)
    html = response.get_data(as_text=True)
    assert response.status_code == 200, html
    assert "Preview" in html or "Vista previa" in html
    assert state(app, plan_id) == before  # the preview changes nothing
    sha = hashlib.sha256(data).hexdigest()
    assert f'value="{sha}"' in html
    response = apply(client, plan_id, sha)
    assert response.status_code == 303, response.get_data(as_text=True)
    after = state(app, plan_id)
    c1, c2 = after[1], after[2]
    assert c1[2] == 100.0 and c1[5] == 2           # 40 % + 60 % done; a second version
    assert c2[1] == "started" and c2[2] == 15.0 and c2[5] == 2  # 50 % x 30 %
    assert after["pubs"] == before["pubs"] + 3      # two commitments and the plan
    with tenant_context(get_tenant(app, "edomex")):
        pub = db.session.scalars(select(Publication).where(Publication.content_type == "commitment")
                                 .order_by(Publication.id.desc())).first()
        assert pub.action == "correct" and pub.reason == "Actualización del avance en sesión del STL"
        content = json.loads(pub.canonical_json)["content"]
        assert [m["progress_status"] for m in content["milestones"]] == ["started", "not_started"]
        plan_pub = db.session.scalars(select(Publication).where(Publication.content_type == "action_plan")
                                      .order_by(Publication.version.desc())).first()
        assert json.loads(plan_pub.canonical_json)["content"]["progress"] == 57.5
        assert db.session.scalar(select(func.count()).select_from(AuditEvent)
                                 .where(AuditEvent.action == "action_plan.import")) == 1
    # the stored file is gone and cannot be applied twice
    assert apply(client, plan_id, sha).status_code == 303
    assert state(app, plan_id) == after


def test_excel_spanish_semicolons_bom_and_dd_mm_yyyy_are_accepted(app, client, login, plan_id):
    login("editor")
    text = export(client, plan_id, sep=True)
    text = text.replace("2024-03-01", "01/03/2024").replace("2024-06-30", "15/07/2024")
    text = text.replace(";Publicación;;01/03/2024;15/07/2024;started;50;", ";Publicación;;01/03/2024;15/07/2024;started;62,5;")
    data = text.encode("utf-8")
    assert data.startswith(b"\xef\xbb\xbf")
    response = upload(client, plan_id, data, "plan-excel.csv")
    html = response.get_data(as_text=True)
    assert response.status_code == 200, html
    assert "semicolon" in html or "punto y coma" in html
    assert apply(client, plan_id, hashlib.sha256(data).hexdigest()).status_code == 303
    c1 = state(app, plan_id)[1]
    assert c1[6][1][4] == 62.5 and c1[6][1][6] == D(2024, 7, 15)
    assert c1[2] == pytest.approx(40 + 0.6 * 62.5)


def test_utf8_without_bom_is_accepted(app, client, login, plan_id):
    login("editor")
    text = export(client, plan_id).lstrip("\ufeff").replace("Capacitación", "Capacitación a comités")
    response = upload(client, plan_id, text.encode("utf-8"))
    assert response.status_code == 200
    assert "Capacitación a comités" in response.get_data(as_text=True)


BAD_CASES = [
    # (description, replacements, expected fragments of the message: line, column, problem)
    ("wrong status", [("not_started,0,,50,", "terminado,0,,50,")], ["Line 6", "status", "terminado", "not a status"]),
    ("bad date", [("2024-06-30", "2024-02-31")], ["Line 4", "end_date", "2024-02-31", "not a valid date"]),
    ("retracted or unknown commitment", [("milestone,1,2,2,", "milestone,1,7,2,")], ["Line 7", "commitment", "no commitment 7"]),
    ("weights not 100", [("2024-06-30,started,50,,60,", "2024-06-30,started,50,,50,")],
     ["Line 3", "weight", "add up to 90", "not 100"]),
    ("status backwards without reason", [("2024-02-28,completed,100,", "2024-02-28,started,100,")],
     ["Line 3", "status", "backwards"]),
    ("progress against status", [("2024-02-28,completed,100,", "2024-02-28,completed,80,")],
     ["Line 3", "progress", "100 %"]),
    ("end before start", [("2024-03-01,2024-06-30", "2024-07-01,2024-06-30")], ["Line 4", "end_date", "before the start"]),
    ("outside the commitment", [("2024-03-01,2024-06-30", "2024-03-01,2025-01-15")],
     ["Line 4", "end_date", "after the end of the commitment"]),
    ("wrong plan", [("milestone,1,1,1,", "milestone,9,1,1,")], ["Line 3", "plan", "plan 9"]),
    ("unknown column", [("status_correction", "comentarios")], ["Line 1", "comentarios", "unknown column"]),
    ("record type", [("milestone,1,2,1,", "tarea,1,2,1,")], ["Line 6", "record", "tarea"]),
    ("duplicate milestone", [("milestone,1,2,2,", "milestone,1,2,1,")], ["Line 7", "milestone", "appears twice"]),
    ("verified without verifier", [("commitment,1,1,,,Datos abiertos,,2024-01-01,2024-12-31,started,",
                                    "commitment,1,1,,,Datos abiertos,,2024-01-01,2024-12-31,verified,"),
                                   ("2024-06-30,started,50,", "2024-06-30,completed,100,")],
     ["Line 2", "verified_by", "who verified"]),
    ("status against the milestones", [("commitment,1,1,,,Datos abiertos,,2024-01-01,2024-12-31,started,",
                                        "commitment,1,1,,,Datos abiertos,,2024-01-01,2024-12-31,completed,")],
     ["Line 2", "status", "follows from them", "Started"]),
    ("milestone before its new commitment", [("milestone,1,2,2,", "milestone,1,8,2,")],
     ["Line 7", "commitment", "no commitment 8", "before its milestones"]),
    ("new commitment without title", [("commitment,1,2,,,Contraloría social,", "commitment,1,3,,,,")],
     ["Line 5", "title", "cannot be empty"]),
    ("manual progress without reason", [("commitment,1,2,,,Contraloría social,,,,not_started,0,",
                                         "commitment,1,2,,,Contraloría social,,,,not_started,35,")],
     ["Line 5", "progress", "computed from its milestones"]),
]


def test_bad_rows_are_rejected_with_line_column_and_message_and_nothing_changes(app, client, login, plan_id, english):
    login("editor")
    before = state(app, plan_id)
    exported = export(client, plan_id)
    for name, replacements, fragments in BAD_CASES:
        text = edit(exported, replacements)
        response = upload(client, plan_id, text.encode("utf-8"))
        html = response.get_data(as_text=True)
        assert response.status_code == 422, (name, html)
        summary = html.split('id="import-errors"', 1)[1].split("</div>", 1)[0]
        for fragment in fragments:
            assert fragment in summary, (name, fragment, summary)
        assert "nothing was changed" in summary, name
        assert 'name="sha256"' not in html, name  # no way to apply
        assert state(app, plan_id) == before, name


def test_errors_on_several_rows_are_all_reported(app, login, plan_id, client, english):
    login("editor")
    text = edit(export(client, plan_id), [("not_started,0,,50,", "terminado,0,,50,"), ("2024-06-30", "30-30-2024"),
                                          ("milestone,1,2,2,", "milestone,1,5,2,")])
    with app.test_request_context(), tenant_context(get_tenant(app, "edomex")):
        plan = db.session.scalar(select(ActionPlan).where(ActionPlan.id == plan_id))
        analysis = csv_io.analyze(plan, text.lstrip("\ufeff"), get_tenant(app, "edomex"))
        found = {(e.line, e.column) for e in analysis.errors}
    assert {(6, "status"), (4, "end_date"), (7, "commitment")} <= found


def test_latin1_file_is_rejected_with_a_clear_message(app, client, login, plan_id, english):
    login("editor")
    before = state(app, plan_id)
    data = export(client, plan_id).lstrip("\ufeff").encode("latin-1")
    response = upload(client, plan_id, data)
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    summary = html.split('id="import-errors"', 1)[1].split("</div>", 1)[0]
    assert "not UTF-8" in summary and "CSV UTF-8" in summary and "Line 3" in summary and "0xF3" in summary
    assert state(app, plan_id) == before


def test_utf16_and_empty_files_are_rejected(app, client, login, plan_id, english):
    login("editor")
    text = export(client, plan_id)
    response = upload(client, plan_id, text.encode("utf-16"))
    assert response.status_code == 422 and "UTF-16" in response.get_data(as_text=True)
    response = upload(client, plan_id, b"")
    assert response.status_code == 422


def test_apply_trusts_the_server_copy_not_the_client(app, client, login, plan_id, english):
    login("editor")
    before = state(app, plan_id)
    text = edit(export(client, plan_id), [("Capacitación", "Capacitación de enlaces")])
    data = text.encode("utf-8")
    assert upload(client, plan_id, data).status_code == 200
    # another hash (e.g. a forged form) is refused
    forged = hashlib.sha256(b"otro contenido").hexdigest()
    response = apply(client, plan_id, forged)
    assert response.status_code == 303 and response.headers["Location"].endswith("/importar")
    assert state(app, plan_id) == before
    # the stored file was tampered with on disk: its hash no longer matches, refused
    sha = hashlib.sha256(data).hexdigest()
    path = app.instance_path + f"/action_plans_imports/edomex/{sha}.csv"
    with open(path, "ab") as fh:
        fh.write(b"milestone,1,1,3,,Extra,,,,not_started,0,,10,,,,,,\r\n")
    assert apply(client, plan_id, sha).status_code == 303
    assert state(app, plan_id) == before


def test_apply_validates_again_against_the_current_data(app, client, login, plan_id, english):
    login("editor")
    text = edit(export(client, plan_id), [("2024-02-28,completed,100,", "2024-02-28,completed,100,")])
    text = text.replace("Publicación,,2024-03-01,2024-06-30,started,50,", "Publicación,,2024-03-01,2024-06-30,started,70,")
    data = text.encode("utf-8")
    assert upload(client, plan_id, data).status_code == 200
    # meanwhile somebody completes milestone 1.2 in the admin: the previewed file is now a step back
    with tenant_context(get_tenant(app, "edomex")):
        m = db.session.scalar(select(Milestone).join(Commitment).where(Commitment.number == 1, Milestone.number == 2))
        m.progress_status, m.progress = "completed", 100.0
        db.session.commit()
    before = state(app, plan_id)
    response = apply(client, plan_id, hashlib.sha256(data).hexdigest())
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "backwards" in html and "Line 4" in html
    assert state(app, plan_id) == before


def test_published_changes_need_a_reason(app, client, login, plan_id, english):
    login("editor")
    before = state(app, plan_id)
    text = edit(export(client, plan_id), [("Capacitación", "Capacitación de enlaces")])
    data = text.encode("utf-8")
    assert upload(client, plan_id, data).status_code == 200
    response = apply(client, plan_id, hashlib.sha256(data).hexdigest(), reason="")
    assert response.status_code == 422
    assert "explain the reason" in response.get_data(as_text=True)
    assert state(app, plan_id) == before


def test_status_correction_backwards_and_manual_progress_and_new_milestone(app, client, login, plan_id):
    login("editor")
    text = edit(export(client, plan_id), [
        ("2024-02-28,completed,100,,40,", "2024-02-28,started,80,,30,"),
        ("commitment,1,2,,,Contraloría social,,,,not_started,0,,", "commitment,1,2,,,Contraloría social,,,,not_started,35,Acuerdo del STL,"),
    ])
    lines = text.rstrip("\r\n").split("\r\n")
    lines[2] = lines[2].rstrip(",") + ",,,,,,Se capturó como concluido por error"
    lines[2] = lines[2] if lines[2].count(",") == len(csv_io.COLUMNS) - 1 else lines[2]
    lines.insert(4, "milestone,1,1,3,,Tablero público,,2024-07-01,2024-12-31,not_started,,,10,Tablero,,,,,")
    text = "\r\n".join(lines) + "\r\n"
    with app.test_request_context(), tenant_context(get_tenant(app, "edomex")):
        plan = db.session.scalar(select(ActionPlan).where(ActionPlan.id == plan_id))
        analysis = csv_io.analyze(plan, text.lstrip("\ufeff"), get_tenant(app, "edomex"))
        assert analysis.ok, [str(e) for e in analysis.errors]
        assert any(ch.is_new for ch in analysis.changes)
        csv_io.apply(plan, text.lstrip("\ufeff"), get_tenant(app, "edomex"), "Corrección acordada", None)
        db.session.commit()
    after = state(app, plan_id)
    c1 = after[1]
    assert [m[3] for m in c1[6]] == ["started", "started", "not_started"]
    assert c1[2] == pytest.approx((30 * 80 + 60 * 50 + 10 * 0) / 100)
    assert after[2][2] == 35.0


# --------------------------------------------------------------------------- issue 15, defect 4
def upload_form(client, plan_id, data: bytes, remove=False):
    form = {"file": (io.BytesIO(data), "plan.csv")}
    if remove:
        form["remove_absent"] = "y"
    return client.post(f"/edomex/admin/planes-de-accion/{plan_id}/importar", data=form,
                       content_type="multipart/form-data")


def spanish(client):
    with client.session_transaction() as sess:
        sess["lang"] = "es_MX"


def test_export_uses_the_tenants_language_and_both_languages_import(app, client, login, plan_id):
    login("editor")
    text = export(client, plan_id, language=None) if False else client.get(
        f"/edomex/admin/planes-de-accion/{plan_id}/exportar.csv").get_data().decode("utf-8")
    header = text.lstrip("\ufeff").split("\r\n", 1)[0]
    assert header == ("registro,plan,compromiso,hito,id_externo,título,responsable,fecha_inicio,fecha_fin,estatus,"
                      "avance,motivo_avance_manual,peso,entregable,medio_de_verificación,verificado_por,"
                      "sesión_de_verificación,enlace_evidencia,motivo_corrección_estatus")
    assert "compromiso,1,2,,,Contraloría social,,,,por iniciar,0," in text
    assert "hito,1,1,2,,Publicación,,2024-03-01,2024-06-30,iniciado,50,,60," in text
    assert "not_started" not in text and "milestone" not in text
    # the Spanish file imports as it is, and so does an English one
    edited = edit(text, [("hito,1,2,1,,Capacitación,,,,por iniciar,0,", "hito,1,2,1,,Capacitación,,,,iniciado,30,")])
    response = upload(client, plan_id, edited.encode("utf-8"))
    assert response.status_code == 200, response.get_data(as_text=True)
    assert apply(client, plan_id, hashlib.sha256(edited.encode("utf-8")).hexdigest()).status_code == 303
    assert state(app, plan_id)[2][1:3] == ("started", 15.0)
    english_text = edit(export(client, plan_id), [("milestone,1,2,2,,Comités,,,,not_started,0,",
                                                   "milestone,1,2,2,,Comités,,,,started,10,")])
    response = upload(client, plan_id, english_text.encode("utf-8"))
    assert response.status_code == 200, response.get_data(as_text=True)
    assert apply(client, plan_id, hashlib.sha256(english_text.encode("utf-8")).hexdigest()).status_code == 303
    assert state(app, plan_id)[2][2] == 20.0


def test_spanish_file_errors_name_the_spanish_columns(app, client, login, plan_id):
    login("editor")
    spanish(client)
    before = state(app, plan_id)
    text = client.get(f"/edomex/admin/planes-de-accion/{plan_id}/exportar.csv").get_data().decode("utf-8")
    bad = edit(text, [("hito,1,2,1,,Capacitación,,,,por iniciar,0,", "hito,1,2,1,,Capacitación,,,,terminado,0,")])
    response = upload(client, plan_id, bad.encode("utf-8"))
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    summary = html.split('id="import-errors"', 1)[1].split("</div>", 1)[0]
    assert "Línea 6" in summary and "«estatus»" in summary or "“estatus”" in summary, summary
    assert "terminado" in summary and "por iniciar / not_started" in summary     # the allowed values, both languages
    assert state(app, plan_id) == before


def test_import_creates_a_commitment_with_its_milestones(app, client, login, plan_id, english):
    login("editor")
    text = export(client, plan_id).rstrip("\r\n") + "\r\n" + "\r\n".join([
        "commitment,1,3,,,Presupuesto participativo,Tesorería,2024-02-01,2024-11-30,,,,,,,,,,",
        "milestone,1,3,1,,Convocatoria,Tesorería,2024-02-01,2024-03-31,completed,,,40,Convocatoria publicada,,,,,",
        "milestone,1,3,2,,Asambleas,Tesorería,2024-04-01,2024-08-31,started,25,,60,,,,,,",
    ]) + "\r\n"
    data = text.encode("utf-8")
    before = state(app, plan_id)
    response = upload(client, plan_id, data)
    html = response.get_data(as_text=True)
    assert response.status_code == 200, html
    preview = html.split('id="preview-title"', 1)[1]
    assert "3 records will be created" in preview and "0 records will be updated" in preview
    assert "Commitment 3: Presupuesto participativo" in preview and "Milestone 3.2: Asambleas" in preview
    assert state(app, plan_id) == before                               # the preview changes nothing
    assert apply(client, plan_id, hashlib.sha256(data).hexdigest(), reason="").status_code == 303
    after = state(app, plan_id)
    assert after[3][0] == "Presupuesto participativo" and after[3][1:3] == ("started", 55.0)   # 40 + 60 x 25 %
    assert [m[1:4] for m in after[3][6]] == [("Convocatoria", 40.0, "completed"), ("Asambleas", 60.0, "started")]
    assert after["pubs"] == before["pubs"]                              # created as a draft, nothing published
    with tenant_context(get_tenant(app, "edomex")):
        c = db.session.scalar(select(Commitment).where(Commitment.number == 3))
        assert c.status == "draft" and c.owner_institution == "Tesorería"
        assert db.session.scalar(select(func.count()).select_from(AuditEvent)
                                 .where(AuditEvent.action == "commitment.import", AuditEvent.object_id == str(c.id))) == 1


def test_absent_records_are_kept_unless_removal_is_asked_and_confirmed(app, client, login, plan_id, make_plan, english):
    login("editor")
    with tenant_context(get_tenant(app, "edomex")):                 # a draft commitment 3 in the same plan
        plan = db.session.scalar(select(ActionPlan).where(ActionPlan.id == plan_id))
        plan.commitments.append(Commitment(number=3, title="Borrador por quitar", progress_status="not_started"))
        db.session.commit()
    text = export(client, plan_id)
    lines = text.rstrip("\r\n").split("\r\n")
    before = state(app, plan_id)
    # without the removal box, nothing is removed: the absent records are listed as kept
    only_first = [lines[0], lines[1], lines[2], lines[3].replace("Publicación", "Publicación del tablero")]
    response = upload_form(client, plan_id, ("\r\n".join(only_first) + "\r\n").encode("utf-8"))
    html = response.get_data(as_text=True)
    assert response.status_code == 200, html
    kept = html.split("Not in the file (kept)", 1)[1].split("</ul>", 1)[0]
    assert "Commitment 2: Contraloría social" in kept and "Commitment 3: Borrador por quitar" in kept
    assert "0 records will be removed" in html and "1 record will be updated" in html
    # keep commitment 1 with only milestone 1.1 (now weighing 100); leave out commitments 2 and 3
    kept = [lines[0], lines[1], lines[2].replace(",100,,40,", ",100,,100,")]
    data = ("\r\n".join(kept) + "\r\n").encode("utf-8")
    # with the box: the preview lists what is removed; applying needs the confirmation and the reason
    response = upload_form(client, plan_id, data, remove=True)
    html = response.get_data(as_text=True)
    assert response.status_code == 200, html
    removed = html.split('id="preview-remove"', 1)[1].split("<form", 1)[0]
    assert "Commitment 2: Contraloría social" in removed and "Commitment 3: Borrador por quitar" in removed
    assert "Milestone 1.2: Publicación" in removed and "retracted" in removed and "deleted" in removed
    sha = hashlib.sha256(data).hexdigest()
    response = apply(client, plan_id, sha)
    assert response.status_code == 422 and "confirm the removal" in response.get_data(as_text=True)
    assert state(app, plan_id) == before
    response = client.post(f"/edomex/admin/planes-de-accion/{plan_id}/importar/aplicar",
                           data={"sha256": sha, "reason": "Compromiso fusionado en sesión", "confirm_remove": "y"})
    assert response.status_code == 303, response.get_data(as_text=True)
    with tenant_context(get_tenant(app, "edomex")):
        db.session.expire_all()
        by_number = {c.number: c for c in db.session.scalars(select(Commitment))}
        assert set(by_number) == {1, 2}                                  # the draft was deleted
        assert by_number[2].status == "retracted"                        # the published one retracted
        assert [(m.number, m.weight) for m in by_number[1].milestones] == [(1, 100.0)]
        assert by_number[1].progress == 100.0 and by_number[1].progress_status == "completed"
        retraction = db.session.scalars(select(Publication).where(Publication.content_type == "commitment",
                                                                  Publication.record_id == str(by_number[2].id))
                                        .order_by(Publication.version.desc())).first()
        assert retraction.action == "retract" and retraction.reason == "Compromiso fusionado en sesión"
    # a retracted commitment is no longer exported, and cannot be imported again
    again = export(client, plan_id)
    assert "Contraloría social" not in again
    response = upload(client, plan_id, (again + "commitment,1,2,,,Contraloría social,,,,,,,,,,,,,\r\n").encode("utf-8"))
    assert response.status_code == 422 and "was retracted" in response.get_data(as_text=True)


def test_removal_that_breaks_the_weights_is_refused_row_by_row(app, client, login, plan_id, english):
    login("editor")
    lines = export(client, plan_id).rstrip("\r\n").split("\r\n")
    data = ("\r\n".join(lines[:3] + lines[4:]) + "\r\n").encode("utf-8")   # milestone 1.2 left out
    before = state(app, plan_id)
    response = upload_form(client, plan_id, data, remove=True)
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "Line 3, column “weight”" in html and "add up to 40, not 100" in html
    assert state(app, plan_id) == before
