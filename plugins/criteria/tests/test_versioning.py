"""Framework versioning: a new version never changes past cycles or their published content."""
from __future__ import annotations

import datetime as dt
import json

import pytest
from sqlalchemy import select

from comun_cms.toolkit import db, history as publication_history, latest_publication, tenant_context
from plugins.criteria import services
from plugins.criteria.framework_io import content_sha256
from plugins.criteria.models import CriteriaFramework, EvaluationCycle, user_slot

from .conftest import import_small, new_cycle

# Version 2: the 2025 law replaces the 2015 citation, B-01 becomes binary, a new criterion B-02;
# category names are left empty: they come from version 1.
V2_CSV = (
    "code,category,category_name,points,title,scoring_type,legal_basis,legal_basis_url\n"
    "A-01,A,,40,Publica la ley vigente,scale,LGTAIP 2025 art. 65,https://www.dof.gob.mx/\n"
    "A-02,A,,20,Publica el directorio,binary,LGTAIP 2025,\n"
    "B-01,B,,20,Publica las actas en plazo,binary,,\n"
    "B-02,B,,20,Publica la versión estenográfica,binary,,\n"
)


def run_published_cycle(tenant, fw, evaluator):
    """A cycle on ``fw`` assessed by ``evaluator`` on every criterion and published."""
    c = new_cycle(tenant, fw, reply_deadline=dt.date(2026, 7, 15))
    with tenant_context(tenant):
        c = db.session.scalar(select(EvaluationCycle).where(EvaluationCycle.id == c.id))
        services.save_declaration(c, evaluator, evaluator_role="observatory", name="Eva", organization="Org",
                                  has_conflict=False, conflict_description="")
        for cr in c.framework.criteria:
            value = 50 if cr.scoring_type == "percentage" else None
            services.save_assessment(c, cr, slot=user_slot(evaluator.id), evaluator=evaluator,
                                     evaluator_role="observatory", evaluator_name="Eva", organization="Org",
                                     result="partial" if cr.scoring_type != "binary" else "met", value=value)
        c.stage = "reply"
        services.publish_cycle(c, user=evaluator, on=dt.date(2026, 8, 1))
        db.session.commit()
        return c


def test_new_version_leaves_old_cycles_unchanged(app, client, edomex, framework, people):
    old = run_published_cycle(edomex, framework, people["evaluator"])
    with tenant_context(edomex):
        v1 = db.session.scalar(select(CriteriaFramework).where(CriteriaFramework.version_label == "1"))
        old_pub = latest_publication("evaluation_cycle", old.id)
        old_json, old_sha, old_hash = old_pub.canonical_json, old_pub.sha256, v1.content_sha256
        old_ids = [c.id for c in v1.criteria]
        old_total = old.scores["total"]

    v2 = import_small(edomex, V2_CSV, version="2")
    with tenant_context(edomex):
        v2 = db.session.scalar(select(CriteriaFramework).where(CriteriaFramework.version_label == "2"))
        assert [c.name for c in v2.categories] == ["Marco normativo", "Órganos colegiados"]   # from version 1
        assert v2.content_sha256 != old_hash
        assert not set(c.id for c in v2.criteria) & set(old_ids)
        v1 = db.session.scalar(select(CriteriaFramework).where(CriteriaFramework.version_label == "1"))
        assert [c.id for c in v1.criteria] == old_ids
        assert content_sha256(v1) == old_hash                     # content of version 1 untouched
        cycle = db.session.scalar(select(EvaluationCycle).where(EvaluationCycle.id == old.id))
        assert cycle.framework_id == v1.id and cycle.scores["total"] == old_total
        history = publication_history("evaluation_cycle", old.id)
        assert len(history) == 1 and history[0].sha256 == old_sha and history[0].canonical_json == old_json
        frozen = json.loads(old_json)["content"]
        assert frozen["framework"]["content_sha256"] == old_hash
        assert frozen["criteria"][0]["code"] == "A-01"
        # a new cycle uses version 2 and its own criteria rows
        new = services.create_cycle(v2, title="Ciclo 2027", period_label="2027", cutoff_date=dt.date(2027, 6, 30))
        db.session.commit()
        assert {r.criterion.id for r in services.cycle_rows(new)} == {c.id for c in v2.criteria}

        v1_id = v1.id
    assert client.get(f"/edomex/criterios/ciclos/{old.id}").status_code == 200
    fw_page = client.get(f"/edomex/criterios/marcos/{v1_id}").get_data(as_text=True)
    assert "LGTAIP 2015 art. 70 fr. I" in fw_page and "A newer version of this framework exists" in fw_page


def test_published_framework_cannot_change(app, edomex, framework):
    with tenant_context(edomex):
        fw = db.session.scalar(select(CriteriaFramework))
        with pytest.raises(services.CriteriaError):
            services.ensure_framework_editable(fw)
        with pytest.raises(services.CriteriaError):
            services.publish_framework(fw)
        with pytest.raises(services.CriteriaError):
            services.delete_draft_framework(fw)
        assert fw.status == "published"


def test_draft_framework_can_be_deleted_but_not_used_by_a_cycle(app, edomex, framework):
    draft = import_small(edomex, V2_CSV, version="2", publish=False)
    with tenant_context(edomex):
        draft = db.session.scalar(select(CriteriaFramework).where(CriteriaFramework.version_label == "2"))
        with pytest.raises(services.CriteriaError):
            services.create_cycle(draft, title="x", period_label="x", cutoff_date=dt.date(2026, 1, 1))
        services.delete_draft_framework(draft)
        db.session.commit()
        assert db.session.scalar(select(CriteriaFramework).where(CriteriaFramework.version_label == "2")) is None


def test_published_rows_are_guarded_at_flush(app, edomex, framework):
    from plugins.criteria.models import Criterion, FrameworkLockedError
    with tenant_context(edomex):
        criterion = db.session.scalar(select(Criterion).where(Criterion.code == "A-01"))
        criterion.title = "Otro título"
        with pytest.raises(FrameworkLockedError):
            db.session.flush()
        db.session.rollback()
        fw = db.session.scalar(select(CriteriaFramework))
        fw.name = "Otro nombre"
        with pytest.raises(FrameworkLockedError):
            db.session.flush()
        db.session.rollback()
        db.session.delete(db.session.scalar(select(Criterion).where(Criterion.code == "B-01")))
        with pytest.raises(FrameworkLockedError):
            db.session.flush()
        db.session.rollback()
        assert db.session.scalar(select(Criterion.title).where(Criterion.code == "A-01")) == "Publica la ley vigente"
        # a draft can still be edited; publishing it (status change) is allowed
        draft = import_small(edomex, V2_CSV, version="2", publish=False)
        draft = db.session.scalar(select(CriteriaFramework).where(CriteriaFramework.version_label == "2"))
        draft.criteria[0].title = "Editado en borrador"
        db.session.flush()
        services.publish_framework(draft)
        db.session.commit()
        assert draft.status == "published"
