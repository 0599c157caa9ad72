"""Admin blueprint: roles, tenant isolation, pages and their publishing workflow, uploads, users,
invitations, settings, moderation and the audit log (``comun_cms.views.admin``)."""
from __future__ import annotations

import hashlib
import io
import json
import re

import pytest
from sqlalchemy import func, select

from comun_cms import publishing
from comun_cms.extensions import db
from comun_cms.models import Attachment, AuditEvent, Feedback, Invitation, Membership, Page, Publication
from comun_cms.tenancy import tenant_context
from comun_cms.testing import get_tenant


@pytest.fixture
def english(client):
    with client.session_transaction() as sess:
        sess["lang"] = "en"


def make_page(app, tenant="edomex", title="Informe anual", slug=None, publish=False, **fields) -> Page:
    with tenant_context(get_tenant(app, tenant)):
        page = Page(title=title, slug=slug or title.lower().replace(" ", "-"), body=fields.pop("body", "Texto."), **fields)
        db.session.add(page)
        db.session.commit()
        if publish:
            publishing.publish(page)
        return page


def png_bytes() -> bytes:
    from PIL import Image
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), (31, 94, 58)).save(buffer, "PNG")
    return buffer.getvalue()


def audit_events(app, action, tenant="edomex") -> list[AuditEvent]:
    with tenant_context(get_tenant(app, tenant)):
        return list(db.session.scalars(select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)))


def count(app, model, tenant="edomex", *where) -> int:
    with tenant_context(get_tenant(app, tenant)):
        return db.session.scalar(select(func.count()).select_from(model).where(*where))


def reload(app, page: Page, tenant="edomex") -> Page:
    db.session.expire_all()
    with tenant_context(get_tenant(app, tenant)):
        return db.session.scalar(select(Page).where(Page.id == page.id))


PAGE_FORM = {"title": "Informe anual 2024", "slug": "", "summary": "Resumen.", "body": "# Informe\n\nTexto.",
             "section": "links", "language": "es", "source": "Acta de la sesión"}

GET_ROUTES = {  # path (edomex) -> roles allowed
    "/edomex/admin/": {"admin", "editor", "evaluator", "trainer"},
    "/edomex/admin/paginas": {"admin", "editor"},
    "/edomex/admin/paginas/nueva": {"admin", "editor"},
    "/edomex/admin/paginas/{page}": {"admin", "editor"},
    "/edomex/admin/archivos": {"admin", "editor"},
    "/edomex/admin/moderacion": {"admin", "editor"},
    "/edomex/admin/usuarios": {"admin"},
    "/edomex/admin/usuarios/invitar": {"admin"},
    "/edomex/admin/configuracion": {"admin"},
    "/edomex/admin/auditoria": {"admin"},
}
POST_ROUTES = [
    "/edomex/admin/paginas/nueva", "/edomex/admin/paginas/{page}", "/edomex/admin/paginas/{page}/publicar",
    "/edomex/admin/paginas/{page}/retirar", "/edomex/admin/paginas/{page}/archivos",
    "/edomex/admin/moderacion/{feedback}", "/edomex/admin/usuarios/invitar", "/edomex/admin/usuarios/{membership}/rol",
    "/edomex/admin/usuarios/{membership}/quitar",
]


@pytest.fixture
def ids(app, make_user):
    """Objects of edomex that the route tables point at."""
    page = make_page(app)
    member = make_user("otra@edomex.test", role="editor")
    with tenant_context(get_tenant(app, "edomex")):
        feedback = Feedback(kind="question", subject="¿Cuándo?", message="Pregunta")
        db.session.add(feedback)
        db.session.commit()
        membership = db.session.scalar(select(Membership).where(Membership.user_id == member.id))
        return {"page": page.id, "feedback": feedback.id, "membership": membership.id}


