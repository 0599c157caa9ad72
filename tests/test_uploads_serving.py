"""Serving evidence files (``/<tenant>/archivos/...``): visibility, safe headers, caching,
thumbnails, and how attachments are listed on a page."""
from __future__ import annotations

import hashlib
import io
import zipfile

import pytest
from PIL import Image
from werkzeug.datastructures import FileStorage

from comun_cms import publishing
from comun_cms.extensions import db
from comun_cms.models import Page
from comun_cms.tenancy import tenant_context
from comun_cms.uploads import store_upload


def png_bytes(colour=(200, 30, 60)) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (64, 40), colour).save(buf, "PNG")
    return buf.getvalue()


def docx_bytes() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("[Content_Types].xml", "<Types/>")
        zf.writestr("word/document.xml", "<w:document/>")
    return buf.getvalue()


PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def add_page_with_file(app, data: bytes, filename: str, *, tenant="edomex", publish=True, slug="evidencia"):
    """Create a page with one attachment; returns ``(page_id, attachment_id, sha256)``."""
    with tenant_context(app.extensions["comun"].tenants[tenant]):
        page = Page(slug=slug, title="Evidencia", body="Fotos de la sesión")
        db.session.add(page)
        db.session.flush()
        att = store_upload(FileStorage(io.BytesIO(data), filename=filename), owner_type="page",
                           owner_id=str(page.id), title=f"Archivo {filename}")
        db.session.commit()
        if publish:
            publishing.publish(page)
        return page.id, att.id, att.sha256


def test_public_image_is_served_with_safe_headers(app, client):
    data = png_bytes()
    _page, att_id, sha = add_page_with_file(app, data, "Foto sesión 19.png")
    response = client.get(f"/edomex/archivos/{att_id}/Foto_sesion_19.png")
    assert response.status_code == 200
    assert response.data == data and hashlib.sha256(response.data).hexdigest() == sha
    assert response.mimetype == "image/png"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Content-Security-Policy"] == "default-src 'none'; sandbox"
    assert response.headers["Content-Disposition"] == (
        "inline; filename=\"Foto_sesion_19.png\"; filename*=UTF-8''Foto_sesion_19.png")
    assert response.headers["ETag"].strip('"') == sha
    cache = response.cache_control
    assert cache.public and cache.max_age >= 30 * 24 * 3600
    assert client.get(f"/edomex/archivos/{att_id}/x.png", headers={"If-None-Match": f'"{sha}"'}).status_code == 304


def test_file_name_in_url_is_cosmetic(app, client):
    data = png_bytes()
    _page, att_id, _sha = add_page_with_file(app, data, "foto.png")
    response = client.get(f"/edomex/archivos/{att_id}/cualquier-cosa.exe")
    assert response.status_code == 200 and response.data == data and response.mimetype == "image/png"
    assert 'filename="foto.png"' in response.headers["Content-Disposition"]


def test_pdf_is_inline_and_documents_are_downloads(app, client):
    _p1, pdf_id, _ = add_page_with_file(app, PDF, "minuta.pdf", slug="pdf")
    _p2, doc_id, _ = add_page_with_file(app, docx_bytes(), "acta.docx", slug="docx")
    pdf = client.get(f"/edomex/archivos/{pdf_id}/minuta.pdf")
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf"
    assert pdf.headers["Content-Disposition"].startswith("inline;")
    assert pdf.headers["Content-Security-Policy"] == "default-src 'none'"  # no sandbox: Chromium's PDF viewer needs it
    doc = client.get(f"/edomex/archivos/{doc_id}/acta.docx")
    assert doc.status_code == 200 and doc.headers["Content-Disposition"].startswith("attachment;")
    assert doc.mimetype == "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
    assert client.get(f"/edomex/archivos/{pdf_id}/miniatura").status_code == 404  # no thumbnail for PDFs


