"""The conformance kit passes on the built-in plugins: their ``sample_record`` functions give the
kit a draft of every content type (with the parents it needs), and their hooks, migrations,
templates, publishing, route isolation and translations conform. Also: a passing report says so
in :meth:`Report.format`."""
from __future__ import annotations


import pytest

from comun_cms.conformance import Report
from comun_cms.testing import check_plugin


@pytest.mark.parametrize("name", ["criteria", "stl_minutes", "action_plans", "notary", "cocreation"])
def test_builtin_plugin_conforms(app, name):
    report = check_plugin(app, name, raise_on_failure=False)
    assert report.passed, report.format()
    assert report.format().startswith(f"plugin '{name}' passes")
    if name != "notary":   # notary has no content types
        assert any(line.startswith("publishing: ") and " 0 sample" not in line for line in report.checked), \
            report.checked


@pytest.mark.parametrize("name", ["criteria", "stl_minutes", "action_plans", "cocreation"])
def test_sample_record_numbers_do_not_clash(app, name):
    """Repeated calls in one tenant give new records (unique numbers, keys, slugs)."""
    import importlib

    from comun_cms.conformance import enable_plugin
    from comun_cms.extensions import db
    from comun_cms.tenancy import tenant_context

    module = importlib.import_module(f"plugins.{name}")
    state = app.extensions["comun"]
    types = [ct for ct in state.content_types if ct.plugin == name]
    assert types
    with app.app_context(), enable_plugin(app, name):
        tenant = state.tenants["edomex"]
        with tenant_context(tenant):
            for ct in types:
                ids = set()
                for n in range(3):
                    marker = f"cnfclash{n}{ct.name}"
                    record = module.sample_record(ct, tenant, marker)
                    db.session.add(record)
                    db.session.commit()
                    assert record.status == "draft"
                    ids.add(record.id)
                assert len(ids) == 3


def test_format_of_a_passing_report():
    report = Report("example", checked=["hooks: every @hookimpl matches comun_cms/hookspecs.py"])
    text = report.format()
    assert text.startswith("plugin 'example' passes the Común CMS conformance kit")
    assert "fails" not in text and "problem(s)" not in text
    assert "hooks: every @hookimpl" in text


def test_format_of_a_failing_report():
    report = Report("example")
    report.add("hooks", "bad hook", "fix it")
    text = report.format()
    assert text.startswith("plugin 'example' fails the Común CMS conformance kit (1 problem(s)):")
    assert "1. [hooks] bad hook" in text
