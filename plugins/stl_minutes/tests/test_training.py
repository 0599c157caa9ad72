"""Training material and the step-4 exercise (installation minutes of the STL) on the training
tenant ``capacitacion``, used here as the participant's workspace: the scenario hook (idempotent,
never commits, published by nobody), "check my work" on the fresh scenario, the whole task done
through the admin forms (with partial states), the model answer and the start page."""
from __future__ import annotations

import datetime as dt

import pytest
from flask import g, url_for
from sqlalchemy import func, select

from comun_cms.toolkit import DemoContext, Participant, Publication, TrainingTask, db, publish, tenant_context

import plugins.stl_minutes as plugin
from plugins.stl_minutes import services as svc
from plugins.stl_minutes import training
from plugins.stl_minutes.models import AgendaItem, Agreement, Attendance, Body, Member, Session

from .conftest import tenant_of, within

SLUG = "capacitacion"
BASE = f"/{SLUG}/admin/actas"
LABELS = ("installation session", "attendance", "quorum", "agenda", "agreement", "approved", "published")


def _counts() -> dict[str, int]:
    return {m.__name__: db.session.scalar(select(func.count()).select_from(m))
            for m in (Body, Member, Session, AgendaItem, Attendance, Agreement, Publication)}


def _load(app) -> None:
    """Load the scenario through the plugin's hook and commit, as the core's caller does."""
    tenant = tenant_of(app, SLUG)
    with tenant_context(tenant):
        plugin.training_scenario(tenant=tenant, ctx=DemoContext(tenant=tenant, user=None, log=lambda m: None))
        db.session.commit()


@pytest.fixture
def participant(app, make_user):
    return Participant(workspace=tenant_of(app, SLUG),
                       editor=make_user("participante-editor@capacitacion.test", role="editor", tenant=SLUG),
                       evaluator=make_user("participante-osc@capacitacion.test", role="evaluator", tenant=SLUG))


def _check(participant) -> list:
    db.session.expire_all()
    with tenant_context(participant.workspace):
        return INSTALLATION.check(participant)


def _done(participant) -> dict[str, bool]:
    items = _check(participant)
    assert len(items) == len(LABELS)
    return dict(zip(LABELS, (i.done for i in items)))


INSTALLATION = training.INSTALLATION_TASK


# --------------------------------------------------------------------------- scenario
def test_scenario_hook_loads_the_material_idempotently_without_committing(app):
    tenant = tenant_of(app, SLUG)
    ctx = DemoContext(tenant=tenant, user=None, log=lambda m: None)
    with tenant_context(tenant):
        assert plugin.training_scenario(tenant=tenant, ctx=ctx) == 3   # Sinaloa sessions 7 and 8, practice STL
        assert _counts()["Session"] == 2
        db.session.rollback()                                          # the hook left the commit to its caller
        assert _counts() == dict.fromkeys(_counts(), 0)
        plugin.training_scenario(tenant=tenant, ctx=ctx)
        db.session.commit()
        first = _counts()
        assert plugin.training_scenario(tenant=tenant, ctx=ctx) == 0
        db.session.commit()
        assert _counts() == first
        body = training.practice_body(tenant)
        assert body.name == "Secretariado Técnico Local de Gobierno Abierto del Estado de Ejemplo"
        assert body.status == "published" and body.quorum_rule == "majority_all_sectors"
        seats = [m for m in body.members if m.capacity == "member"]
        assert {m.sector for m in seats} == {"government", "civil_society", "guarantor"} and len(seats) == 7
        assert body.members[7].alternate_for_id == body.members[1].id
        assert db.session.scalar(select(Session).where(Session.number == 8)).status == "published"
        # scenario records are published by nobody
        assert db.session.scalar(select(func.count()).select_from(Publication)
                                 .where(Publication.published_by_id.is_not(None))) == 0
    with tenant_context(tenant_of(app, "edomex")):
        assert plugin.training_scenario(tenant=tenant_of(app, "edomex"), ctx=ctx) is None
        assert _counts()["Body"] == 0


def test_load_training_command_still_commits(app, runner):
    result = runner.invoke(args=["minutes", "load-training", "--tenant", SLUG, "--quiet"])
    assert result.exit_code == 0, result.output
    db.session.remove()
    with within(app, SLUG):
        assert _counts()["Session"] == 2 and _counts()["Body"] == 2


