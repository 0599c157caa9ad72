"""pytest plugin of Común CMS (loaded by the root ``conftest.py``): fixtures for the core and
for plugin authors.

Fixtures:
    ``database_url`` (session): ``COMUN_TEST_DATABASE_URL`` (PostgreSQL) or a SQLite template
        file migrated once per run with Alembic (so a missing revision fails the run).
    ``app``: a fresh application on a clean database (tenants loaded, no content), its own
        instance folder under ``tmp_path``, ``TESTING`` on, CSRF off, search in sync mode.
    ``client``, ``runner``: Flask's test client and CLI runner for ``app``.
    ``tenant``: the ``edomex`` tenant, current for the test body (``tenant_context``).
    ``make_user(email, role=None, tenant="edomex", password=PASSWORD, platform_admin=False)``.
    ``login_as(user_or_role, tenant="edomex")``: logs the test client in; returns the user.
    ``register_plugin(obj, name)``: enable a plugin object at run time (tenant-scope hooks).
    Override ``app_config`` to change settings (e.g. ``WTF_CSRF_ENABLED``) and ``extra_plugins``
    to register install-scope plugins.
"""
from __future__ import annotations

import dataclasses
import os
import shutil
import threading
from pathlib import Path
from typing import Any

import pytest
from flask import g, request_started
from sqlalchemy import create_engine, text
from werkzeug.serving import make_server

from comun_cms.app import create_app
from comun_cms.conformance import check_plugin
from comun_cms.config import ensure_secret_key
from comun_cms.extensions import db, limiter
from comun_cms.models import User
from comun_cms.setup import sync_tenants, upgrade_database
from comun_cms.tenancy import get_current_tenant, set_current_tenant, tenant_context
from comun_cms.users import create_user
from comun_cms.views.auth import SESSION_GENERATION_KEY

__all__ = ["CHROMIUM", "CHROMIUM_ARGS", "PASSWORD", "LiveServer", "browser_login", "check_plugin", "get_tenant",
           "leave_page", "migrate_database", "reset_postgres", "tab_to"]

PASSWORD = "secreto-de-prueba-2026"


def redis_url_or_skip(url: str) -> str:
    """Return ``url`` when the Redis server there answers a PING within 1 s; otherwise skip the
    test, or fail it when ``COMUN_REQUIRE_REDIS=1`` (as in CI, so a missing Redis is never a
    silent skip). Used by the tests of the features that share state through Redis (page
    cache, search result cache, rate limits)."""
    import redis

    try:
        client = redis.Redis.from_url(url, socket_connect_timeout=1)
        try:
            client.ping()
        finally:
            client.close()
    except redis.RedisError as exc:
        if os.environ.get("COMUN_REQUIRE_REDIS") == "1":
            pytest.fail(f"Redis at {url} does not answer and COMUN_REQUIRE_REDIS=1: {exc}")
        pytest.skip(f"Redis at {url} does not answer")
    return url


def _is_postgres(url: str) -> bool:
    return url.startswith("postgresql")


def migrate_database(url: str, instance_path: Path) -> None:
    """Run ``comun init``'s schema step (Alembic upgrade to head) against ``url``."""
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "INSTANCE_PATH": str(instance_path), "TESTING": True})
    with app.app_context():
        upgrade_database(app)
        db.session.remove()
        db.engine.dispose()


_PG_ENGINES: dict[str, Any] = {}
_PG_BASELINE: dict[str, tuple[set[str], set[str]]] = {}


def reset_postgres(url: str) -> None:
    """Empty every table except ``alembic_version`` and restart the sequences.

    Uses ``DELETE`` with foreign-key triggers off (``session_replication_role = replica``):
    on the small tables of a test this is ~20x faster than ``TRUNCATE ... CASCADE``.
    """
    url = url.replace("postgresql://", "postgresql+psycopg://", 1) if url.startswith("postgresql://") else url
    engine = _PG_ENGINES.get(url)
    if engine is None:
        engine = _PG_ENGINES[url] = create_engine(url, pool_size=1)
    with engine.begin() as conn:
        conn.execute(text("SET LOCAL session_replication_role = replica"))
        names = [r[0] for r in conn.execute(text(
            "SELECT tablename FROM pg_tables WHERE schemaname = current_schema() AND tablename <> 'alembic_version'"))]
        baseline = _PG_BASELINE.get(url)
        if baseline is None:  # first reset after the migration: remember the migrated schema
            versions = {r[0] for r in conn.execute(text("SELECT version_num FROM alembic_version"))}
            baseline = _PG_BASELINE[url] = (set(names), versions)
        tables, versions = baseline
        # tables and revisions added by a test (plugins made by the scaffold/conformance tests)
        for name in [n for n in names if n not in tables]:
            conn.execute(text(f'DROP TABLE IF EXISTS "{name}" CASCADE'))
        for (version,) in conn.execute(text("SELECT version_num FROM alembic_version")).all():
            if version not in versions:
                conn.execute(text("DELETE FROM alembic_version WHERE version_num = :v"), {"v": version})
        for name in [n for n in names if n in tables]:
            conn.execute(text(f'DELETE FROM "{name}"'))
        for (seq,) in conn.execute(text("SELECT sequencename FROM pg_sequences WHERE schemaname = current_schema()")):
            conn.execute(text(f'ALTER SEQUENCE "{seq}" RESTART'))


