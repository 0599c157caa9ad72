"""One test per hook spec (a meta-test fails when a hook has no test, no docs section, or an
argument its docs section does not describe). The test plugins below are written as a plugin
would be: they take the core's names from ``comun_cms.toolkit``."""
from __future__ import annotations

import datetime as dt
import inspect
import re
from pathlib import Path

import click
import pytest
from flask import Blueprint
from markupsafe import Markup
from sqlalchemy import select

from comun_cms import hookspecs
from comun_cms.search.backend import SearchQuery
from comun_cms.toolkit import (
    CheckItem, Dataset, DatasetField, LoggedPublication, LogSlice, MenuItem, Page, Participant, PortalWidget, Publication,
    SettingSpec, TrainingTask, correct, create_draft, db, get_current_tenant, hookimpl, participant_publications, publish,
    tenant_context,
)
from comun_cms.toolkit.testing import initialize_plugins, run_demo, save_snapshot, training_reset
from comun_cms.training import check_exercise, exercises, get_workspace, load_scenario, snapshot_path

DOCS = Path(__file__).resolve().parent.parent / "docs" / "plugins.md"
HOOKS = sorted(name for name, fn in inspect.getmembers(hookspecs, inspect.isfunction)
               if hasattr(fn, "comun_cms_spec"))


def hook_sections(docs: str) -> dict[str, str]:
    """``{hook name: text of its '### `name`' section}`` in the '## Hooks' chapter of the docs."""
    chapter = re.search(r"^## Hooks\n(.*?)(?=^## |\Z)", docs, re.M | re.S)
    assert chapter, "docs/plugins.md has no '## Hooks' chapter"
    parts = re.split(r"^### `(\w+)`[^\n]*\n", chapter.group(1), flags=re.M)
    return {parts[i]: parts[i + 1] for i in range(1, len(parts) - 1, 2)}


def test_every_hook_has_a_test_and_a_docs_section():
    module = inspect.getmodule(test_every_hook_has_a_test_and_a_docs_section)
    sections = hook_sections(DOCS.read_text(encoding="utf-8"))
    missing_tests = [h for h in HOOKS if not hasattr(module, f"test_hook_{h}")]
    missing_docs = [h for h in HOOKS if h not in sections]
    assert len(HOOKS) >= 15
    assert not missing_tests, f"hooks without a test_hook_<name> test: {missing_tests}"
    assert not missing_docs, f"hooks without a '### `name`' section in the Hooks chapter of docs/plugins.md: {missing_docs}"


def test_every_hook_argument_is_documented_in_its_section():
    """Each hook's section shows the spec's signature (same arguments, same order) and has one
    line ``* `argument` — meaning`` per argument."""
    sections = hook_sections(DOCS.read_text(encoding="utf-8"))
    wrong_signature, undocumented = [], []
    for hook in HOOKS:
        section = sections.get(hook, "")
        args = list(inspect.signature(getattr(hookspecs, hook)).parameters)
        if f"`{hook}({', '.join(args)})" not in section:
            wrong_signature.append(f"{hook}({', '.join(args)})")
        undocumented += [f"{hook}: {arg}" for arg in args if not re.search(rf"^[*-] `{arg}`", section, re.M)]
    assert not wrong_signature, f"sections of docs/plugins.md not showing the spec's signature: {wrong_signature}"
    assert not undocumented, f"hook arguments without a '* `argument` — ...' line in their section: {undocumented}"


# --------------------------------------------------------------------------- an install-scope test plugin
hello_bp = Blueprint("hello", __name__, url_prefix="/hola")


@hello_bp.get("/")
def hello_index():
    return f"hola {get_current_tenant().slug}"


class InstallPlugin:
    __name__ = "tests.test_hooks"

    @hookimpl
    def register_blueprints(self):
        return [hello_bp]

    @hookimpl
    def register_cli_commands(self):
        @click.command("saluda")
        def saluda():
            """Say hello."""
            click.echo("hola desde el plugin")
        return [saluda]

    @hookimpl
    def tenant_settings(self):
        return {"greeting": SettingSpec(str, "hola", "Greeting"), "limit": SettingSpec(int, 5, min=1, max=9)}

    @hookimpl
    def register_translations(self):
        return str(Path(__file__).parent / "data" / "translations")


@pytest.fixture
def extra_plugins():
    return [("hello", InstallPlugin())]


def test_hook_register_models(app):
    models = [m for result in app.extensions["comun"].pm.hook.register_models() for m in result]
    assert Page in models and Publication in models


def test_hook_register_migrations(app):
    dirs = app.extensions["comun"].migration_dirs
    assert dirs, "built-in plugins register their migration folders"
    for d in dirs:
        assert Path(d).is_dir() and any(Path(d).glob("*.py"))


