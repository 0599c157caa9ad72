"""Evaluators (issue 19, item 13): an evaluating organization gets what an evaluation needs (the
criteria workspace, its evidence files, the published site) and nothing else of the tenant:
no draft pages, no non-public files, no other admin section, no work-in-progress widget."""
from __future__ import annotations

import io

import pytest
from werkzeug.datastructures import FileStorage

from comun_cms import publishing
from comun_cms.extensions import db
from comun_cms.models import Page
from comun_cms.permissions import ADMIN_ACCESS, VIEW_UNPUBLISHED, can, role_permissions, unpublished_permission
from comun_cms.tenancy import tenant_context
from comun_cms.testing import get_tenant
from comun_cms.uploads import store_upload

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


@pytest.fixture
def content(app):
    """A draft page with a file, a published page, and evidence of a criteria assessment."""
    with tenant_context(get_tenant(app, "edomex")):
        draft = Page(slug="borrador", title="Borrador interno", body="Aún no")
        published = Page(slug="publicada", title="Página publicada", body="Ya")
        db.session.add_all([draft, published])
        db.session.flush()
        draft_file = store_upload(FileStorage(io.BytesIO(PDF), filename="interno.pdf"), owner_type="page",
                                  owner_id=str(draft.id))
        evidence = store_upload(FileStorage(io.BytesIO(PDF + b"%evidencia"), filename="captura.pdf"),
                                owner_type="criteria_assessment", owner_id="1")
        db.session.commit()
        publishing.publish(published)
        return {"draft": draft.slug, "published": published.slug, "draft_file": draft_file.id, "evidence": evidence.id}


def test_evaluator_gets_403_on_drafts_and_non_public_files(client, login_as, content):
    login_as("evaluator")
    assert client.get("/edomex/p/borrador").status_code == 403
    assert client.get(f"/edomex/archivos/{content['draft_file']}/interno.pdf").status_code == 403
    assert client.get("/edomex/p/publicada").status_code == 200


@pytest.mark.parametrize("url", [
    "/edomex/admin/paginas", "/edomex/admin/paginas/nueva", "/edomex/admin/archivos", "/edomex/admin/usuarios",
    "/edomex/admin/configuracion", "/edomex/admin/moderacion", "/edomex/admin/auditoria",
    "/edomex/admin/planes-de-accion/", "/edomex/admin/actas/",
])
def test_evaluator_gets_403_on_other_admin_sections(client, login_as, url):
    login_as("evaluator")
    assert client.get(url).status_code == 403


def test_evaluator_can_still_evaluate(client, login_as, content):
    login_as("evaluator")
    dashboard = client.get("/edomex/admin/")
    html = dashboard.get_data(as_text=True)
    assert dashboard.status_code == 200
    assert "/edomex/admin/criterios/" in html  # menu entry and widget of the evaluation
    assert "/edomex/admin/paginas" not in html and "/edomex/admin/planes-de-accion/" not in html
    assert client.get("/edomex/admin/criterios/").status_code == 200
    # the evidence files of assessments, not yet public, stay open to evaluators
    assert client.get(f"/edomex/archivos/{content['evidence']}/captura.pdf").status_code == 200


def test_staff_and_strangers_keep_their_access(app, client, login_as, content):
    anonymous = app.test_client()
    assert anonymous.get("/edomex/p/borrador").status_code == 404  # existence not revealed
    assert anonymous.get(f"/edomex/archivos/{content['evidence']}/captura.pdf").status_code == 404
    login_as("evaluator", tenant="puebla")  # an evaluator of another tenant learns nothing either
    assert client.get("/edomex/p/borrador").status_code == 404
    assert client.get(f"/edomex/archivos/{content['evidence']}/captura.pdf").status_code == 404
    login_as("editor")
    assert client.get("/edomex/p/borrador").status_code == 200
    assert client.get(f"/edomex/archivos/{content['draft_file']}/interno.pdf").status_code == 200
    assert client.get(f"/edomex/archivos/{content['evidence']}/captura.pdf").status_code == 200


def test_permission_table(app, make_user):
    tenant = get_tenant(app, "edomex")
    evaluator = make_user("eva@edomex.test", role="evaluator")
    editor = make_user("editora@edomex.test", role="editor")
    with app.test_request_context():
        table = role_permissions(tenant)
        assert VIEW_UNPUBLISHED not in table["evaluator"] and ADMIN_ACCESS in table["evaluator"]
        assert {"criteria.evaluate", unpublished_permission("criteria_assessment")} <= table["evaluator"]
        for role in ("admin", "editor", "trainer"):
            assert {ADMIN_ACCESS, VIEW_UNPUBLISHED} <= table[role]
        assert can(VIEW_UNPUBLISHED, tenant=tenant, user=editor)
        assert not can(VIEW_UNPUBLISHED, tenant=tenant, user=evaluator)
        assert not can("criteria.evaluate", tenant=tenant, user=editor)
