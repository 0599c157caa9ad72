"""Training exercise of the notary (step 13): verify the receipt of one of your own publications.

The participant's workspace is the ``capacitacion`` training tenant itself; the end-to-end tests
go through the admin page forms, the record's seal, the receipt downloads and the verify page
with the test client, without JavaScript.
"""
from __future__ import annotations

import io
import re

import pytest
from flask import url_for
from flask_login import current_user
from sqlalchemy import func, select

from comun_cms.toolkit import AuditEvent, Page, Participant, Publication, User, db, publish, tenant_context
from comun_cms.toolkit.testing import get_pm, get_tenant
import plugins.notary as notary_module
from plugins.notary.services import verify_receipt_text
from plugins.notary.training import KEY, VERIFY_ACTION, record_verification

WS = "capacitacion"
PAGE_FORM = {"title": "Informe intermedio de cumplimiento", "slug": "", "summary": "Avance del plan.",
             "body": "Informe intermedio de cumplimiento del Plan de Acción.", "section": "", "language": "es",
             "source": ""}


@pytest.fixture
def task(app):
    """The notary's step-13 task, from its registered training_tasks hook implementation."""
    notary = get_pm().get_plugin("notary")
    assert any(impl.plugin is notary for impl in get_pm().hook.training_tasks.get_hookimpls())
    tasks = [t for t in notary.training_tasks() if t.key == KEY]
    assert len(tasks) == 1
    return tasks[0]


@pytest.fixture
def participant(app, make_user):
    return Participant(workspace=get_tenant(app, WS),
                       editor=make_user("editor@capacitacion.test", role="editor", tenant=WS),
                       evaluator=make_user("evaluador@capacitacion.test", role="evaluator", tenant=WS))


@pytest.fixture
def scenario(app):
    """A scenario record as ``comun training load`` publishes it: by nobody. Returns its slug."""
    with tenant_context(get_tenant(app, WS)):
        page = Page(slug="ejercicio-13", title="Ejercicio 13", body="Material de capacitación.", is_demo=True)
        db.session.add(page)
        publish(page, user=None)
    return "ejercicio-13"


def check(app, task, participant, slug: str = WS) -> list:
    with tenant_context(get_tenant(app, slug)):
        return task.check(participant)


def events(app, slug: str = WS) -> list[AuditEvent]:
    with tenant_context(get_tenant(app, slug)):
        return list(db.session.scalars(select(AuditEvent).where(AuditEvent.action == VERIFY_ACTION)))


def publish_through_admin(client, slug: str = WS, title: str = PAGE_FORM["title"]) -> str:
    """Create and publish a page with the admin forms; returns its public address."""
    r = client.post(f"/{slug}/admin/paginas/nueva", data={**PAGE_FORM, "title": title})
    assert r.status_code == 303, r.get_data(as_text=True)
    edit_url = r.headers["Location"]
    assert client.post(f"{edit_url}/publicar").status_code == 303
    html = client.get(edit_url).get_data(as_text=True)
    public = re.search(r'href="([^"]*/p/[^"]+)"', html)
    assert public, "the page editor links to the public address"
    return public.group(1)


def downloads_from_seal(client, public_url: str) -> tuple[bytes, bytes]:
    """Follow the "Verified" seal of a public record page: (receipt bytes, entry bytes)."""
    r = client.get(public_url)
    assert r.status_code == 200
    html = r.get_data(as_text=True)
    assert "Verified" in html
    receipt_url = re.search(r'href="([^"]+/receipt\.tlog-proof)"', html).group(1)
    entry_url = re.search(r'href="([^"]+/entry\.json)"', html).group(1)
    receipt, entry = client.get(receipt_url), client.get(entry_url)
    assert receipt.status_code == 200 and entry.status_code == 200
    return receipt.data, entry.data


def verify_files(client, receipt: bytes, entry: bytes, slug: str = WS):
    """Post both downloads to the verify page as files, as a browser without JavaScript does."""
    return client.post(f"/{slug}/notary/verificar", content_type="multipart/form-data", data={
        "receipt_file": (io.BytesIO(receipt), "entry.tlog-proof"), "entry_file": (io.BytesIO(entry), "entry.json"),
        "receipt": "", "entry": ""})


def server_verdict(response) -> str:
    html = response.get_data(as_text=True)
    m = re.search(r'data-verdict="(\w+)" id="notary-receipt-server"', html)
    assert m, html
    return m.group(1)


