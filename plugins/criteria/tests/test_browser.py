"""Browser test (Playwright + Chromium): an evaluator fills three criteria, the secretariat
replies, the evaluator publishes, and the public cycle shows assessments and replies."""
from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from comun_cms.toolkit import db, tenant_context
from comun_cms.toolkit.testing import browser_login
from plugins.criteria import services
from plugins.criteria.models import EvaluationCycle

from .conftest import new_cycle


@pytest.mark.browser
def test_evaluator_assesses_secretariat_replies_cycle_published(app, page, make_user, edomex, framework):
    evaluator = make_user("eva@obs.test", role="evaluator", name="Eva Evaluadora")
    editor = make_user("editor@sesaemm.test", role="editor", name="Editora SESAEMM")
    c = new_cycle(edomex, framework, reply_deadline=dt.date(2099, 1, 1))
    with tenant_context(edomex):
        c = db.session.scalar(select(EvaluationCycle).where(EvaluationCycle.id == c.id))
        services.save_declaration(c, evaluator, evaluator_role="observatory", name="Eva Evaluadora",
                                  organization="Colectivo Cívico", has_conflict=False, conflict_description="")
        c.stage = "evaluation"
        db.session.commit()
        cid, crit = c.id, {cr.code: cr.id for cr in c.framework.criteria}
    admin_cycle = f"/edomex/admin/criterios/ciclos/{cid}"

    # the evaluator fills three criteria from the cycle's workspace
    browser_login(page, evaluator.email)
    answers = {"A-01": ("partial", None, "La ley publicada no tiene la última reforma."),
               "A-02": ("met", None, "Directorio completo."),
               "B-01": ("partial", "40", "Faltan actas de 2026.")}
    for code, (result, value, comment) in answers.items():
        page.goto(admin_cycle)
        page.click(f"a[href$='/criterios/{crit[code]}/evaluar']")
        page.check(f"input[name=result][value={result}]")
        if value is not None:
            page.fill("input[name=value]", value)
        page.fill("textarea[name=comment]", comment)
        page.click("form.form button[type=submit]")
        page.wait_for_url(f"**{admin_cycle}**")
    with page.expect_navigation():  # the URL does not change: wait for the POST's own response
        page.click(f"form[action$='/ciclos/{cid}/etapa'] button[type=submit]")

    # the secretariat replies to each assessment
    page.wait_for_load_state("networkidle")  # a late response would set the session cookie again
    page.context.clear_cookies()
    browser_login(page, editor.email)
    for code in answers:
        page.goto(admin_cycle)
        page.click(f"#crit-{crit[code]} a[href*='/replica']")
        page.fill("textarea[name=body]", f"Réplica sobre {code}: se corregirá este trimestre.")
        page.click("form.form button[type=submit]")
        page.wait_for_url(f"**{admin_cycle}**")

    # the evaluator publishes
    page.wait_for_load_state("networkidle")  # a late response would set the session cookie again
    page.context.clear_cookies()
    browser_login(page, evaluator.email)
    page.goto(admin_cycle)
    with page.expect_navigation():
        page.click(f"form[action$='/ciclos/{cid}/publicar'] button[type=submit]")

    # the public page shows both the assessments and the replies
    page.wait_for_load_state("networkidle")  # a late response would set the session cookie again
    page.context.clear_cookies()
    page.goto(f"/edomex/criterios/ciclos/{cid}")
    body = page.inner_text("main")
    for code, (_result, _value, comment) in answers.items():
        assert comment in body
        assert f"Réplica sobre {code}: se corregirá este trimestre." in body
    assert page.locator("svg.criteria-chart title").count() >= 1
    db.session.rollback()   # end the test's transaction: read what the live server wrote
    with tenant_context(edomex):
        cycle = db.session.scalar(select(EvaluationCycle).where(EvaluationCycle.id == cid))
        assert cycle.status == "published" and cycle.scores["total"] == 62.0   # 20 + 30 + 12
