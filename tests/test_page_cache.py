"""Issue 17 item 1: the anonymous page cache (comun_cms/pagecache.py).

Anonymous GETs are cached per (tenant, generation, language, path, query); a publication bumps
the tenant's generation in its transaction, so another worker (a second application sharing the
database and the cache) serves the new content at once. Never cached: logged-in users, responses
with a cookie, CSRF token or flash message. ETag / Last-Modified answer 304.
"""
from __future__ import annotations

import os
import re
import secrets
import time

import flask_babel
import pytest
from sqlalchemy import select

from comun_cms import pagecache, publishing
from comun_cms.app import create_app
from comun_cms.changes import admin_change
from comun_cms.extensions import db
from comun_cms.models import CacheGeneration, Feedback, Page
from comun_cms.search.service import get_search
from comun_cms.tenancy import tenant_context
from comun_cms.testing import get_tenant, redis_url_or_skip
from comun_cms.views.public import make_form_token

REDIS_URL = os.environ.get("COMUN_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


@pytest.fixture
def app_config(app_config):
    return {**app_config, "PAGE_CACHE": True, "GENERATION_MEMO": True}


def _redis_or_skip() -> str:
    return redis_url_or_skip(REDIS_URL)


def _publish_page(app, slug: str, title: str, tenant: str = "edomex") -> None:
    with tenant_context(get_tenant(app, tenant)):
        page = Page(slug=slug, title=title, summary="", body=f"Cuerpo de {title}.", section="links")
        db.session.add(page)
        db.session.flush()
        publishing.publish(page)
    get_search().drain_outbox()  # what the indexer (comun search worker) does next


def _second_worker(app, **config):
    """Another application on the same database (a second gunicorn worker or host)."""
    other = create_app({"SQLALCHEMY_DATABASE_URI": app.config["SQLALCHEMY_DATABASE_URI"], "TESTING": True,
                        "INSTANCE_PATH": config.pop("INSTANCE_PATH", app.instance_path),
                        "SECRET_KEY": app.config["SECRET_KEY"], "DEFAULT_LOCALE_OVERRIDE": "en",
                        "SEARCH_SYNC": False, "PAGE_CACHE": True, **config})
    return other


def test_anonymous_page_is_served_from_the_cache(app, client):
    _publish_page(app, "primera", "Primera noticia")
    first = client.get("/edomex/")
    second = client.get("/edomex/")
    assert first.headers["X-Page-Cache"] == "miss" and second.headers["X-Page-Cache"] == "hit"
    assert second.get_data() == first.get_data() and b"Primera noticia" in second.get_data()
    # a change that bypasses publishing (and so the generation) is not seen: the page is cached
    with tenant_context(get_tenant(app, "edomex")):
        db.session.scalar(select(Page)).title = "Cambiado sin publicar"
        db.session.commit()
    assert b"Primera noticia" in client.get("/edomex/").get_data()


@pytest.mark.parametrize("backend", ["filesystem", "redis"])
def test_publication_is_seen_at_once_by_another_worker(app, client, backend, tmp_path):
    config = {"PAGE_CACHE_KEY_PREFIX": f"test-{secrets.token_hex(6)}:"}
    if backend == "redis":
        config["CACHE_URL"] = app.config["CACHE_URL"] = _redis_or_skip()
        app.config["PAGE_CACHE_KEY_PREFIX"] = config["PAGE_CACHE_KEY_PREFIX"]
        config["INSTANCE_PATH"] = str(tmp_path / "worker-b")  # shares nothing on disk with worker A
    worker_b = _second_worker(app, **config).test_client()
    _publish_page(app, "vieja", "Noticia vieja")
    assert client.get("/edomex/").headers["X-Page-Cache"] == "miss"
    old = worker_b.get("/edomex/")
    assert old.headers["X-Page-Cache"] == "hit" and b"Noticia vieja" in old.get_data()  # shared cache
    assert worker_b.get("/").headers["X-Page-Cache"] == "miss"
    assert worker_b.get("/").headers["X-Page-Cache"] == "hit"

    _publish_page(app, "nueva", "Noticia nueva")  # on worker A

    fresh = worker_b.get("/edomex/")
    assert fresh.headers["X-Page-Cache"] == "miss" and b"Noticia nueva" in fresh.get_data()
    assert b"Noticia nueva" in worker_b.get("/edomex/p/nueva").get_data()
    portal = worker_b.get("/")  # the portal's generation follows every tenant's
    assert portal.headers["X-Page-Cache"] == "miss" and b"Noticia nueva" in portal.get_data()
    assert worker_b.get("/puebla/").status_code == 200


def test_correction_and_retraction_bump_the_generation(app, client):
    _publish_page(app, "aviso", "Aviso original")
    assert b"Aviso original" in client.get("/edomex/p/aviso").get_data()
    with tenant_context(get_tenant(app, "edomex")):
        page = db.session.scalar(select(Page).where(Page.slug == "aviso"))
        page.title = "Aviso corregido"
        publishing.correct(page, reason="Errata")
    assert b"Aviso corregido" in client.get("/edomex/p/aviso").get_data()
    with tenant_context(get_tenant(app, "edomex")):
        publishing.retract(db.session.scalar(select(Page).where(Page.slug == "aviso")), reason="Error")
    assert client.get("/edomex/p/aviso").status_code == 410


def _generation_row(tenant: str = "edomex") -> tuple[int, str] | None:
    row = db.session.execute(select(CacheGeneration.generation, CacheGeneration.token)
                             .where(CacheGeneration.tenant == tenant)).first()
    return None if row is None else tuple(row)


def test_failed_publication_does_not_bump_the_generation(app):
    assert _generation_row() is None
    with tenant_context(get_tenant(app, "edomex")):
        page = Page(slug="x", title="X", summary="", body="", section="links")
        db.session.add(page)
        db.session.commit()
        publishing.publish(page)
        published = _generation_row()
        with pytest.raises(publishing.PublishError):
            publishing.publish(page)  # already published: rolled back
        page.title = "Y"
        with pytest.raises(publishing.PublishError):
            publishing.correct(page, reason="")  # no reason: rolled back
    assert published is not None and published[0] >= 1
    assert _generation_row() == published


def test_admin_changes_bump_the_tenant_generation_only(app):
    with app.test_request_context("/edomex/admin/"), tenant_context(get_tenant(app, "edomex")):
        portal_before = pagecache.current_generation(pagecache.PORTAL)
        with admin_change("settings.update", object_type="settings", object_id="edomex"):
            pass
    with app.test_request_context("/"):
        gens = pagecache.read_generations()
        assert set(gens) == {"edomex"}
        assert pagecache.current_generation(pagecache.PORTAL).token != portal_before.token


def test_logged_in_users_are_never_served_or_stored(app, client, login_as):
    _publish_page(app, "p1", "Pagina uno")
    login_as("editor")
    response = client.get("/edomex/")
    assert "X-Page-Cache" not in response.headers
    assert "X-Page-Cache" not in client.get("/edomex/").headers
    anonymous = app.test_client()
    assert anonymous.get("/edomex/").headers["X-Page-Cache"] == "miss"  # nothing was stored for the editor


def test_etag_and_last_modified_answer_304(app, client):
    _publish_page(app, "p1", "Pagina uno")
    first = client.get("/edomex/p/p1")
    etag, modified = first.headers["ETag"], first.headers["Last-Modified"]
    assert "no-cache" in first.headers["Cache-Control"]
    again = client.get("/edomex/p/p1", headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.get_data() == b""
    since = client.get("/edomex/p/p1", headers={"If-Modified-Since": modified})
    assert since.status_code == 304
    _publish_page(app, "p2", "Pagina dos")  # new generation, same page: the ETag (a body hash) holds
    assert client.get("/edomex/p/p1", headers={"If-None-Match": etag}).status_code == 304
    with tenant_context(get_tenant(app, "edomex")):
        page = db.session.scalar(select(Page).where(Page.slug == "p1"))
        page.title = "Pagina uno corregida"
        publishing.correct(page, reason="Errata")
    changed = client.get("/edomex/p/p1", headers={"If-None-Match": etag})
    assert changed.status_code == 200 and b"Pagina uno corregida" in changed.get_data()


def test_language_is_part_of_the_key(app, client, spanish):
    spanish_page = client.get("/", headers={"Accept-Language": "es-MX"})
    english_page = client.get("/", headers={"Accept-Language": "en"})
    assert english_page.headers["X-Page-Cache"] == "miss"
    assert 'lang="es-MX"' in spanish_page.get_data(as_text=True)
    assert 'lang="en"' in english_page.get_data(as_text=True)
    assert client.get("/", headers={"Accept-Language": "en"}).headers["X-Page-Cache"] == "hit"
    chosen = client.get("/edomex/?lang=en")  # an explicit choice is stored in the session: not cached
    assert "X-Page-Cache" not in chosen.headers


def test_search_results_follow_the_index(app, client):
    _publish_page(app, "informe", "Informe de transparencia")
    assert b"Informe de transparencia" in client.get("/edomex/buscar?q=transparencia").get_data()
    assert client.get("/edomex/buscar?q=transparencia").headers["X-Page-Cache"] == "hit"
    _publish_page(app, "informe-2", "Segundo informe de transparencia")  # SEARCH_SYNC indexes it
    assert b"Segundo informe" in client.get("/edomex/buscar?q=transparencia").get_data()


class TestFormsStillWork:
    @pytest.fixture
    def app_config(self, app_config):
        return {**app_config, "PAGE_CACHE": True, "GENERATION_MEMO": True, "WTF_CSRF_ENABLED": True}

    def test_feedback_form_is_rendered_per_visitor_and_submits(self, app, client):
        first = client.get("/edomex/seccion/feedback")
        assert "X-Page-Cache" not in first.headers and "Set-Cookie" in first.headers  # token in the session
        token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', first.get_data(as_text=True)).group(1)
        other = app.test_client().get("/edomex/seccion/feedback")
        assert "X-Page-Cache" not in other.headers and token not in other.get_data(as_text=True)
        data = {"csrf_token": token, "kind": "question", "subject": "Minutas", "message": "¿Dónde están?",
                "privacy_consent": "y", "issued": make_form_token("feedback", "edomex", time.time() - 10)}
        sent = client.post("/edomex/seccion/feedback", data=data)
        assert sent.status_code == 303   # to the request's private tracking page
        thanks = client.get(sent.headers["Location"])  # the flash message is shown, never stored
        assert "Thank you" in thanks.get_data(as_text=True) and "X-Page-Cache" not in thanks.headers
        with tenant_context(get_tenant(app, "edomex")):
            assert db.session.scalar(select(Feedback.subject)) == "Minutas"
        anonymous = app.test_client().get("/edomex/seccion/feedback")
        assert "Thank you" not in anonymous.get_data(as_text=True)

    def test_search_form_works_from_a_cached_page(self, app, client):
        _publish_page(app, "informe", "Informe anual")
        home = client.get("/edomex/")
        assert home.headers["X-Page-Cache"] == "miss" and "Set-Cookie" not in home.headers
        assert 'csrf_token' not in home.get_data(as_text=True)
        assert client.get("/edomex/").headers["X-Page-Cache"] == "hit"
        results = client.get("/edomex/buscar?q=anual")
        assert results.status_code == 200 and b"Informe anual" in results.get_data()


def test_memo_is_computed_once_per_generation_and_language(app):
    calls = []

    def compute():
        calls.append(1)
        return len(calls)

    with app.test_request_context("/edomex/"), tenant_context(get_tenant(app, "edomex")):
        assert pagecache.memo_per_generation("t", compute) == 1
        assert pagecache.memo_per_generation("t", compute) == 1
        assert pagecache.memo_per_generation("t", compute, vary=("otro",)) == 2
    with app.test_request_context("/edomex/"), tenant_context(get_tenant(app, "edomex")):
        assert pagecache.memo_per_generation("t", compute) == 1  # another request, same generation
        pagecache.bump_generation("edomex")
        db.session.commit()
    with app.test_request_context("/edomex/"), tenant_context(get_tenant(app, "edomex")):
        assert pagecache.memo_per_generation("t", compute) == 3
    with app.test_request_context("/edomex/?lang=es_MX"), tenant_context(get_tenant(app, "edomex")):
        flask_babel.refresh()  # the test keeps one app context, where Flask-Babel caches the locale
        assert pagecache.memo_per_generation("t", compute) == 4
    flask_babel.refresh()
    app.config["GENERATION_MEMO"] = False
    with app.test_request_context("/edomex/"), tenant_context(get_tenant(app, "edomex")):
        assert pagecache.memo_per_generation("t", compute) == 5
