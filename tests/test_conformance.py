"""The conformance kit (comun_cms.conformance): a correct scaffolded plugin passes; broken ones
(wrong hook signature, missing migration, model without revision, routes leaking another
tenant's drafts, unprotected admin) fail with one AssertionError that says what to fix.

Each plugin is generated with the scaffold into ``tmp_path`` under a unique name, edited to
break it, imported and registered with ``create_app(extra_plugins=...)``. Its tables are taken
out of the shared metadata afterwards so other tests' model/migration comparison is unaffected.
"""
from __future__ import annotations

import importlib
import re
import sys

import pluggy
import pytest

from comun_cms.conformance import ConformanceError, check_hooks, check_plugin
from comun_cms.scaffold import create_plugin


@pytest.fixture
def make_plugin(tmp_path):
    """``make_plugin(name, edits={relative path: (old, new)}, delete=[relative paths])`` ->
    imported plugin module; cleaned up after the test."""
    from comun_cms.extensions import db
    made = []

    def make(name: str, edits: dict | None = None, delete: list | None = None):
        project = create_plugin(name, tmp_path, title=name.capitalize(), existing=())
        package = project / f"comun_{name}"
        for rel, changes in (edits or {}).items():
            path = package / rel
            text = path.read_text()
            for old, new in changes:
                assert old in text, f"{old!r} not in {rel}"
                text = text.replace(old, new, 1)
            path.write_text(text)
        for rel in delete or []:
            (package / rel).unlink()
        sys.path.insert(0, str(project))
        module = importlib.import_module(f"comun_{name}")
        made.append((name, str(project)))
        return module

    yield make
    for name, project in made:
        for mod in [m for m in sys.modules if m == f"comun_{name}" or m.startswith(f"comun_{name}.")]:
            del sys.modules[mod]
        if project in sys.path:
            sys.path.remove(project)
        for table in [t for t in db.metadata.tables if t.startswith(f"{name}_")]:
            db.metadata.remove(db.metadata.tables[table])


@pytest.fixture
def plugin_app(app_config):
    """``plugin_app(name, module)`` -> an app (app context pushed) with the plugin registered."""
    from comun_cms.app import create_app
    from comun_cms.extensions import db
    from comun_cms.setup import sync_tenants
    contexts = []

    def build(name, module):
        application = create_app(dict(app_config), extra_plugins=[(name, module)])
        ctx = application.app_context()
        ctx.push()
        contexts.append(ctx)
        sync_tenants(application)
        return application

    yield build
    for ctx in reversed(contexts):
        db.session.remove()
        db.engine.dispose()
        ctx.pop()


def test_scaffolded_plugin_passes(make_plugin, plugin_app):
    module = make_plugin("cnfgood")
    app = plugin_app("cnfgood", module)
    report = check_plugin(app, "cnfgood")
    assert report.passed
    text = "\n".join(report.checked)
    for check in ("hooks", "migrations", "templates", "publishing", "isolation", "translations"):
        assert check + ":" in text


def test_wrong_hook_signature_and_misspelled_hook_fail(make_plugin, app):
    module = make_plugin("cnfsig", edits={"__init__.py": [
        ("def public_menu_items(tenant):", "def public_menu_items(tenant, request):"),
        ("def sample_record(", "@hookimpl\ndef on_publsh(event):\n    return None\n\n\ndef sample_record("),
    ]})
    # the core itself refuses such a plugin at start-up
    pm = pluggy.PluginManager("comun_cms")
    from comun_cms import hookspecs
    pm.add_hookspecs(hookspecs)
    with pytest.raises(pluggy.PluginValidationError):
        pm.register(module, name="cnfsig")
        pm.check_pending()
    with pytest.raises(AssertionError) as info:
        check_plugin(app, module)
    message = str(info.value)
    assert "'on_publsh' is not a hook" in message and "did you mean 'on_publish'" in message
    assert "hook 'public_menu_items' takes argument(s) 'request'" in message
    assert "def public_menu_items(tenant)" in message  # the fix
    assert isinstance(info.value, ConformanceError)


def test_hook_named_but_not_decorated_is_reported():
    class Plugin:
        def register_models(self):  # forgot @hookimpl
            return []
    problems = check_hooks(Plugin(), "undecorated")
    assert any("not decorated with @hookimpl" in p.message for p in problems)


def test_missing_migration_fails(make_plugin, plugin_app):
    module = make_plugin("cnfnomig", delete=["migrations/versions/cnfnomig_0001_schema.py"])
    app = plugin_app("cnfnomig", module)
    with pytest.raises(AssertionError) as info:
        check_plugin(app, "cnfnomig")
    message = str(info.value)
    assert "[migrations] no Alembic revision carries branch_labels = ('cnfnomig',)" in message
    assert "depends_on = '0001'" in message  # what to write


def test_model_changed_without_revision_fails(make_plugin, plugin_app):
    module = make_plugin("cnfdiff", edits={"models.py": [
        ('    body: Mapped[str] = mapped_column(Text, default="")',
         '    body: Mapped[str] = mapped_column(Text, default="")\n'
         '    place: Mapped[str] = mapped_column(String(80), default="")')]})
    app = plugin_app("cnfdiff", module)
    with pytest.raises(AssertionError) as info:
        check_plugin(app, "cnfdiff", checks=("migrations",))
    message = str(info.value)
    assert "models and migrations differ" in message and "place" in message
    assert "comun db revision --autogenerate --head cnfdiff@head" in message


def test_route_leaking_drafts_and_open_admin_fail(make_plugin, plugin_app):
    module = make_plugin("cnfleak", edits={"views.py": [
        ("from comun_cms.toolkit import db, require_role\n", "from comun_cms.toolkit import all_tenants, db, require_role\n"),
        ("items = db.session.scalars(select(CnfleakItem).where(CnfleakItem.status.in_(PUBLIC_STATUSES))",
         "items = db.session.scalars(all_tenants(select(CnfleakItem))"),
        ('@require_role("admin", "editor")\n', ""),
    ]})
    app = plugin_app("cnfleak", module)
    with pytest.raises(AssertionError) as info:
        check_plugin(app, "cnfleak")
    message = str(info.value)
    assert re.search(r"route /<tenant>/cnfleak/ shows drafts: GET /[\w-]+/cnfleak/ shows [\w-]+'s cnfleak_item", message)
    assert "route /<tenant>/cnfleak/ shows another tenant's records" in message
    assert "route /<tenant>/admin/cnfleak/ lets users of another tenant in (expected 403 or 404)" in message
    assert "answered 200 to an admin of" in message
    assert "never use all_tenants()" in message and "@require_role" in message  # the fixes
    assert "status 'published'" in message
    assert "(3 problem(s))" in message
    assert "[hooks]" not in message and "[migrations]" not in message


def test_missing_translations_fail(make_plugin, app):
    module = make_plugin("cnftr", edits={"templates/cnftr/index.html": [
        ('<p>{{ _("Nothing has been published yet.") }}</p>', '<p>{{ _("A brand new sentence.") }}</p>')]})
    with pytest.raises(AssertionError) as info:
        check_plugin(app, module, checks=("hooks", "translations"))
    message = str(info.value)
    assert "msgid(s) missing from" in message and "'A brand new sentence.'" in message
    assert "python -m comun_cms.scaffold catalogs" in message


def test_unknown_plugin_name(app):
    with pytest.raises(AssertionError, match="no plugin named 'nope' is registered"):
        check_plugin(app, "nope")


def test_check_plugin_is_reexported_by_testing():
    import comun_cms.testing
    assert comun_cms.testing.check_plugin is check_plugin