def _uses_database(item: pytest.Item) -> bool:
    """True when a collected test reaches the test database: through the database fixtures
    (``database_template`` and everything built on it: ``database_url``, ``app``, ``client``...)
    or by the ``database`` marker (tests that read ``COMUN_TEST_DATABASE_URL`` themselves)."""
    return "database_template" in getattr(item, "fixturenames", ()) or item.get_closest_marker("database") is not None


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Every test that opens the browser (the ``browser`` fixture) gets the ``browser`` marker.

    On the PostgreSQL pass (``COMUN_TEST_DATABASE_URL`` set), keep only the tests that use the
    database: the others (Merkle trees, analyzers, templates, subprocess checks of the CLI...) do
    not depend on it and already ran in the SQLite pass. ``COMUN_TEST_ALL=1`` keeps every test."""
    for item in items:
        if "browser" in getattr(item, "fixturenames", ()) and item.get_closest_marker("browser") is None:
            item.add_marker(pytest.mark.browser)
    if not os.environ.get("COMUN_TEST_DATABASE_URL") or os.environ.get("COMUN_TEST_ALL") == "1":
        return
    keep = [item for item in items if _uses_database(item)]
    if len(keep) != len(items):
        config.hook.pytest_deselected(items=[item for item in items if not _uses_database(item)])
        items[:] = keep


@pytest.fixture(scope="session")
def database_template(tmp_path_factory) -> str:
    """Migrated database shared by the run: a SQLite file path, or the PostgreSQL URL."""
    url = os.environ.get("COMUN_TEST_DATABASE_URL")
    inst = tmp_path_factory.mktemp("template-instance")
    if url:
        worker = os.environ.get("PYTEST_XDIST_WORKER")
        if worker:
            url = _worker_database(url, worker)
        _drop_all_postgres(url)
        migrate_database(url, inst)
        return url
    path = tmp_path_factory.mktemp("db") / "template.db"
    migrate_database(f"sqlite:///{path}", inst)
    return str(path)


def _worker_database(url: str, worker: str) -> str:
    """Give each xdist worker its own PostgreSQL database (``<db>_<worker>``)."""
    base, _, dbname = url.rpartition("/")
    name = f"{dbname}_{worker}"
    admin = create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        exists = conn.execute(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}).scalar()
        if not exists:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return f"{base}/{name}"


def _drop_all_postgres(url: str) -> None:
    engine = create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1))
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()


@pytest.fixture(scope="session")
def _scratch_db_path(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("scratch") / "test.db"


@pytest.fixture
def database_url(database_template, _scratch_db_path) -> str:
    """A clean, migrated database for one test (the same URL for every test of a worker, so the
    application can be reused; its content is reset before each test)."""
    if database_template.startswith("postgresql"):
        reset_postgres(database_template)
        return database_template
    shutil.copyfile(database_template, _scratch_db_path)
    return f"sqlite:///{_scratch_db_path}"


@pytest.fixture
def app_config(database_url, tmp_path) -> dict[str, Any]:
    """Settings of the ``app`` fixture; override this fixture to change them."""
    return {
        "SQLALCHEMY_DATABASE_URI": database_url,
        "INSTANCE_PATH": str(tmp_path / "instance"),
        "TESTING": True,
        "WTF_CSRF_ENABLED": False,
        "RATELIMIT_ENABLED": False,
        "SEARCH_SYNC": True,
        "PAGE_CACHE": False,  # tests of the page cache turn it on (tests/test_page_cache.py)
        # many tests write rows directly, bypassing the generation: memos only where tested
        "GENERATION_MEMO": False,
        "SEARCH_RESULT_CACHE": False,  # tests of the result cache turn it on (tests/test_search_result_cache.py)
        "SERVER_NAME": None,
        "PASSWORD_HASH_METHOD": "scrypt:1024:8:1",  # cheap KDF for speed; production keeps N=2**15
        # tests assert the English source strings; Spanish-first behaviour is tested with the
        # `spanish` fixture (tests/test_i18n.py, browser tests)
        "DEFAULT_LOCALE_OVERRIDE": "en",
    }


@pytest.fixture
def spanish(app):
    """Serve the app as in production: each tenant's default locale (es_MX), no override."""
    app.config["DEFAULT_LOCALE_OVERRIDE"] = None
    return app