# --------------------------------------------------------------------------- the task
def test_task_is_step_13_with_a_working_start_page(app, client, login_as, task, participant):
    assert task.step == 13 and task.title and task.goals and task.steps
    assert all(isinstance(s, str) and s for s in (*task.goals, *task.steps))
    login_as(participant.editor)
    with app.test_request_context(f"/{WS}/admin/"), tenant_context(get_tenant(app, WS)):
        url = url_for(task.start_endpoint, tenant=WS)
    assert client.get(url).status_code == 200


def test_no_training_scenario_of_its_own(app):
    """The log fills itself as the scenario is published: the plugin loads nothing."""
    assert not hasattr(notary_module, "training_scenario")


def test_fresh_scenario_is_not_done_and_its_receipts_do_not_count(app, client, login_as, task, participant,
                                                                   scenario):
    assert [i.done for i in check(app, task, participant)] == [False, False]
    assert all(i.hint for i in check(app, task, participant))
    login_as(participant.editor)
    receipt, entry = downloads_from_seal(client, f"/{WS}/p/{scenario}")
    assert server_verdict(verify_files(client, receipt, entry)) == "match"
    assert len(events(app)) == 1  # the verification is noted...
    assert [i.done for i in check(app, task, participant)] == [False, False]  # ...but it is not their record


def test_end_to_end_through_the_web_without_javascript(app, client, login_as, task, participant, scenario):
    login_as(participant.editor)
    public_url = publish_through_admin(client)
    items = check(app, task, participant)
    assert [i.done for i in items] == [True, False]  # published, not verified yet
    assert "Verify page" in items[1].hint

    receipt, entry = downloads_from_seal(client, public_url)
    # a tampered entry (another record) and a tampered receipt do not count
    bad_entry = entry.replace(b'"version":1', b'"version":2')
    assert server_verdict(verify_files(client, receipt, bad_entry)) == "mismatch"
    lines = receipt.decode().split("\n")
    lines[1] = "index 0" if lines[1] != "index 0" else "index 1"
    assert server_verdict(verify_files(client, "\n".join(lines).encode(), entry)) == "mismatch"
    assert events(app) == []
    assert [i.done for i in check(app, task, participant)] == [True, False]

    r = verify_files(client, receipt, entry)
    assert r.status_code == 200 and server_verdict(r) == "match"
    [ev] = events(app)
    assert ev.user_id == participant.editor.id and ev.actor == participant.editor.email
    assert [i.done for i in check(app, task, participant)] == [True, True]


def test_pasted_receipt_checked_by_the_evaluator_account_counts(app, client, login_as, task, participant):
    login_as(participant.editor)
    public_url = publish_through_admin(client)
    receipt, entry = downloads_from_seal(client, public_url)
    login_as(participant.evaluator)
    r = client.post(f"/{WS}/notary/verificar", data={"receipt": receipt.decode(), "entry": entry.decode()})
    assert server_verdict(r) == "match"
    assert [i.done for i in check(app, task, participant)] == [True, True]


def test_someone_elses_publication_does_not_count(app, client, login_as, make_user, task, participant):
    login_as(make_user("otra@capacitacion.test", role="editor", tenant=WS))
    public_url = publish_through_admin(client, title="Informe de otra persona")
    receipt, entry = downloads_from_seal(client, public_url)
    login_as(participant.editor)
    assert server_verdict(verify_files(client, receipt, entry)) == "match"
    assert [i.done for i in check(app, task, participant)] == [False, False]


def test_anonymous_visitors_and_other_tenants_are_not_tracked(app, client, login_as, make_user, task, participant):
    # an anonymous visitor of the training site
    with tenant_context(get_tenant(app, WS)):
        publish(Page(slug="por-nadie", title="Por nadie", body="Texto."), user=participant.editor)
    receipt, entry = downloads_from_seal(client, f"/{WS}/p/por-nadie")
    assert server_verdict(verify_files(client, receipt, entry)) == "match"
    assert events(app) == []
    # a logged-in editor of a real state: the citizens' page records nothing
    login_as("editor", tenant="edomex")
    public_url = publish_through_admin(client, slug="edomex")
    receipt, entry = downloads_from_seal(client, public_url)
    assert server_verdict(verify_files(client, receipt, entry, slug="edomex")) == "match"
    with tenant_context(get_tenant(app, "edomex")):
        assert db.session.scalar(select(func.count()).select_from(AuditEvent)
                                 .where(AuditEvent.action == VERIFY_ACTION)) == 0
        # nor when called directly (e.g. from another view)
        edomex = get_tenant(app, "edomex")
        result = verify_receipt_text(edomex, receipt.decode(), entry.decode())
        assert result["ok"]
        with app.test_request_context():
            editor = db.session.scalar(select(User).where(User.email == "editor@edomex.test"))
            assert record_verification(edomex, editor, result) is None
            assert record_verification(get_tenant(app, WS), current_user, result) is None  # anonymous