# --------------------------------------------------------------------------- access
@pytest.mark.parametrize("role", ["admin", "editor", "evaluator", "trainer"])
def test_role_matrix(client, login_as, ids, role):
    login_as(role)
    for path, allowed in GET_ROUTES.items():
        status = client.get(path.format(**ids)).status_code
        assert status == (200 if role in allowed else 403), (role, path, status)
    if role in ("evaluator", "trainer"):
        for path in POST_ROUTES:
            assert client.post(path.format(**ids), data={"title": "x", "reason": "x"}).status_code == 403, path
    if role == "editor":
        for path in POST_ROUTES[-3:]:
            assert client.post(path.format(**ids), data={"email": "x@y.test", "m1-role": "admin"}).status_code == 403


def test_anonymous_users_are_sent_to_login(client, ids):
    for path in list(GET_ROUTES) + POST_ROUTES:
        response = client.get(path.format(**ids)) if path in GET_ROUTES else client.post(path.format(**ids))
        assert response.status_code == 302, path
        assert response.headers["Location"].startswith("/auth/login?next=")


def test_a_role_in_another_tenant_gives_403_everywhere(app, client, login_as, ids):
    login_as("admin", tenant="puebla")
    assert client.get("/puebla/admin/").status_code == 200
    for path in GET_ROUTES:
        assert client.get(path.format(**ids)).status_code == 403, path
    for path in POST_ROUTES:
        assert client.post(path.format(**ids), data={"title": "x", "reason": "x"}).status_code == 403, path
    assert reload(app, Page(id=ids["page"])).title == "Informe anual"


def test_ids_of_another_tenant_are_404(app, client, login_as):
    foreign = make_page(app, tenant="puebla", title="Borrador de Puebla", publish=True)
    with tenant_context(get_tenant(app, "puebla")):
        feedback = Feedback(kind="question", subject="Puebla", message="x")
        db.session.add(feedback)
        db.session.commit()
        membership = db.session.scalar(select(Membership.id).limit(1))
    login_as("admin")
    # the foreign rows are in the session's identity map: Session.get would return them
    paths = [f"/edomex/admin/paginas/{foreign.id}", f"/edomex/admin/paginas/{foreign.id}/publicar",
             f"/edomex/admin/paginas/{foreign.id}/retirar", f"/edomex/admin/paginas/{foreign.id}/archivos",
             f"/edomex/admin/moderacion/{feedback.id}"]
    assert client.get(paths[0]).status_code == 404
    for path in paths:
        assert client.post(path, data={"title": "Robado", "reason": "x", "f1-status": "spam"}).status_code == 404, path
    if membership is not None:
        assert client.post(f"/edomex/admin/usuarios/{membership}/quitar").status_code == 404
    page = reload(app, foreign, tenant="puebla")
    assert page.title == "Borrador de Puebla" and page.status == "published" and page.version == 1
    lists = client.get("/edomex/admin/paginas").get_data(as_text=True)
    assert "Borrador de Puebla" not in lists


def test_lists_and_counts_show_only_the_current_tenant(app, client, login_as, english):
    make_page(app, tenant="puebla", title="Página de Puebla")
    make_page(app, tenant="edomex", title="Página del Edomex")
    login_as("admin")
    html = client.get("/edomex/admin/paginas").get_data(as_text=True)
    assert "Página del Edomex" in html and "Página de Puebla" not in html
    assert "Pages (1)" in html
    dashboard = client.get("/edomex/admin/").get_data(as_text=True)
    assert re.search(r'stat__number">1</span> <span class="stat__label">Draft pages', dashboard)


def test_menu_is_filtered_by_role_and_names_the_tenant(client, login_as, english):
    login_as("editor")
    html = client.get("/edomex/admin/").get_data(as_text=True)
    assert "/edomex/admin/paginas" in html and "/edomex/admin/usuarios" not in html
    assert "Secretaría Ejecutiva del Sistema Anticorrupción del Estado de México" in html
    login_as("admin")
    html = client.get("/edomex/admin/").get_data(as_text=True)
    assert "/edomex/admin/usuarios" in html and "/edomex/admin/auditoria" in html


