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


@pytest.fixture
def make_table(app):
    """``make_table(process_id, problem_ids, slug="edomex", published=True, minute="locked")``: a
    table taking up ``problem_ids`` with one session and a results minute with one proposal per
    problem, left as ``minute`` says (``None``: no minute, ``"draft"``, ``"approved"``,
    ``"locked"``). Returns ``{"table_id", "minute_id", "proposal_id", "session_id"}``."""
    from plugins.cocreation import minutes as mins
    from plugins.cocreation import tables as tbl
    from plugins.cocreation.models import CocreationTable

    def make(process_id, problem_ids, slug="edomex", *, published=True, minute="locked", title="Mesa de prueba"):
        tenant = get_tenant(app, slug)
        with tenant_context(tenant):
            table = CocreationTable(process_id=process_id, title=title, theme=svc.DEFAULT_THEMES[0],
                                    description="Descripción de la mesa", place="Toluca", capacity=30)
            db.session.add(table)
            tbl.set_problems(table, list(problem_ids))
            row = tbl.add_session(table, day=dt.date(2026, 5, 4), starts=dt.time(10, 0), ends=dt.time(13, 0),
                                  place="Sala 1")
            db.session.flush()
            out = {"table_id": table.id, "session_id": row.id, "minute_id": 0, "proposal_id": 0}
            if published:
                publish(table, commit=False)
            if minute:
                m = mins.minute_for(table, create=True)
                mins.save_minute(m, held_on=svc.tenant_today(tenant) - dt.timedelta(days=1), summary="Resumen **acordado**")
                for pid in problem_ids:
                    proposal = mins.add_proposal(m, title=f"Propuesta para {pid}", description="Qué haremos",
                                                 problem_id=pid, responsible_institution="INFOEM")
                db.session.flush()
                out.update(minute_id=m.id, proposal_id=proposal.id)
                if minute in ("approved", "locked"):
                    mins.approve_minute(m)
                if minute == "locked":
                    mins.publish_minute(m)
            db.session.commit()
            return out

    return make