def test_hook_register_translations(app):
    assert str(Path(__file__).parent / "data" / "translations") in app.config["BABEL_TRANSLATION_DIRECTORIES"]


def test_hook_register_cli_commands(app, runner):
    result = runner.invoke(args=["saluda"])
    assert result.exit_code == 0 and "hola desde el plugin" in result.output


def test_hook_tenant_settings(app):
    tenant = app.extensions["comun"].tenants["puebla"]
    assert tenant.setting("hello", "greeting") == "hola" and tenant.setting("hello", "limit") == 5
    with pytest.raises(ValueError, match="at most 9"):
        SettingSpec(int, 5, max=9).resolve(12)
    with pytest.raises(ValueError, match="type int"):
        SettingSpec(int, 5).resolve("cinco")


def test_hook_register_workers(app, tmp_path):
    """The notary's witness worker is returned; the example witness only when its folder exists."""
    pm = app.extensions["comun"].pm
    workers = [w for r in pm.hook.register_workers(instance_path=str(tmp_path)) for w in r or []]
    assert [w.name for w in workers] == ["notary worker"]
    assert workers[0].argv[-2:] == ("notary", "worker") and workers[0].restart
    (tmp_path / "witness-demo").mkdir()
    (tmp_path / "witness-demo" / "witness.key").write_text("x")
    workers = [w for r in pm.hook.register_workers(instance_path=str(tmp_path)) for w in r or []]
    assert "example witness" in [w.name for w in workers]


def test_hook_register_blueprints(app, client):
    assert client.get("/edomex/hola/").get_data(as_text=True) == "hola edomex"
    assert client.get("/nowhere/hola/").status_code == 404


def test_hook_register_content_types(app):
    registry = app.extensions["comun"].content_types
    assert registry.get("page").plugin == "core"
    with pytest.raises(ValueError, match="registered twice"):
        registry.register(registry.get("page"))


# --------------------------------------------------------------------------- tenant-scope hooks
class TenantPlugin:
    def __init__(self):
        self.events = []
        self.initialized = []
        self.demo = []
        self.resets = []
        self.scenarios = []

    @hookimpl
    def admin_menu_items(self, tenant):
        return [MenuItem("Menú de prueba", "public.home", order=50)]

    @hookimpl
    def audit_labels(self):
        return {"prueba": "Objeto de prueba", "revisar": "revisión de prueba",
                "prueba.especial": "Acción especial de prueba"}

    @hookimpl
    def public_menu_items(self, tenant):
        return [MenuItem("Enlace público de prueba", "public.home", order=99)]

    @hookimpl
    def template_slot(self, name, tenant, context):
        if name == "site_footer":
            return Markup("<p id='slot-prueba'>pie de prueba</p>")
        return None

    @hookimpl
    def on_publish(self, event):
        self.events.append((event.action, event.content_type.name, event.publication.version))

    @hookimpl
    def search_documents(self, tenant):
        yield {"id": f"{tenant.slug}:prueba:1", "tenant": tenant.slug, "content_type": "prueba",
               "title": "Documento de prueba xyzzy", "body": "contenido único xyzzy", "url": "/",
               "published_at": dt.datetime(2024, 1, 1, tzinfo=dt.timezone.utc).isoformat(), "year": 2024,
               "status": "published", "language": "es", "version": 1, "keywords": "", "is_demo": True}

    @hookimpl
    def demo_data(self, tenant, ctx):
        self.demo.append(tenant.slug)

    @hookimpl
    def open_datasets(self, tenant):
        return [Dataset("prueba", "Conjunto de prueba", "Descripción", (DatasetField("a", "string", "A"),),
                        rows=lambda: iter([{"a": "uno, \"dos\"\ntres"}]), plugin="testplugin")]

    @hookimpl
    def portal_widgets(self):
        return [PortalWidget("Widget de prueba", lambda: Markup("<p id='widget-prueba'>comparación</p>"))]

    @hookimpl
    def dashboard_widgets(self, tenant):
        return [PortalWidget("Tablero de prueba", lambda: Markup("<p id='dash-prueba'>tablero</p>")),
                PortalWidget("Para evaluar", lambda: Markup("<p id='dash-evaluar'>evaluar</p>"),
                             permissions=("prueba.evaluar",))]

    @hookimpl
    def role_permissions(self, tenant):
        return {"evaluator": ["prueba.evaluar"]}

    @hookimpl
    def initialize(self, tenant, instance_path):
        self.initialized.append(tenant.slug)

    @hookimpl
    def tenant_reset(self, tenant, phase):
        self.resets.append((tenant.slug, phase))

    @hookimpl
    def training_scenario(self, tenant, ctx):
        self.scenarios.append((tenant.slug, ctx.user))
        if db.session.scalar(select(Page.id).where(Page.slug == "escenario-prueba")) is not None:
            return 0
        page = Page(slug="escenario-prueba", title="Material de prueba", body="escenario", language="es")
        db.session.add(page)
        db.session.flush()
        publish(page, user=ctx.user, commit=False)
        return 1

    @hookimpl
    def training_tasks(self):
        def check(who):
            mine = participant_publications(who, "page")
            return [CheckItem("Publicaste la convocatoria de prueba",
                              any(p.title == "Convocatoria de prueba" for p in mine), "Publícala.")]

        def solve(who):
            page = db.session.scalar(select(Page).where(Page.slug == "convocatoria-prueba")) or \
                Page(slug="convocatoria-prueba", title="Convocatoria de prueba", body="texto", language="es")
            db.session.add(page)
            db.session.flush()
            publish(page, user=who.editor, commit=False)

        return [TrainingTask(step=2, key="testplugin.call", title="Convocatoria de prueba", goals=("Publicarla.",),
                             steps=("Crea la página y publícala.",), check=check, solve=solve,
                             start_endpoint="admin.page_new")]


