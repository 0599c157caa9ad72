"""``comun demo`` content of the plugin: the real framework in every tenant (one content hash),
published demo cycles labelled "Dato de ejemplo", demo recommendations, idempotent loading, and
the portal comparing the three states."""
from __future__ import annotations

from sqlalchemy import func, select

from comun_cms.toolkit import DemoContext, User, db, tenant_context
from plugins.criteria import demo
from plugins.criteria.models import Assessment, CriteriaFramework, EvaluationCycle, Recommendation

from .conftest import quick_user

SLUGS = ("edomex", "hidalgo", "puebla")


def load_all(app):
    """Run the plugin's demo loader in the three tenants (demo editor and evaluator users)."""
    tenants = app.extensions["comun"].tenants
    for slug in SLUGS:
        t = tenants[slug]
        with tenant_context(t):
            editor = _user(f"editor@{slug}.demo.comun.mx", "editor", slug)
            _user(f"evaluator@{slug}.demo.comun.mx", "evaluator", slug)
            demo.load(t, DemoContext(tenant=t, user=editor, log=lambda m: None))
            db.session.commit()


def _user(email, role, slug):
    """The demo user ``email`` (created with ``role`` in ``slug`` the first time)."""
    user = db.session.scalar(select(User).where(User.email == email))
    return user or quick_user(email, role, role.title(), tenant=slug)


def counts(app):
    tenants = app.extensions["comun"].tenants
    out = {}
    for slug in SLUGS:
        with tenant_context(tenants[slug]):
            out[slug] = tuple(db.session.scalar(select(func.count()).select_from(m))
                              for m in (CriteriaFramework, EvaluationCycle, Assessment, Recommendation))
    return out


def test_demo_is_idempotent_labelled_and_compared_on_the_portal(app, client):
    """English via ?lang=en, Spanish (the production default) with the override off."""
    load_all(app)
    first = counts(app)
    assert first["edomex"] == (1, 2, 160, 3)            # 40 criteria x (self + evaluator) x 2 cycles
    load_all(app)
    assert counts(app) == first
    tenants = app.extensions["comun"].tenants
    hashes = set()
    for slug in SLUGS:
        with tenant_context(tenants[slug]):
            fw = db.session.scalar(select(CriteriaFramework))
            assert fw.status == "published" and not fw.is_demo and len(fw.criteria) == 40
            hashes.add(fw.content_sha256)
            cycles = db.session.scalars(select(EvaluationCycle)).all()
            assert all(c.status == "published" and c.is_demo for c in cycles)
            assert all(0 <= c.scores["total"] <= 100 for c in cycles)
            recs = db.session.scalars(select(Recommendation).order_by(Recommendation.number)).all()
            assert [r.answer for r in recs] == ["accepted", "rejected", "pending"] and all(r.is_demo for r in recs)
            latest = max(cycles, key=lambda c: c.cutoff_date).id
        page = client.get(f"/{slug}/criterios/ciclos/{latest}").get_data(as_text=True)
        assert "Demo data" in page and "dato de ejemplo" in page.lower()
        app.config["DEFAULT_LOCALE_OVERRIDE"] = None
        spanish = app.test_client().get(f"/{slug}/criterios/ciclos/{latest}").get_data(as_text=True)
        app.config["DEFAULT_LOCALE_OVERRIDE"] = "en"
        assert 'class="badge badge-demo"' in spanish and "Dato de ejemplo</span>" in spanish
    assert len(hashes) == 1
    with tenant_context(tenants["hidalgo"]):
        c = db.session.scalars(select(EvaluationCycle)).first()
        assert c.scores["not_applicable"] == 1                 # B-06 does not apply there (demo)
    portal = client.get("/criterios/").get_data(as_text=True)
    for state in ("Estado de México", "Hidalgo", "Puebla"):
        assert state in portal
    assert "Demo data" in portal and "<svg" in portal and "same SHA-256" in portal
    home = client.get("/").get_data(as_text=True)
    assert "Evaluation of the secretariats by criteria" in home
    framework_page = client.get("/edomex/criterios/").get_data(as_text=True)
    assert "Sistema de criterios CO+MÚN" in framework_page