def test_thumbnail_is_webp(app, client):
    _page, att_id, _sha = add_page_with_file(app, png_bytes(), "foto.png")
    response = client.get(f"/edomex/archivos/{att_id}/miniatura")
    assert response.status_code == 200 and response.mimetype == "image/webp"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert Image.open(io.BytesIO(response.data)).format == "WEBP"


def test_unpublished_attachment_is_404_for_anonymous_and_other_tenants(app, client, login_as, make_user):
    _page, att_id, _sha = add_page_with_file(app, png_bytes(), "borrador.png", publish=False)
    assert client.get(f"/edomex/archivos/{att_id}/borrador.png").status_code == 404
    assert client.get(f"/edomex/archivos/{att_id}/miniatura").status_code == 404
    login_as(make_user("editor@hidalgo.test", role="editor", tenant="hidalgo"))
    assert client.get(f"/edomex/archivos/{att_id}/borrador.png").status_code == 404
    assert client.get(f"/hidalgo/archivos/{att_id}/borrador.png").status_code == 404


def test_unpublished_attachment_is_served_privately_to_staff(app, client, login_as):
    data = png_bytes()
    _page, att_id, _sha = add_page_with_file(app, data, "borrador.png", publish=False)
    login_as("editor")
    response = client.get(f"/edomex/archivos/{att_id}/borrador.png")
    assert response.status_code == 200 and response.data == data
    assert response.cache_control.private and not response.cache_control.public


def test_public_attachment_of_another_tenant_is_not_served_under_this_tenant(app, client):
    _page, att_id, _sha = add_page_with_file(app, png_bytes(), "foto.png", tenant="puebla")
    assert client.get(f"/puebla/archivos/{att_id}/foto.png").status_code == 200
    assert client.get(f"/edomex/archivos/{att_id}/foto.png").status_code == 404


def test_missing_file_on_disk_is_404(app, client):
    from comun_cms.uploads import stored_path
    _page, att_id, sha = add_page_with_file(app, png_bytes(), "foto.png")
    stored_path("edomex", sha).unlink()
    assert client.get(f"/edomex/archivos/{att_id}/foto.png").status_code == 404


def test_page_lists_attachments_with_thumbnail_size_and_hash(app, client):
    _page, att_id, sha = add_page_with_file(app, png_bytes(), "foto.png")
    html = client.get("/edomex/p/evidencia").get_data(as_text=True)
    assert f'src="/edomex/archivos/{att_id}/miniatura"' in html
    assert f'href="/edomex/archivos/{att_id}/foto.png"' in html
    assert sha in html and "bytes" in html and "Archivo foto.png" in html


@pytest.mark.parametrize("url", ["/edomex/archivos/999/x.png", "/edomex/archivos/999/miniatura", "/edomex/archivos/abc/x.png"])
def test_unknown_attachment_is_404(client, url):
    assert client.get(url).status_code == 404


def test_office_files_must_be_real_office_documents(app, tenant):
    from werkzeug.datastructures import FileStorage
    from comun_cms.uploads import UploadError, store_upload
    plain_zip = io.BytesIO()
    with zipfile.ZipFile(plain_zip, "w") as zf:
        zf.writestr("payload.jar", "not a document")
    with pytest.raises(UploadError, match="not a document file"):
        store_upload(FileStorage(io.BytesIO(plain_zip.getvalue()), filename="acta.docx"))
    odt = io.BytesIO()
    with zipfile.ZipFile(odt, "w") as zf:
        zf.writestr("mimetype", "application/vnd.oasis.opendocument.text")
        zf.writestr("content.xml", "<office:document-content/>")
    att = store_upload(FileStorage(io.BytesIO(odt.getvalue()), filename="acta.odt"))
    assert att.kind == "document" and att.mimetype == "application/vnd.oasis.opendocument.text"
    assert store_upload(FileStorage(io.BytesIO(docx_bytes()), filename="acta.docx")).size > 0
