"""The plugin toolkit (``comun_cms.toolkit``): every exported name exists and is documented, and
its new helpers work: ``admin_change`` (one transaction with its audit event), ``snapshot``,
``tenant_option`` and ``content_disposition``."""
from __future__ import annotations

import click
import pytest
from flask import get_flashed_messages
from flask_babel import lazy_gettext
from flask_wtf import FlaskForm
from sqlalchemy import func, select
from werkzeug.local import LocalProxy
from wtforms import StringField

import comun_cms.toolkit as toolkit
import comun_cms.toolkit.testing as toolkit_testing
from comun_cms.models import Feedback
from comun_cms.toolkit import (
    AuditEvent, ChangeRefused, Page, PublishError, admin_change, content_disposition, db, snapshot, tenant_context,
    tenant_option,
)


def test_every_exported_name_exists_and_has_a_docstring():
    for module in (toolkit, toolkit_testing):
        for name in module.__all__:
            obj = getattr(module, name)
            if type(obj) is LocalProxy:  # current_tenant: documented in the toolkit's docstring
                continue
            if callable(obj) and not isinstance(obj, (str, tuple, frozenset)):
                assert (getattr(obj, "__doc__", None) or "").strip(), f"{module.__name__}.{name} has no docstring"


def _count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def test_admin_change_commits_the_change_with_its_audit_event(app, tenant):
    with app.test_request_context("/"):
        page = Page(title="Informe", slug="informe", body="Texto")
        with admin_change("page.create", page, success="Guardado") as change:
            db.session.add(page)
        assert change.ok and not change.failed
        assert get_flashed_messages(with_categories=True) == [("success", "Guardado")]
    event = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "page.create")).one()
    assert event.object_type == "pages" and event.object_id == str(page.id)
    assert event.before is None and event.after["title"] == "Informe" and "tenant_id" not in event.after

    with app.test_request_context("/"):
        with admin_change("page.update", page) as change:
            page.title = "Informe anual"
    event = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "page.update")).one()
    assert event.before["title"] == "Informe" and event.after["title"] == "Informe anual"


class _Form(FlaskForm):
    title = StringField("Title")


def test_a_refused_change_rolls_everything_back_and_tells_the_form(app, tenant):
    with app.test_request_context("/", method="POST"):
        form = _Form(meta={"csrf": False})
        with admin_change("page.create", None, form=form) as change:
            db.session.add(Page(title="A", slug="a", body=""))
            db.session.flush()
            raise ChangeRefused("Título repetido", field="title")
        assert change.failed and form.title.errors == ["Título repetido"]
        with admin_change("page.create", None, form=form) as change:
            db.session.add(Page(title="B", slug="b", body=""))
            raise PublishError("No se puede publicar")
        assert form.form_errors == ["No se puede publicar"]
        with admin_change("page.create") as change:
            db.session.add(Page(title="C", slug="c", body=""))
            raise ChangeRefused("Sin cambios")
        assert get_flashed_messages(with_categories=True) == [("error", "Sin cambios")]
        with admin_change("page.create", form=form) as change:  # a lazy string is shown as plain, escaped text
            raise ChangeRefused(lazy_gettext("<b>%(x)s</b>", x="y"))
        assert form.form_errors[-1] == "<b>y</b>" and type(form.form_errors[-1]) is str
    assert _count(Page) == 0 and _count(AuditEvent) == 0


def test_an_unexpected_error_rolls_back_and_propagates(app, tenant):
    with app.test_request_context("/"):
        with pytest.raises(ZeroDivisionError):
            with admin_change("page.create"):
                db.session.add(Page(title="A", slug="a", body=""))
                db.session.flush()
                1 / 0
    assert _count(Page) == 0 and _count(AuditEvent) == 0


def test_snapshot_uses_audit_fields_or_every_column(app, tenant):
    page = Page(title="Informe", slug="informe", body="Texto")
    feedback = Feedback(kind="question", subject="Informe")  # a model without __audit_fields__
    db.session.add_all([page, feedback])
    db.session.flush()
    declared = snapshot(page)
    assert list(declared) == list(Page.__audit_fields__) and declared["title"] == "Informe"
    full = snapshot(feedback)
    assert full["subject"] == "Informe" and full["id"] == feedback.id
    assert not {"tenant_id", "created_at", "updated_at"} & set(full)
    assert snapshot(page, ["title", "slug"]) == {"title": "Informe", "slug": "informe"}
    assert snapshot(None) is None
    with pytest.raises(TypeError):
        snapshot(object())


@click.command("probe")
@tenant_option()
def _probe_one(tenant):
    click.echo(f"one={tenant.slug if tenant else None}")


@click.command("probe-many")
@tenant_option(multiple=True, default_all=True, plugin="criteria", training=False)
def _probe_many(tenants):
    click.echo("many=" + ",".join(t.slug for t in tenants))


def test_tenant_option_resolves_slugs_and_names_the_valid_ones(app):
    runner = app.test_cli_runner()
    assert runner.invoke(_probe_one, ["--tenant", "puebla"]).output.strip() == "one=puebla"
    assert runner.invoke(_probe_one, []).output.strip() == "one=None"
    bad = runner.invoke(_probe_one, ["--tenant", "sonora"])
    assert bad.exit_code == 2 and "unknown tenant 'sonora'" in bad.output and "edomex" in bad.output
    result = runner.invoke(_probe_many, [])
    assert result.exit_code == 0, result.output
    slugs = result.output.strip().removeprefix("many=").split(",")
    assert {"hidalgo", "puebla", "edomex"} <= set(slugs) and "capacitacion" not in slugs
    assert runner.invoke(_probe_many, ["--tenant", "edomex", "--tenant", "hidalgo"]).output.strip() == "many=edomex,hidalgo"
    refused = runner.invoke(_probe_many, ["--tenant", "capacitacion"])
    assert refused.exit_code == 2 and "training tenant" in refused.output


def test_content_disposition_follows_rfc_6266():
    assert content_disposition("attachment", "../Minuta sesión 19.pdf") == \
        "attachment; filename=\"Minuta_sesion_19.pdf\"; filename*=UTF-8''Minuta_sesion_19.pdf"
    assert content_disposition("inline", "").startswith('inline; filename="archivo"')


def test_tenant_context_is_the_toolkits(app):
    from comun_cms.tenancy import tenant_context as core_tenant_context
    assert tenant_context is core_tenant_context