def test_bad_receipt_files_are_a_form_error(app, client, login_as, participant):
    login_as(participant.editor)
    r = client.post(f"/{WS}/notary/verificar", content_type="multipart/form-data", data={
        "receipt_file": (io.BytesIO(b"\xff\xfe\x00binary"), "x.tlog-proof"), "entry_file": (io.BytesIO(b"{}"), "e.json")})
    assert r.status_code == 400 and "is not a receipt" in r.get_data(as_text=True)
    assert "400 Bad Request" not in r.get_data(as_text=True)  # the message alone, not the HTTP status text
    big = client.post(f"/{WS}/notary/verificar", content_type="multipart/form-data", data={
        "receipt_file": (io.BytesIO(b"a" * ((1 << 20) + 1)), "big.tlog-proof"), "entry_file": (io.BytesIO(b"{}"), "e.json")})
    assert big.status_code == 400 and "big.tlog-proof is too large" in big.get_data(as_text=True)
    assert events(app) == []


# --------------------------------------------------------------------------- solve
def test_solve_publishes_and_verifies_without_committing(app, task, participant, scenario):
    with tenant_context(get_tenant(app, WS)):
        task.solve(participant)
        pubs = db.session.scalars(select(Publication).where(
            Publication.published_by_id == participant.editor.id)).all()
        assert len(pubs) == 1
        assert all(i.done for i in task.check(participant))
        db.session.rollback()  # solve only flushed: nothing stays
        assert db.session.scalar(select(func.count()).select_from(Publication)
                                 .where(Publication.published_by_id == participant.editor.id)) == 0
        assert not db.session.scalars(select(AuditEvent).where(AuditEvent.action == VERIFY_ACTION)).all()
        task.solve(participant)
        db.session.commit()
    assert all(i.done for i in check(app, task, participant))


def test_solve_uses_the_participants_existing_publication(app, client, login_as, task, participant):
    login_as(participant.editor)
    publish_through_admin(client)
    with tenant_context(get_tenant(app, WS)):
        task.solve(participant)
        db.session.commit()
        assert db.session.scalar(select(func.count()).select_from(Publication)) == 1
    assert all(i.done for i in check(app, task, participant))


def test_solve_refuses_a_participant_without_editor(app, task, participant):
    with tenant_context(get_tenant(app, WS)), pytest.raises(ValueError):
        task.solve(Participant(workspace=participant.workspace, evaluator=participant.evaluator))


# --------------------------------------------------------------------------- a real workspace
def test_in_a_participant_workspace_the_receipt_is_cosigned_and_solve_works(app, client, make_user, login_as, task):
    """A workspace's log is witnessed by its training tenant: the downloaded receipt carries the
    cosignature its policy requires; solve (before any commit, so no cosignature) still works."""
    slug = f"{WS}-01"  # states/capacitacion/tenant.toml declares its workspaces
    assert get_tenant(app, slug).workspace_of == WS and get_tenant(app, slug).enables("notary")
    p = Participant(workspace=get_tenant(app, slug),
                    editor=make_user(f"editor@{slug}.test", role="editor", tenant=slug))
    login_as(p.editor)
    public_url = publish_through_admin(client, slug=slug)
    receipt, entry = downloads_from_seal(client, public_url)
    assert f"— {app.config['SITE_HOST']}/{WS}/notary/witness ".encode() in receipt  # cosigned by its training tenant
    assert server_verdict(verify_files(client, receipt, entry, slug=slug)) == "match"
    assert all(i.done for i in check(app, task, p, slug))

    q = Participant(workspace=p.workspace, editor=make_user(f"editor2@{slug}.test", role="editor", tenant=slug))
    with tenant_context(p.workspace):
        task.solve(q)
        db.session.commit()
    assert all(i.done for i in check(app, task, q, slug))
