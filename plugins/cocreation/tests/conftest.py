"""Fixtures of the co-creation tests: a process with an open consultation, problems in given
moderation states, in any tenant."""
from __future__ import annotations

import datetime as dt

import pytest

from comun_cms.toolkit import db, publish, tenant_context
from comun_cms.toolkit.testing import get_tenant

from plugins.cocreation import services as svc
from plugins.cocreation.models import Problem, Process


@pytest.fixture
def make_process(app):
    """``make_process(slug="edomex", published=True, opens=-1, closes=+10, title=...)``: a process
    whose consultation opens ``opens`` days from today and closes ``closes`` days from today."""

    def make(slug="edomex", *, published=True, opens=-1, closes=10, title="Proceso de prueba"):
        tenant = get_tenant(app, slug)
        with tenant_context(tenant):
            today = svc.tenant_today(tenant)
            process = Process(title=title, cycle="2026–2027",
                              consultation_opens=today + dt.timedelta(days=opens) if opens is not None else None,
                              consultation_closes=today + dt.timedelta(days=closes) if closes is not None else None)
            svc.ensure_steps(process)
            db.session.add(process)
            db.session.commit()
            if published:
                publish(process)
            return process.id

    return make


@pytest.fixture
def make_problem(app):
    """``make_problem(process_id, slug="edomex", title=..., published=True)``: a problem, published
    through moderation or left pending."""

    def make(process_id, slug="edomex", *, title="Problema de prueba", published=True, theme=None):
        tenant = get_tenant(app, slug)
        with tenant_context(tenant):
            problem = Problem(process_id=process_id, title=title, description=f"Descripción de {title}",
                              theme=theme or svc.DEFAULT_THEMES[0], municipality="Toluca")
            db.session.add(problem)
            db.session.flush()
            if published:
                svc.publish_problem(problem, None)
            db.session.commit()
            return problem.id

    return make