@pytest.fixture
def extra_plugins() -> list[tuple[str, Any]]:
    """``(name, plugin)`` pairs registered in the ``app`` fixture (override in plugin tests)."""
    return []


_APPS: dict[Any, Any] = {}


def _build_app(config: dict, extra_plugins):
    application = create_app(dict(config), extra_plugins=extra_plugins)
    application.extensions["comun"].pm.check_pending()
    # the application makes its secret key on its first request; tests may sign before that
    application.config["SECRET_KEY"] = ensure_secret_key(Path(application.instance_path))

    def fresh_g(sender, **extra):
        # the test body keeps one app context open; give each request a clean `g` as in production
        g.__dict__.clear()
    request_started.connect(fresh_g, application, weak=False)
    state = application.extensions["comun"]
    application._comun_snapshot = (dict(application.config), dict(state.tenants))
    return application


def _retarget(application, instance_path: str) -> None:
    """Point a reused application at a fresh instance folder and restore its start-up state."""
    config, tenants = application._comun_snapshot
    application.config.clear()
    application.config.update(config)
    application.instance_path = instance_path
    Path(instance_path).mkdir(parents=True, exist_ok=True)
    application.config["SECRET_KEY"] = ensure_secret_key(Path(instance_path))
    application.config["SEARCH_INDEX_DIR"] = str(Path(instance_path) / "search")
    application.config["UPLOAD_DIR"] = str(Path(instance_path) / "uploads")
    state = application.extensions["comun"]
    state.tenants.clear()
    state.tenants.update(tenants)
    state.hook_cache.clear()
    application.jinja_env.__dict__.get("missing_templates", set()).clear()
    for key in [k for k in application.extensions if k.startswith("comun_cache")]:
        application.extensions.pop(key)
    if state.search is not None:
        state.search.retarget(Path(application.config["SEARCH_INDEX_DIR"]))
        state.search.drained_inserts = None  # the first request of each test drains, as in a new app
    limiter.enabled = application.config.get("RATELIMIT_ENABLED", True)
    try:
        limiter.reset()
    except Exception:  # storage without reset support
        pass


@pytest.fixture
def app(app_config, extra_plugins):
    """A Común CMS app on a clean database with the tenants loaded, and a fresh instance folder.

    Applications are built once per distinct configuration and reused (building one compiles
    every URL rule); between tests the database is reset, the instance folder is new and the
    configuration, tenants, caches and rate-limit counters are restored.
    """
    config = dict(app_config)
    instance = config.pop("INSTANCE_PATH")
    key = repr(sorted((k, repr(v)) for k, v in config.items())) if not extra_plugins else None
    application = _APPS.get(key) if key else None
    if application is None:
        application = _build_app({**config, "INSTANCE_PATH": instance}, extra_plugins)
        if key:
            _APPS[key] = application
    else:
        _retarget(application, instance)
    with application.app_context():
        sync_tenants(application)
        yield application
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def client(app):
    """Flask test client."""
    return app.test_client()


@pytest.fixture
def runner(app):
    """Flask CLI runner (``runner.invoke(args=["users", "create", ...])``)."""
    return app.test_cli_runner()


def get_tenant(app, slug: str):
    """Return the :class:`~comun_cms.tenancy.Tenant` ``slug`` of ``app``."""
    return app.extensions["comun"].tenants[slug]


@pytest.fixture
def tenant(app):
    """The ``edomex`` tenant, set as current tenant for the test body."""
    t = get_tenant(app, "edomex")
    with tenant_context(t):
        yield t


@pytest.fixture
def make_user(app):
    """Factory: ``make_user(email, role=None, tenant="edomex", password=PASSWORD, platform_admin=False)``."""
    def factory(email: str, role: str | None = None, tenant: str = "edomex", password: str = PASSWORD,
                platform_admin: bool = False, **kwargs):
        return create_user(email, password=password, role=role, tenant=get_tenant(app, tenant) if role else None,
                           platform_admin=platform_admin, **kwargs)
    return factory


@pytest.fixture
def login_as(app, client, make_user):
    """Log the ``client`` in. ``login_as("editor")`` creates ``editor@edomex.test`` with that
    role in ``edomex``; ``login_as(user)`` logs an existing user in. Returns the user."""

    def do(user_or_role, tenant: str = "edomex"):
        if isinstance(user_or_role, User):
            user = user_or_role
        elif user_or_role == "platform_admin":
            user = make_user("root@comun.test", platform_admin=True)
        else:
            user = make_user(f"{user_or_role}@{tenant}.test", role=user_or_role, tenant=tenant)
        with client.session_transaction() as sess:
            sess["_user_id"] = str(user.id)
            sess["_fresh"] = True
            sess[SESSION_GENERATION_KEY] = user.session_generation or 0  # as a real log-in does
        return user
    return do


