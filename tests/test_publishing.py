"""The publish / correct / retract workflow, canonical JSON and the on_publish transaction rule."""
from __future__ import annotations

import hashlib
import json

import pytest
import rfc8785
from sqlalchemy import func, select

from comun_cms import hookimpl
from comun_cms.extensions import db
from comun_cms.models import Page, Publication, SearchOutbox
from comun_cms.publishing import PublishError, correct, diff_publications, history, publish, retract


def _page(**kw):
    page = Page(slug=kw.pop("slug", "acta"), title=kw.pop("title", "Acta de instalación"),
                body=kw.pop("body", "Texto con acentos: sesión, corrupción."), **kw)
    db.session.add(page)
    db.session.commit()
    return page


def test_publish_freezes_canonical_json_and_sha256(tenant):
    page = _page()
    pub = publish(page)
    assert page.status == "published" and page.version == 1 and pub.version == 1
    data = pub.canonical_json.encode("utf-8")
    assert hashlib.sha256(data).hexdigest() == pub.sha256
    doc = json.loads(data)
    assert rfc8785.dumps(doc) == data  # already canonical (RFC 8785)
    assert doc["tenant"] == "edomex" and doc["content_type"] == "page" and doc["action"] == "publish"
    assert doc["content"]["title"] == "Acta de instalación"


def test_publish_twice_is_refused(tenant):
    page = _page()
    publish(page)
    with pytest.raises(PublishError, match="already published"):
        publish(page)


def test_correction_needs_reason_and_creates_linked_version(tenant):
    page = _page()
    first = publish(page)
    page.body = "Texto corregido."
    with pytest.raises(PublishError, match="reason"):
        correct(page, reason="  ")
    db.session.refresh(page)
    assert page.body != "Texto corregido."  # the failed correction left nothing behind
    page.body = "Texto corregido."
    second = correct(page, reason="Errata en el acuerdo 2")
    assert second.version == 2 and second.previous_id == first.id and second.reason == "Errata en el acuerdo 2"
    assert [p.version for p in history("page", page.id)] == [1, 2]
    changes = diff_publications(first, second)
    assert [c.field for c in changes] == ["body"]
    assert "<del>" in changes[0].html and "<ins>" in changes[0].html
    assert first.canonical_json != second.canonical_json  # version 1 is untouched
    assert (first.is_current, second.is_current) == (False, True)


def test_retraction_is_published(tenant):
    page = _page()
    publish(page)
    pub = retract(page, reason="Publicado por error")
    assert page.status == "retracted" and pub.action == "retract" and pub.version == 2
    assert json.loads(pub.canonical_json)["content"] is None
    with pytest.raises(PublishError):
        correct(page, reason="x")


def test_failing_listener_rolls_back_everything(app, tenant, register_plugin):
    class Broken:
        @hookimpl
        def on_publish(self, event):
            raise RuntimeError("notary down")

    register_plugin(Broken(), "broken")
    page = _page()
    with pytest.raises(PublishError, match="nothing was stored") as info:
        publish(page)
    assert "notary down" not in str(info.value)  # internals are logged, not shown
    assert isinstance(info.value.__cause__, RuntimeError)
    db.session.expire_all()
    assert db.session.scalar(select(func.count()).select_from(Publication)) == 0
    assert db.session.scalar(select(func.count()).select_from(SearchOutbox)) == 0
    assert db.session.scalar(select(Page.status).where(Page.id == page.id)) == "draft"


def test_publication_queues_search_outbox_in_same_transaction(app, tenant):
    app.config["SEARCH_SYNC"] = False
    page = _page()
    publish(page)
    rows = db.session.scalars(select(SearchOutbox)).all()
    assert len(rows) == 1 and rows[0].op == "upsert" and rows[0].doc_id == f"edomex:page:{page.id}"
    retract(page, reason="retirada")
    assert db.session.scalars(select(SearchOutbox.op).order_by(SearchOutbox.id)).all() == ["upsert", "delete"]


def test_attachment_hash_is_part_of_published_content(app, tenant):
    import io
    from PIL import Image
    from werkzeug.datastructures import FileStorage
    from comun_cms.uploads import store_upload
    page = _page()
    buf = io.BytesIO()
    Image.new("RGB", (8, 8), "red").save(buf, "PNG")
    att = store_upload(FileStorage(io.BytesIO(buf.getvalue()), filename="foto sesión.png"),
                       owner_type="page", owner_id=page.id)
    db.session.commit()
    pub = publish(page)
    doc = json.loads(pub.canonical_json)
    assert doc["attachments"][0]["sha256"] == hashlib.sha256(buf.getvalue()).hexdigest()
    assert doc["attachments"][0]["filename"] == "foto_sesion.png"
    assert att.public is True