def test_the_hook_contributes_the_step_4_task():
    tasks = plugin.training_tasks()
    assert [t.key for t in tasks] == ["stl_minutes.installation"]
    task = tasks[0]
    assert isinstance(task, TrainingTask) and task.step == 4
    assert task.title == "Acta de instalación del Secretariado Técnico Local" and task.goals and task.steps


# --------------------------------------------------------------------------- check
def test_on_the_fresh_scenario_nothing_is_done(app, participant):
    _load(app)
    items = _check(participant)
    assert len(items) == 7 and not any(i.done for i in items) and all(i.hint for i in items)
    # scenario material never counts: an installation session published by nobody, complete
    tenant = participant.workspace
    with tenant_context(tenant):
        body = training.practice_body(tenant)
        s = Session(body=body, kind="inaugural", session_date=dt.date(2024, 1, 10))
        db.session.add(s)
        db.session.flush()
        svc.add_standard_agenda(s)
        svc.add_agenda_item(s, "deliberative", "Instalación")
        svc.set_member_attendance(s, {m.id for m in body.members})
        svc.add_agreement(tenant, s, text="Acuerdo", owner="STL", due_date=dt.date(2024, 2, 1))
        svc.publish_minutes(tenant, s, require_approval=False,
                            publisher=lambda r: publish(r, user=None, commit=False))
        db.session.commit()
    assert not any(_done(participant).values())


def _post(client, url, data=None):
    r = client.post(url, data=data or {})
    assert r.status_code == 302, (url, r.status_code, r.get_data(as_text=True)[:2000])
    return r


def test_doing_the_task_through_the_admin_forms(app, client, login_as, participant):
    _load(app)
    tenant = participant.workspace
    today = svc.tenant_today(tenant)
    with tenant_context(tenant):
        body = training.practice_body(tenant)
        body_id = body.id
        members = {m.name: (m.id, m.sector, m.capacity) for m in body.members}
    login_as(participant.editor, tenant=SLUG)
    assert client.get(f"{BASE}/").status_code == 200
    installed = today - dt.timedelta(days=20)
    _post(client, f"{BASE}/sesiones/nueva", {
        "body": body_id, "kind": "inaugural", "number": "", "session_date": installed.isoformat(),
        "start_time": "10:00", "end_time": "12:00", "modality": "in_person", "place": "Sala de juntas"})
    with within(app, SLUG):
        sid = db.session.scalar(select(Session.id).where(Session.kind == "inaugural"))
    assert _done(participant) == dict(zip(LABELS, (True,) + (False,) * 6))

    # attendance of government only: neither the sectors nor the quorum
    gov = [i for i, sector, cap in members.values() if sector == "government" and cap == "member"]
    _post(client, f"{BASE}/sesiones/{sid}/asistencia/integrantes", {"present": gov})
    done = _done(participant)
    assert not done["attendance"] and not done["quorum"]
    # civil society too, but no seat of the transparency authority: sectors yes, quorum not (rule of the body)
    society = [i for i, sector, cap in members.values() if sector == "civil_society"]
    _post(client, f"{BASE}/sesiones/{sid}/asistencia/integrantes", {"present": gov + society})
    done = _done(participant)
    assert done["attendance"] and not done["quorum"]
    everyone = [i for i, sector, cap in members.values() if cap in ("member", "facilitator")]
    _post(client, f"{BASE}/sesiones/{sid}/asistencia/integrantes", {"present": everyone})
    assert _done(participant)["quorum"]

    # the standard items alone are not the agenda of the session
    _post(client, f"{BASE}/sesiones/{sid}/orden-del-dia/estandar")
    assert not _done(participant)["agenda"]
    _post(client, f"{BASE}/sesiones/{sid}/orden-del-dia",
          {"agenda-kind": "deliberative", "agenda-title": "Instalación formal del Secretariado Técnico Local"})
    assert _done(participant)["agenda"]

    # an agreement without due date does not count
    _post(client, f"{BASE}/sesiones/{sid}/acuerdos",
          {"agr-text": "Elaborar el calendario de sesiones.", "agr-vote": "unanimous", "agr-owner": "Secretaría técnica"})
    assert not _done(participant)["agreement"]
    _post(client, f"{BASE}/sesiones/{sid}/acuerdos",
          {"agr-text": "Publicar los lineamientos de operación.", "agr-vote": "unanimous",
           "agr-owner": "Secretaría técnica del STL", "agr-due_date": (today + dt.timedelta(days=30)).isoformat()})
    assert _done(participant)["agreement"]

    _post(client, f"{BASE}/sesiones/{sid}/revision")
    _post(client, f"{BASE}/sesiones/nueva", {
        "body": body_id, "kind": "regular", "number": "1", "session_date": (today - dt.timedelta(days=5)).isoformat(),
        "modality": "virtual"})
    with within(app, SLUG):
        first = db.session.scalar(select(Session.id).where(Session.body_id == body_id, Session.kind == "regular"))
    page = client.get(f"{BASE}/sesiones/{sid}").get_data(as_text=True)
    assert f'value="{first}"' in page                                      # offered to approve the minutes
    done = _done(participant)
    assert not done["approved"] and not done["published"]
    _post(client, f"{BASE}/sesiones/{sid}/aprobar", {"appr-approving": str(first)})
    done = _done(participant)
    assert done["approved"] and not done["published"]
    _post(client, f"{BASE}/sesiones/{sid}/publicar")
    items = _check(participant)
    assert all(i.done for i in items), [(i.label, i.hint) for i in items if not i.done]
    with within(app, SLUG):
        s = db.session.get(Session, sid)
        assert s.status == "published" and s.locked and s.approved_in_id == first
    assert client.get(f"/{SLUG}/actas/sesiones/{sid}").status_code == 200