# --------------------------------------------------------------------------- pages
def test_page_create_edit_publish_correct_retract(app, client, login_as, english):
    login_as("editor")
    response = client.post("/edomex/admin/paginas/nueva", data=PAGE_FORM)
    assert response.status_code == 303
    page_id = int(response.headers["Location"].rsplit("/", 1)[1])
    edit_url = f"/edomex/admin/paginas/{page_id}"
    with tenant_context(get_tenant(app, "edomex")):
        page = db.session.scalar(select(Page).where(Page.id == page_id))
        assert (page.slug, page.status, page.section) == ("informe-anual-2024", "draft", "links")
    [created] = audit_events(app, "page.create")
    assert created.before is None and created.after["title"] == "Informe anual 2024"
    assert created.actor == "editor@edomex.test"

    # a draft saves in place
    assert client.post(edit_url, data={**PAGE_FORM, "summary": "Otro resumen."}).status_code == 303
    [updated] = audit_events(app, "page.update")
    assert updated.before["summary"] == "Resumen." and updated.after["summary"] == "Otro resumen."
    assert count(app, Publication) == 0

    # publish
    assert client.post(f"{edit_url}/publicar").status_code == 303
    page = reload(app, Page(id=page_id))
    assert (page.status, page.version) == ("published", 1)
    [published] = audit_events(app, "page.publish")
    assert published.before["status"] == "draft" and published.after["status"] == "published"
    assert client.post(f"{edit_url}/publicar").status_code == 422  # already published: form error

    # editing a published page saves a draft of the next version; the page keeps version 1
    response = client.post(edit_url, data={**PAGE_FORM, "body": "Texto corregido."})
    assert response.status_code == 303
    assert reload(app, page).body == "# Informe\n\nTexto." and count(app, Publication) == 1
    assert audit_events(app, "page.correct") == []
    [drafted] = audit_events(app, "page.draft")
    assert drafted.before is None and drafted.after == {"body": "Texto corregido.", "summary": "Resumen."}

    # "Publicar cambios" needs a reason
    response = client.post(f"{edit_url}/publicar-cambios", data={"changes-reason": ""})
    assert response.status_code == 422
    assert "Explain the reason for the changes" in response.get_data(as_text=True)
    assert count(app, Publication) == 1

    response = client.post(edit_url, data={**PAGE_FORM, "summary": "Otro resumen.", "body": "Texto corregido."})
    assert response.status_code == 303
    response = client.post(f"{edit_url}/publicar-cambios", data={"changes-reason": "Errata en la cifra"})
    assert response.status_code == 303
    page = reload(app, page)
    assert (page.body, page.version, page.status) == ("Texto corregido.", 2, "published")
    with tenant_context(get_tenant(app, "edomex")):
        versions = publishing.history("page", page_id)
    assert [(v.version, v.action, v.reason) for v in versions] == [(1, "publish", ""), (2, "correct", "Errata en la cifra")]
    assert versions[1].previous_id == versions[0].id
    [corrected] = audit_events(app, "page.correct")
    assert corrected.before["body"] == "# Informe\n\nTexto." and corrected.after["body"] == "Texto corregido."
    assert corrected.after["reason"] == "Errata en la cifra" and corrected.after["version"] == 2
    history_html = client.get(edit_url).get_data(as_text=True)
    assert "Version 2" in history_html and "Errata en la cifra" in history_html

    # retract: reason required
    assert client.post(f"{edit_url}/retirar", data={"retract-reason": ""}).status_code == 422
    assert reload(app, page).status == "published"
    assert client.post(f"{edit_url}/retirar", data={"retract-reason": "Duplicada"}).status_code == 303
    page = reload(app, page)
    assert (page.status, page.version) == ("retracted", 3)
    [retracted] = audit_events(app, "page.retract")
    assert retracted.before["status"] == "published" and retracted.after["status"] == "retracted"

    # a retracted page cannot be edited
    response = client.post(edit_url, data={**PAGE_FORM, "title": "Resucitada", "reason": "x"})
    assert response.status_code == 409 and reload(app, page).title == "Informe anual 2024"
    assert client.get(edit_url).status_code == 200
    assert count(app, Publication) == 3