# --------------------------------------------------------------------------- browser tests
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run", "--disable-quic"]


class LiveServer:
    """A running HTTP server for ``app`` on 127.0.0.1 (a thread); ``url`` is its base URL."""

    def __init__(self, app):
        self.server = make_server("127.0.0.1", 0, app, threaded=True)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        app.config["SITE_HOST"] = f"127.0.0.1:{self.server.server_port}"  # absolute URLs name this server
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.thread.join(timeout=5)


@pytest.fixture
def live_server(app):
    """Serve ``app`` over HTTP for browser tests; yields a :class:`LiveServer`."""
    server = LiveServer(app)
    yield server
    server.stop()


@pytest.fixture(scope="session")
def browser():
    """A headless Debian Chromium driven by Playwright. Skips when Chromium or Playwright is
    missing, unless ``COMUN_REQUIRE_BROWSER=1`` (CI), where that is a failure."""
    required = os.environ.get("COMUN_REQUIRE_BROWSER") == "1"
    try:
        # optional dependency (test extra, needs a browser): imported only when a browser test runs
        from playwright.sync_api import sync_playwright
    except ImportError:  # pragma: no cover - depends on the machine
        if required:
            pytest.fail("Playwright is not installed and COMUN_REQUIRE_BROWSER=1")
        pytest.skip("Playwright is not installed")
    if not Path(CHROMIUM).exists():
        if required:
            pytest.fail(f"{CHROMIUM} is missing and COMUN_REQUIRE_BROWSER=1 (apt-get install -y chromium)")
        pytest.skip(f"{CHROMIUM} is missing (apt-get install -y chromium)")
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield b
        b.close()


@pytest.fixture
def page(browser, live_server):
    """A fresh browser page (new context: no cookies) with ``page.base_url`` = live server URL."""
    context = browser.new_context(base_url=live_server.url, locale="es-MX")
    pg = context.new_page()
    pg.set_default_timeout(15000)
    yield pg
    context.close()


def browser_login(page, email: str, password: str = PASSWORD) -> None:
    """Log in through the real login form in a Playwright ``page``."""
    page.goto("/auth/login")
    page.fill('form[action$="/auth/login"] input[name=email]', email)
    page.fill('form[action$="/auth/login"] input[name=password]', password)
    with page.expect_navigation():  # return only once the session cookie is set
        page.click('form[action$="/auth/login"] button[type=submit]')


_FOCUS_VISIBLE = """(sel) => {
  const el = document.activeElement;
  if (!el || !el.matches(sel)) return null;
  const st = getComputedStyle(el);
  return (st.outlineStyle !== 'none' && parseFloat(st.outlineWidth) > 0) || st.boxShadow !== 'none';
}"""


def leave_page(page) -> list[str]:
    """Close a Playwright ``page`` as a person leaving it would (its ``beforeunload`` handlers run),
    accepting every dialog. Returns the types of the dialogs shown: ``["beforeunload"]`` when the
    page asked before leaving (``js/editing.js`` with unsaved changes), ``[]`` when it did not."""
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.type), dialog.accept()))
    page.close(run_before_unload=True)
    page.wait_for_event("close")
    return dialogs


def tab_to(page, selector: str, limit: int = 250) -> None:
    """Move the keyboard focus with the Tab key (no mouse) until the focused element matches the
    CSS ``selector``, then check that the focus is visible (an outline or a box shadow, WCAG 2.4.7).

    ``limit`` is the most Tab presses tried. Raises ``AssertionError`` when the element is never
    reached (it is not in the tab order) or its focus is invisible."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        visible = page.evaluate(_FOCUS_VISIBLE, selector)
        if visible is not None:
            assert visible, f"{selector} takes the focus but shows no focus indicator"
            return
    raise AssertionError(f"{selector} cannot be reached with the Tab key ({limit} presses)")


@pytest.fixture
def register_plugin(app):
    """Register a plugin object at run time and enable it in every tenant (tenant-scope hooks
    only: menus, slots, on_publish, widgets...). ``register_plugin(obj, name="testplugin")``.
    Install-scope hooks (blueprints, content types, migrations) need the ``extra_plugins``
    fixture instead, because they run in ``create_app``."""
    state = app.extensions["comun"]
    registered = []

    def do(obj, name: str = "testplugin"):
        state.pm.register(obj, name=name)
        registered.append(obj)
        for slug, t in list(state.tenants.items()):
            state.tenants[slug] = dataclasses.replace(t, plugins=t.plugins + (name,))
        state.hook_cache.clear()
        current = get_current_tenant()
        if current is not None:
            set_current_tenant(state.tenants[current.slug])
        return obj
    yield do
    for obj in registered:
        state.pm.unregister(obj)
    state.hook_cache.clear()