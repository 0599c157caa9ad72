"""Image decompression bombs are refused before decoding (issue 19, item 6).

The bomb is generated here: a valid PNG whose header declares 14000 x 12500 pixels (175
megapixels, under Pillow's own 178.9 Mpx error threshold) and whose compressed rows of zeros
take a few kilobytes.
"""
from __future__ import annotations

import io
import struct
import zlib

import pytest
from PIL import Image
from sqlalchemy import func, select
from werkzeug.datastructures import FileStorage

from comun_cms.extensions import db
from comun_cms.models import Attachment, Page
from comun_cms.tenancy import tenant_context
from comun_cms.testing import get_tenant
from comun_cms.uploads import UploadError, make_thumbnail, store_upload, upload_root


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def bomb_png(width: int = 14000, height: int = 12500) -> bytes:
    """A valid 1-bit greyscale PNG of ``width`` x ``height`` black pixels (PNG spec, ISO 15948)."""
    row = b"\x00" + bytes((width + 7) // 8)  # filter type 0, then the packed pixels
    z = zlib.compressobj(9)
    body = b"".join(z.compress(row) for _ in range(height)) + z.flush()
    ihdr = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", ihdr) + _chunk(b"IDAT", body) + _chunk(b"IEND", b"")


def png_bytes(size=(40, 30)) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", size, (31, 94, 58)).save(buf, "PNG")
    return buf.getvalue()


@pytest.fixture
def english(client):
    with client.session_transaction() as sess:
        sess["lang"] = "en"


def _attachments(app) -> int:
    with tenant_context(get_tenant(app, "edomex")):
        return db.session.scalar(select(func.count()).select_from(Attachment))


def test_the_generated_bomb_is_a_small_valid_png_of_175_megapixels():
    data = bomb_png()
    assert len(data) < 100_000
    with Image.open(io.BytesIO(data)) as im:
        assert im.size == (14000, 12500) and im.format == "PNG"


def test_a_decompression_bomb_is_refused_with_a_form_error(app, client, login_as, english):
    with tenant_context(get_tenant(app, "edomex")):
        page = Page(slug="bomba", title="Bomba")
        db.session.add(page)
        db.session.commit()
        page_id = page.id
    login_as("editor")
    response = client.post(f"/edomex/admin/paginas/{page_id}/archivos", content_type="multipart/form-data",
                           data={"upload-file": (io.BytesIO(bomb_png()), "plano.png"), "upload-title": "Plano"})
    assert response.status_code == 422
    text = response.get_data(as_text=True)
    assert "measures 14000 × 12500 pixels (175 megapixels)" in text and "at most 40 megapixels" in text
    assert _attachments(app) == 0
    # nothing of it stays on disk: no stored file, no thumbnail
    leftovers = [p for p in upload_root("edomex").rglob("*") if p.is_file()] if upload_root("edomex").exists() else []
    assert leftovers == []


class TestConfigurableLimit:
    @pytest.fixture
    def app_config(self, app_config):
        return {**app_config, "MAX_IMAGE_PIXELS": 1000}

    def test_the_limit_is_configurable_and_an_image_at_the_limit_passes(self, app):
        with app.test_request_context(headers={"Accept-Language": "en"}), \
                tenant_context(get_tenant(app, "edomex")):
            with pytest.raises(UploadError) as err:
                store_upload(FileStorage(io.BytesIO(png_bytes((40, 30))), filename="foto.png"), field="foto")
            assert err.value.field == "foto" and "40 × 30 pixels" in str(err.value)
            att = store_upload(FileStorage(io.BytesIO(png_bytes((40, 25))), filename="foto.png"))
            assert att.kind == "image"


def test_thumbnails_of_large_jpegs_are_decoded_at_reduced_scale(tmp_path):
    src = tmp_path / "grande.jpg"
    Image.new("RGB", (4000, 3000), (200, 30, 60)).save(src, "JPEG")
    opened = []
    real_open = Image.open

    def spy(*args, **kwargs):
        im = real_open(*args, **kwargs)
        opened.append(im)
        return im
    Image.open = spy
    try:
        assert make_thumbnail(src, tmp_path / "t.webp")
    finally:
        Image.open = real_open
    # draft() made the decoder scale by 1/8 while reading: 500 x 375 pixels were decoded, not 12 M
    assert opened and opened[0].size[0] <= 1000
    with Image.open(tmp_path / "t.webp") as thumb:
        assert max(thumb.size) == 480


def test_the_refusal_is_in_spanish_by_default(spanish, app, client, login_as):
    with tenant_context(get_tenant(app, "edomex")):
        page = Page(slug="bomba-es", title="Bomba")
        db.session.add(page)
        db.session.commit()
        page_id = page.id
    login_as("editor")
    response = client.post(f"/edomex/admin/paginas/{page_id}/archivos", content_type="multipart/form-data",
                           data={"upload-file": (io.BytesIO(bomb_png()), "plano.png")})
    assert response.status_code == 422
    assert "mide 14000 × 12500 píxeles (175 megapíxeles)" in response.get_data(as_text=True)