def test_page_form_errors_name_the_field_and_store_nothing(app, client, login_as, english):
    make_page(app, title="Existente", slug="existente")
    login_as("editor")
    response = client.post("/edomex/admin/paginas/nueva", data={**PAGE_FORM, "title": "", "slug": "Con Espacios"})
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "Enter a title." in html and "lower-case letters without accents" in html
    assert 'aria-describedby="title-error"' in html
    taken = client.post("/edomex/admin/paginas/nueva", data={**PAGE_FORM, "slug": "existente"})
    assert taken.status_code == 422 and "already uses the address" in taken.get_data(as_text=True)
    bad_section = client.post("/edomex/admin/paginas/nueva", data={**PAGE_FORM, "section": "nope"})
    assert bad_section.status_code == 422
    assert count(app, Page) == 1 and audit_events(app, "page.create") == []


def test_slug_is_made_from_the_title_and_kept_unique(app, client, login_as):
    make_page(app, title="Acta", slug="minuta-de-la-sesion")
    login_as("editor")
    client.post("/edomex/admin/paginas/nueva", data={**PAGE_FORM, "title": "Minuta de la sesión"})
    client.post("/edomex/admin/paginas/nueva", data={**PAGE_FORM, "title": "Minuta de la sesión"})
    with tenant_context(get_tenant(app, "edomex")):
        slugs = set(db.session.scalars(select(Page.slug)))
    assert slugs == {"minuta-de-la-sesion", "minuta-de-la-sesion-2", "minuta-de-la-sesion-3"}
    # the same slug in another tenant is fine
    make_page(app, tenant="puebla", title="Acta", slug="minuta-de-la-sesion")


# --------------------------------------------------------------------------- uploads
def test_upload_png_to_a_draft_and_reject_a_fake_pdf(app, client, login_as, english):
    page = make_page(app)
    login_as("editor")
    data = png_bytes()
    response = client.post(f"/edomex/admin/paginas/{page.id}/archivos", content_type="multipart/form-data",
                           data={"upload-file": (io.BytesIO(data), "Foto sesión.png"), "upload-title": "Foto"})
    assert response.status_code == 303
    with tenant_context(get_tenant(app, "edomex")):
        att = db.session.scalar(select(Attachment))
    assert (att.owner_type, att.owner_id, att.kind, att.filename) == ("page", str(page.id), "image", "Foto_sesion.png")
    assert att.sha256 == hashlib.sha256(data).hexdigest() and not att.public
    [event] = audit_events(app, "attachment.upload")
    assert event.after["sha256"] == att.sha256 and event.after["owner"] == f"page/{page.id}"
    assert "Foto_sesion.png" in client.get("/edomex/admin/archivos").get_data(as_text=True)

    fake = client.post(f"/edomex/admin/paginas/{page.id}/archivos", content_type="multipart/form-data",
                       data={"upload-file": (io.BytesIO(b"MZ\x90\x00 not a pdf at all"), "informe.pdf")})
    assert fake.status_code == 422 and "is not a pdf file" in fake.get_data(as_text=True)
    missing = client.post(f"/edomex/admin/paginas/{page.id}/archivos", content_type="multipart/form-data", data={})
    assert missing.status_code == 422 and "Choose a file to upload." in missing.get_data(as_text=True)
    assert count(app, Attachment) == 1 and len(audit_events(app, "attachment.upload")) == 1


