"""Uploads in the database store (``UPLOAD_STORE = "database"``, several app hosts): the serving
tests of tests/test_uploads_serving.py run again against it, plus what only it does (chunks,
ranges, one transaction with the attachment row, nothing on this host's disk)."""
from __future__ import annotations

import hashlib
import io
from pathlib import Path

import pytest
from sqlalchemy import func, select
from werkzeug.datastructures import FileStorage

from comun_cms.app import create_app
from comun_cms.config import ConfigError
from comun_cms.extensions import db
from comun_cms.filestore import CHUNK_BYTES, DatabaseStore, FilesystemStore, get_store
from comun_cms.models import Attachment, Page, StoredChunk
from comun_cms.tenancy import tenant_context
from comun_cms.uploads import UploadError, discard_unused, store_upload
from tests.test_uploads_serving import (  # noqa: F401 - collected again here, on the database store
    PDF, add_page_with_file, png_bytes, test_file_name_in_url_is_cosmetic, test_pdf_is_inline_and_documents_are_downloads,
    test_public_attachment_of_another_tenant_is_not_served_under_this_tenant, test_public_image_is_served_with_safe_headers,
    test_thumbnail_is_webp, test_unpublished_attachment_is_404_for_anonymous_and_other_tenants,
    test_unpublished_attachment_is_served_privately_to_staff,
)


@pytest.fixture
def app_config(app_config, tmp_path):
    return {**app_config, "UPLOAD_STORE": "database", "UPLOAD_SCRATCH_DIR": str(tmp_path / "scratch")}


def _chunks(**where) -> list:
    query = select(StoredChunk.tenant, StoredChunk.sha256, StoredChunk.variant, StoredChunk.seq)
    for key, value in where.items():
        query = query.where(getattr(StoredChunk, key) == value)
    return db.session.execute(query.order_by(StoredChunk.seq)).all()


def _files_under(folder: str | Path) -> list[Path]:
    return [p for p in Path(folder).rglob("*") if p.is_file()] if Path(folder).exists() else []


def test_the_store_follows_the_setting(app):
    assert isinstance(get_store(), DatabaseStore)
    app.config["UPLOAD_STORE"] = "filesystem"
    assert isinstance(get_store(), FilesystemStore)


def test_a_file_is_stored_in_chunks_and_nothing_stays_on_this_hosts_disk(app, client):
    data = PDF + b"%" + bytes(range(256)) * ((2 * CHUNK_BYTES + 1000) // 256)  # 2 chunks and a piece
    _page, att_id, sha = add_page_with_file(app, data, "informe.pdf")
    rows = _chunks(tenant="edomex", sha256=sha, variant="")
    assert [r.seq for r in rows] == [0, 1, 2]
    assert _files_under(app.config["UPLOAD_DIR"]) == [] and _files_under(app.config["UPLOAD_SCRATCH_DIR"]) == []
    response = client.get(f"/edomex/archivos/{att_id}/informe.pdf")
    assert response.status_code == 200 and hashlib.sha256(response.data).hexdigest() == sha
    assert int(response.headers["Content-Length"]) == len(data)
    # a range across the first chunk boundary (RFC 9110 section 14)
    start = CHUNK_BYTES - 10
    part = client.get(f"/edomex/archivos/{att_id}/informe.pdf", headers={"Range": f"bytes={start}-{start + 19}"})
    assert part.status_code == 206 and part.data == data[start:start + 20]


def test_an_image_and_its_thumbnail_are_both_in_the_database(app):
    _page, _att, sha = add_page_with_file(app, png_bytes(), "foto.png")
    assert {r.variant for r in _chunks(tenant="edomex", sha256=sha)} == {"", "thumb"}


def test_the_file_rolls_back_with_its_attachment(app, tenant):
    with app.test_request_context("/"), tenant_context(tenant):
        att = store_upload(FileStorage(io.BytesIO(PDF), filename="acta.pdf"))
        assert _chunks(sha256=att.sha256)
        db.session.rollback()
    assert _chunks() == [] and db.session.scalar(select(func.count()).select_from(Attachment)) == 0


def test_a_refused_upload_stores_nothing(app, tenant):
    with app.test_request_context("/"), tenant_context(tenant):
        with pytest.raises(UploadError):
            store_upload(FileStorage(io.BytesIO(b"MZ\x90\x00 not a pdf"), filename="acta.pdf"))
    assert _chunks() == [] and _files_under(app.config["UPLOAD_SCRATCH_DIR"]) == []


def test_discarding_the_last_use_deletes_the_chunks(app, tenant):
    _page, att_id, sha = add_page_with_file(app, png_bytes(), "foto.png", publish=False)
    with tenant_context(tenant):
        db.session.delete(db.session.get(Attachment, att_id))
        db.session.flush()
        discard_unused("edomex", sha)
        db.session.commit()
    assert _chunks(sha256=sha) == []


def test_missing_chunks_are_404(app, client):
    _page, att_id, sha = add_page_with_file(app, png_bytes(), "foto.png")
    db.session.execute(StoredChunk.__table__.delete())
    db.session.commit()
    assert client.get(f"/edomex/archivos/{att_id}/foto.png").status_code == 404
    assert client.get(f"/edomex/archivos/{att_id}/miniatura").status_code == 404


def test_the_same_content_is_stored_once_per_tenant(app):
    data = png_bytes()
    add_page_with_file(app, data, "a.png", slug="a")
    _p, _a, sha = add_page_with_file(app, data, "b.png", slug="b")
    add_page_with_file(app, data, "c.png", slug="c", tenant="puebla")
    assert len(_chunks(tenant="edomex", sha256=sha, variant="")) == 1
    assert len(_chunks(tenant="puebla", sha256=sha, variant="")) == 1
    with tenant_context(app.extensions["comun"].tenants["edomex"]):
        assert db.session.scalar(select(func.count()).select_from(Page)) == 2


def test_an_unknown_store_is_a_configuration_error(tmp_path):
    with pytest.raises(ConfigError, match="UPLOAD_STORE"):
        create_app({"INSTANCE_PATH": str(tmp_path), "UPLOAD_STORE": "s3", "TESTING": True})


def test_copy_to_database_moves_a_single_host_site_to_the_shared_store(app, client, runner):
    app.config["UPLOAD_STORE"] = "filesystem"  # the site as it was on one host
    data = png_bytes()
    _page, att_id, sha = add_page_with_file(app, data, "foto.png")
    assert _chunks() == []
    result = runner.invoke(args=["uploads", "copy-to-database"])
    assert result.exit_code == 0, result.output
    assert "2 file(s) copied, 0 missing" in result.output  # the image and its thumbnail
    assert {r.variant for r in _chunks(tenant="edomex", sha256=sha)} == {"", "thumb"}
    assert "0 file(s) copied" in runner.invoke(args=["uploads", "copy-to-database"]).output  # idempotent
    app.config["UPLOAD_STORE"] = "database"
    for p in _files_under(app.config["UPLOAD_DIR"]):
        p.unlink()  # the host's disk is no longer needed
    response = client.get(f"/edomex/archivos/{att_id}/foto.png")
    assert response.status_code == 200 and response.data == data