@pytest.fixture
def plugin(app, register_plugin):
    return register_plugin(TenantPlugin(), "testplugin")


def test_hook_audit_labels(app, plugin, login_as, client):
    from comun_cms.audit import action_label, record_audit  # noqa: PLC0415 (core module under test)
    with app.test_request_context("/"):
        assert action_label("prueba.revisar") == "Objeto de prueba: revisión de prueba"
        assert action_label("prueba.especial") == "Acción especial de prueba"
        assert action_label("page.publish") == "Page: publication"
        assert action_label("nadie.sabe") == "nadie: sabe"
    with tenant_context(app.extensions["comun"].tenants["edomex"]):
        record_audit("prueba.especial", "prueba", 7, None, None)
        db.session.commit()
    login_as("admin")
    html = client.get("/edomex/admin/auditoria").get_data(as_text=True)
    assert "Acción especial de prueba" in html and 'data-action="prueba.especial"' in html


def test_hook_admin_menu_items(app, client, plugin, login_as):
    login_as("admin")
    html = client.get("/edomex/admin/").get_data(as_text=True)
    assert "Menú de prueba" in html


def test_hook_public_menu_items(client, plugin):
    assert "Enlace público de prueba" in client.get("/edomex/").get_data(as_text=True)


def test_hook_template_slot(client, plugin):
    assert "id='slot-prueba'" in client.get("/edomex/").get_data(as_text=True)


def test_hook_on_publish(app, plugin, tenant):
    page = Page(slug="p", title="t", body="b")
    db.session.add(page)
    publish(page)
    page.body = "c"
    correct(page, reason="errata")
    assert plugin.events == [("publish", "page", 1), ("correct", "page", 2)]


class LogPlugin:
    """Keeps its own publication log (every publication, in order) and serves it as the
    tenant's ``publication_log``, ahead of the notary (registered later, called first)."""

    def __init__(self):
        self.log: dict[str, list[int]] = {}
        self.calls = []

    @hookimpl
    def on_publish(self, event):
        self.log.setdefault(event.tenant.slug, []).append(event.publication.id)

    @hookimpl
    def publication_log(self, tenant, start, limit):
        self.calls.append((tenant.slug, get_current_tenant().slug, start, limit))
        ids = self.log.get(tenant.slug, [])
        return LogSlice(entries=tuple(LoggedPublication(i, ids[i], f"{i:064x}") for i in range(start, len(ids))[:limit]),
                        size=len(ids))


def test_hook_publication_log(app, client, register_plugin):
    plugin = register_plugin(LogPlugin(), "logplugin")
    page_ids = []
    with tenant_context(app.extensions["comun"].tenants["hidalgo"]):
        for slug in ("a", "b", "c"):
            page = Page(slug=slug, title=slug, body="b")
            db.session.add(page)
            publish(page)
            page_ids.append(page.id)
    body = client.get("/api/v1/hidalgo/changes?after=0&limit=1").get_json()
    assert [(c["index"], c["entry_hash"]) for c in body["data"]] == [(1, f"{1:064x}")]
    assert body["log_size"] == 3 and body["data"][0]["record_id"] == str(page_ids[1])
    assert plugin.calls == [("hidalgo", "hidalgo", 1, 1)]


class DraftPlugin:
    """Creates draft pages for other plugins (``create_draft``), recording what it was given."""

    def __init__(self):
        self.calls = []

    @hookimpl
    def create_draft(self, tenant, content_type, fields, origin):
        self.calls.append((tenant.slug, get_current_tenant().slug, content_type, origin.get("record_id")))
        if content_type != "page":
            return None
        page = Page(slug=fields["slug"], title=fields["title"], body=fields.get("body", ""))
        db.session.add(page)
        db.session.flush()
        return page