def test_upload_to_a_published_page_publishes_a_correction(app, client, login_as, english):
    page = make_page(app, publish=True)
    login_as("editor")
    data = png_bytes()
    url = f"/edomex/admin/paginas/{page.id}/archivos"
    no_reason = client.post(url, content_type="multipart/form-data",
                            data={"upload-file": (io.BytesIO(data), "foto.png")})
    assert no_reason.status_code == 422 and "explain why the file is added" in no_reason.get_data(as_text=True)
    assert count(app, Attachment) == 0 and count(app, Publication) == 1

    response = client.post(url, content_type="multipart/form-data",
                           data={"upload-file": (io.BytesIO(data), "foto.png"), "upload-reason": "Se agrega la foto"})
    assert response.status_code == 303
    page = reload(app, page)
    assert page.version == 2
    with tenant_context(get_tenant(app, "edomex")):
        latest = publishing.latest_publication("page", page.id)
        att = db.session.scalar(select(Attachment))
    content = json.loads(latest.canonical_json)
    assert latest.action == "correct" and latest.reason == "Se agrega la foto"
    assert [a["sha256"] for a in content["attachments"]] == [hashlib.sha256(data).hexdigest()]
    assert att.public
    assert len(audit_events(app, "page.correct")) == 1


def test_retracted_page_refuses_uploads(app, client, login_as):
    page = make_page(app, publish=True)
    with tenant_context(get_tenant(app, "edomex")):
        publishing.retract(reload(app, page), reason="Fuera")
    login_as("editor")
    response = client.post(f"/edomex/admin/paginas/{page.id}/archivos", content_type="multipart/form-data",
                           data={"upload-file": (io.BytesIO(png_bytes()), "foto.png"), "upload-reason": "x"})
    assert response.status_code == 409 and count(app, Attachment) == 0


# --------------------------------------------------------------------------- users
def test_users_change_role_and_remove(app, client, login_as, make_user, english):
    admin = login_as("admin")
    other = make_user("otra@edomex.test", role="editor")
    with tenant_context(get_tenant(app, "edomex")):
        mine = db.session.scalar(select(Membership).where(Membership.user_id == admin.id))
        theirs = db.session.scalar(select(Membership).where(Membership.user_id == other.id))
    html = client.get("/edomex/admin/usuarios").get_data(as_text=True)
    assert "otra@edomex.test" in html and "admin@edomex.test" in html

    # the only administrator can neither demote nor remove themselves
    demote = client.post(f"/edomex/admin/usuarios/{mine.id}/rol", data={f"m{mine.id}-role": "editor"})
    assert demote.status_code == 422 and "only administrator" in demote.get_data(as_text=True)
    assert client.post(f"/edomex/admin/usuarios/{mine.id}/quitar").status_code == 422
    assert count(app, Membership, "edomex", Membership.role == "admin") == 1

    bad = client.post(f"/edomex/admin/usuarios/{theirs.id}/rol", data={f"m{theirs.id}-role": "emperor"})
    assert bad.status_code == 422
    assert client.post(f"/edomex/admin/usuarios/{theirs.id}/rol", data={f"m{theirs.id}-role": "admin"}).status_code == 303
    [event] = audit_events(app, "membership.role")
    assert event.before == {"email": "otra@edomex.test", "role": "editor"}
    assert event.after == {"email": "otra@edomex.test", "role": "admin"}

    # now there are two administrators: removing oneself is allowed
    response = client.post(f"/edomex/admin/usuarios/{mine.id}/quitar")
    assert response.status_code == 303 and response.headers["Location"] == "/auth/cuenta"
    [removed] = audit_events(app, "membership.remove")
    assert removed.before == {"email": "admin@edomex.test", "role": "admin"} and removed.after is None
    assert count(app, Membership, "edomex", Membership.user_id == admin.id) == 0
    assert client.get("/edomex/admin/usuarios").status_code == 403