def test_minutes_published_by_someone_else_are_not_the_participants(app, make_user, participant):
    _load(app)
    other = Participant(workspace=participant.workspace,
                        editor=make_user("otra@capacitacion.test", role="editor", tenant=SLUG))
    with tenant_context(participant.workspace):
        training.solve_installation(other)
        db.session.commit()
    done = _done(participant)
    assert done["approved"] and not done["published"]


def test_solve_makes_every_item_done(app, participant):
    _load(app)
    with tenant_context(participant.workspace):
        INSTALLATION.solve(participant)
        db.session.flush()
    items = _check(participant)
    assert all(i.done for i in items), [(i.label, i.hint) for i in items if not i.done]
    with tenant_context(participant.workspace):
        s = training.installation_sessions()[0]
        pubs = db.session.scalars(select(Publication).where(Publication.content_type == "stl_session",
                                                             Publication.record_id == str(s.id))).all()
        assert [p.published_by_id for p in pubs] == [participant.editor.id]
        INSTALLATION.solve(participant)                                      # again: nothing more to do
        assert len(training.installation_sessions()) == 1
        db.session.commit()


def test_solve_continues_the_participants_draft(app, participant):
    _load(app)
    tenant = participant.workspace
    with tenant_context(tenant):
        body = training.practice_body(tenant)
        s = Session(body=body, kind="inaugural", session_date=svc.tenant_today(tenant) + dt.timedelta(days=3))
        db.session.add(s)
        db.session.flush()
        svc.add_standard_agenda(s)
        svc.set_member_attendance(s, {body.members[0].id})
        svc.submit_for_review(s)                      # in review, dated in the future: solve reopens it
        db.session.commit()
        sid = s.id
        INSTALLATION.solve(participant)
        db.session.commit()
        assert [x.id for x in training.installation_sessions()] == [sid]
    assert all(_done(participant).values())


def test_solve_without_the_scenario_creates_the_practice_body(app, participant):
    with tenant_context(participant.workspace):
        INSTALLATION.solve(participant)
        db.session.commit()
    assert all(_done(participant).values())


def test_start_page_answers_for_the_participant(app, client, login_as, participant):
    _load(app)
    with app.test_request_context(f"/{SLUG}/admin/"):
        g.tenant = participant.workspace
        url = url_for(INSTALLATION.start_endpoint)
    assert url == f"{BASE}/"
    login_as(participant.editor, tenant=SLUG)
    r = client.get(url)
    assert r.status_code == 200
    assert "Secretariado Técnico Local de Gobierno Abierto del Estado de Ejemplo" in r.get_data(as_text=True)