def test_hook_create_draft(app, register_plugin):
    plugin = register_plugin(DraftPlugin(), "draftplugin")
    with tenant_context(app.extensions["comun"].tenants["hidalgo"]):
        page = create_draft("page", {"slug": "desde-origen", "title": "Desde el origen"}, {"record_id": 7})
        db.session.commit()
        assert (page.status, page.version, page.title, page.tenant_id) == ("draft", 0, "Desde el origen", "hidalgo")
        # first result wins; a content type nobody drafts gives None; an unknown one never calls the hook
        assert create_draft("action_plan", {"title": "x"}, {"record_id": 8}) is None
        assert create_draft("no_such_type", {}, {"record_id": 9}) is None
    assert plugin.calls == [("hidalgo", "hidalgo", "page", 7), ("hidalgo", "hidalgo", "action_plan", 8)]


def test_hook_search_documents(app, plugin):
    service = app.extensions["comun"].search
    tenants = app.extensions["comun"].tenants
    assert service.reindex() >= len(tenants)
    results = service.backend.search(SearchQuery(text="xyzzy", per_page=50))
    assert results.total == len(tenants)  # one per tenant


def test_hook_demo_data(app, plugin):
    run_demo(app, tenants=[app.extensions["comun"].tenants["puebla"]], log=lambda m: None)
    assert plugin.demo == ["puebla"]


def test_hook_open_datasets(client, plugin):
    html = client.get("/edomex/seccion/open_data").get_data(as_text=True)
    assert "Conjunto de prueba" in html
    csv_text = client.get("/edomex/datos/prueba.csv").get_data(as_text=True)
    assert csv_text.startswith("\ufeffa\r\n") and '"uno, ""dos""\ntres"' in csv_text


def test_hook_portal_widgets(client, plugin):
    assert "id='widget-prueba'" in client.get("/").get_data(as_text=True)


def test_hook_dashboard_widgets(client, plugin, login_as):
    login_as("editor")
    html = client.get("/edomex/admin/").get_data(as_text=True)
    assert "id='dash-prueba'" in html and "id='dash-evaluar'" not in html  # widgets need a permission


def test_hook_role_permissions(app, client, plugin, login_as):
    from comun_cms.permissions import VIEW_UNPUBLISHED, can, role_permissions
    evaluator = login_as("evaluator")
    tenant = app.extensions["comun"].tenants["edomex"]
    with app.test_request_context():
        table = role_permissions(tenant)
        assert "prueba.evaluar" in table["evaluator"] and VIEW_UNPUBLISHED not in table["evaluator"]
        assert "prueba.evaluar" not in table["editor"]  # grants go only to the role named
        assert can("prueba.evaluar", tenant=tenant, user=evaluator)
    html = client.get("/edomex/admin/").get_data(as_text=True)
    assert "id='dash-evaluar'" in html and "id='dash-prueba'" not in html


def test_hook_initialize(app, plugin):
    initialize_plugins(app)
    assert sorted(plugin.initialized) == sorted(app.extensions["comun"].tenants)


def test_hook_tenant_reset(app, plugin):
    training = next(t for t in app.extensions["comun"].tenants.values() if t.training)
    save_snapshot(app, training)
    training_reset(app, training)
    assert plugin.resets == [(training.slug, "before"), (training.slug, "after"), (training.slug, "committed")]


def _training_tenant(app):
    return next(t for t in app.extensions["comun"].tenants.values() if t.training and not t.is_workspace)


def test_hook_training_scenario(app, plugin):
    training = _training_tenant(app)
    assert load_scenario(app, training)["records"] >= 1  # this plugin's page and the built-ins' material
    assert load_scenario(app, training)["records"] == 0  # idempotent
    assert plugin.scenarios == [(training.slug, None)] * 2
    with tenant_context(training):
        page = db.session.scalar(select(Page).where(Page.slug == "escenario-prueba"))
        pub = db.session.scalar(select(Publication).where(Publication.record_id == str(page.id),
                                                          Publication.content_type == "page"))
    assert pub.published_by_id is None  # scenario material is published by nobody
    assert snapshot_path(app, training).exists()
    with tenant_context(app.extensions["comun"].tenants["edomex"]):
        assert db.session.scalar(select(Page.id).where(Page.slug == "escenario-prueba")) is None


def test_hook_training_tasks(app, plugin, make_user):
    training = _training_tenant(app)
    ex = exercises(training)[1]
    assert [t.key for t in ex.tasks] == ["testplugin.call"]  # replaces the core's page task of step 2
    assert [t.key for t in exercises(training)[0].tasks] == ["core.page_01"]
    ws = get_workspace(app, training, 1)
    who = Participant(workspace=ws, editor=make_user("p@example.org", "editor", ws.slug))
    assert not check_exercise(who, 2).done
    with tenant_context(ws):
        ex.tasks[0].solve(who)
        db.session.commit()
    assert check_exercise(who, 2).done