def test_invite_then_accept(app, client, login_as, make_user, english):
    login_as("admin")
    make_user("ya@edomex.test", role="editor")
    taken = client.post("/edomex/admin/usuarios/invitar", data={"email": "ya@edomex.test", "role": "editor"})
    assert taken.status_code == 422 and "already a member" in taken.get_data(as_text=True)
    invalid = client.post("/edomex/admin/usuarios/invitar", data={"email": "no-es-correo", "role": "editor"})
    assert invalid.status_code == 422 and "is not a valid e-mail address" in invalid.get_data(as_text=True)

    response = client.post("/edomex/admin/usuarios/invitar", data={"email": "Nueva@Edomex.test", "role": "evaluator"})
    assert response.status_code == 200 and response.headers["Cache-Control"] == "no-store"
    link = re.search(r'value="(http://[^"]+/auth/invitacion/([^"]+))"', response.get_data(as_text=True))
    token = link.group(2)
    with tenant_context(get_tenant(app, "edomex")):
        invitation = db.session.scalar(select(Invitation))
    assert invitation.email == "nueva@edomex.test" and invitation.role == "evaluator"
    assert invitation.token_hash == hashlib.sha256(token.encode()).hexdigest()
    assert 6.9 < (invitation.expires_at - invitation.created_at).total_seconds() / 86400 <= 7
    [event] = audit_events(app, "invitation.create")
    assert token not in json.dumps(event.after) and event.after["email"] == "nueva@edomex.test"
    assert "nueva@edomex.test" in client.get("/edomex/admin/usuarios").get_data(as_text=True)

    client.post("/auth/logout")
    accepted = client.post(f"/auth/invitacion/{token}",
                           data={"name": "Nueva", "password": "una-frase-larga", "confirm": "una-frase-larga"})
    assert accepted.status_code == 303
    assert client.get("/edomex/admin/").status_code == 200
    assert client.get("/edomex/admin/paginas").status_code == 403  # evaluator


# --------------------------------------------------------------------------- settings, moderation, audit
def test_settings_show_the_file_identity_and_list_plugins(client, login_as):
    login_as("admin")
    html = client.get("/edomex/admin/configuracion").get_data(as_text=True)
    assert "states/edomex/tenant.toml" in html and "SESAEMM" in html
    for plugin in ("criteria", "stl_minutes", "action_plans", "notary"):
        assert f"<code>{plugin}</code>" in html


def test_moderation_changes_status_and_answer(app, client, login_as, english):
    with tenant_context(get_tenant(app, "edomex")):
        item = Feedback(kind="complaint", subject="Sin respuesta", message="Nadie contesta")
        db.session.add(item)
        db.session.commit()
    login_as("editor")
    html = client.get("/edomex/admin/moderacion").get_data(as_text=True)
    assert "Sin respuesta" in html and f'id="f{item.id}-status"' in html

    missing = client.post(f"/edomex/admin/moderacion/{item.id}", data={f"f{item.id}-status": "answered"})
    assert missing.status_code == 422 and "Write the answer" in missing.get_data(as_text=True)
    response = client.post(f"/edomex/admin/moderacion/{item.id}",
                           data={f"f{item.id}-status": "answered", f"f{item.id}-answer": "Ya respondimos."})
    assert response.status_code == 303
    db.session.expire_all()
    with tenant_context(get_tenant(app, "edomex")):
        item = db.session.scalar(select(Feedback))
    assert (item.status, item.answer) == ("answered", "Ya respondimos.") and item.moderated_by_id is not None
    [event] = audit_events(app, "feedback.moderate")
    assert event.before == {"status": "new", "answer": ""}
    assert event.after == {"status": "answered", "answer": "Ya respondimos."}
    assert "Sin respuesta" not in client.get("/edomex/admin/moderacion?status=new").get_data(as_text=True)
    assert "Sin respuesta" in client.get("/edomex/admin/moderacion?status=answered").get_data(as_text=True)


def test_audit_log_shows_events_of_this_tenant_only(app, client, login_as):
    from comun_cms.audit import record_audit
    with tenant_context(get_tenant(app, "puebla")):
        record_audit("secret.puebla", "page", 1, None, {"x": 1})
        db.session.commit()
    with tenant_context(get_tenant(app, "edomex")):
        for i in range(55):
            record_audit("page.update", "page", i, {"title": "Antes"}, {"title": f"Después {i}"})
        db.session.commit()
    login_as("admin")
    html = client.get("/edomex/admin/auditoria").get_data(as_text=True)
    assert "Después 54&#34;" in html and "Después 4&#34;" not in html and "secret.puebla" not in html
    assert "/edomex/admin/auditoria?page=2" in html
    assert "Después 4&#34;" in client.get("/edomex/admin/auditoria?page=2").get_data(as_text=True)
