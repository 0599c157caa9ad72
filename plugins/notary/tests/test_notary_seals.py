"""Every plugin's public record page shows the notary's "Verificado" seal for its published version."""
from sqlalchemy import select

from comun_cms.toolkit import Publication, db, tenant_context
from comun_cms.toolkit.testing import run_demo


def test_every_content_type_page_shows_the_seal(app, client):
    edomex = app.extensions["comun"].tenants["edomex"]
    run_demo(app, tenants=[edomex], log=lambda m: None)
    registry = app.extensions["comun"].content_types
    seen = set()
    with tenant_context(edomex):
        current = db.session.scalars(select(Publication).where(Publication.is_current.is_(True),
                                                                Publication.action != "retract")).all()
        urls = {}
        for pub in current:
            if pub.content_type in urls:
                continue
            ct = registry.get(pub.content_type)
            record = db.session.scalar(select(ct.model).where(ct.model.id == int(pub.record_id)))
            with app.test_request_context():
                urls[pub.content_type] = ct.url(record)
    for name, url in sorted(urls.items()):
        html = client.get(url).get_data(as_text=True)
        assert "notary-seal" in html, f"{name}: no seal on {url}"
        seen.add(name)
    assert len(seen) >= 8, seen
