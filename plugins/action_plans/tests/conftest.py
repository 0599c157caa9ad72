"""Fixtures of the action-plans tests: fresh ``flask.g`` per request, English UI, and factories
for plans, commitments and milestones."""
from __future__ import annotations

import datetime as dt

import jinja2
import pytest
from flask import g, request_started

from comun_cms.toolkit import DemoContext, Membership, User, db, tenant_context
from comun_cms.toolkit.testing import get_tenant

from plugins.action_plans import services
from plugins.action_plans.loaders import demo_data
from plugins.action_plans.models import ActionPlan, Commitment, Milestone


class _MemoryBytecodeCache(jinja2.BytecodeCache):
    """Compiled templates shared by the tests' applications (each test creates a new app with a
    new Jinja environment; the cache checks the template source, so edits are picked up)."""

    def __init__(self):
        self.store: dict[str, bytes] = {}

    def load_bytecode(self, bucket):
        code = self.store.get(bucket.key)
        if code is not None:
            bucket.bytecode_from_string(code)

    def dump_bytecode(self, bucket):
        self.store[bucket.key] = bucket.bytecode_to_string()


_TEMPLATE_CACHE = _MemoryBytecodeCache()


@pytest.fixture
def app_config(app_config):
    """The core test settings, without draining the search index after every request (these
    tests call the ``search_documents`` hook directly); keeps the suite fast."""
    return {**app_config, "SEARCH_SYNC": False}


@pytest.fixture(autouse=True)
def fresh_g_per_request(request):
    """Start each test-client request with an empty ``flask.g`` (as in production). Tests that
    do not use the ``app`` fixture (pure functions) do not create an application."""
    if "app" not in request.fixturenames:
        yield
        return
    app = request.getfixturevalue("app")
    app.jinja_env.bytecode_cache = _TEMPLATE_CACHE

    def clear(sender, **extra):
        g.__dict__.clear()
    request_started.connect(clear, app)
    yield
    request_started.disconnect(clear, app)


@pytest.fixture
def login(app, client):
    """Fast ``login(role="editor", tenant="edomex")``: a user without password (no scrypt) with
    that role, logged into the test client. Returns the user's id."""
    def do(role: str = "editor", tenant: str = "edomex") -> int:
        with tenant_context(get_tenant(app, tenant)):
            email = f"{role}@{tenant}.ap.test"
            user = db.session.scalar(db.select(User).where(User.email == email))
            if user is None:
                user = User(email=email, name=f"{role.title()} {tenant}")
                db.session.add(user)
                db.session.flush()
                db.session.add(Membership(user_id=user.id, role=role))
                db.session.commit()
            user_id = user.id
        with client.session_transaction() as sess:
            sess["_user_id"] = str(user_id)
            sess["_fresh"] = True
        return user_id
    return do


@pytest.fixture
def english(client):
    with client.session_transaction() as sess:
        sess["lang"] = "en"


@pytest.fixture
def make_plan(app):
    """Factory: ``make_plan(tenant="edomex", commitments=[{"title", "milestones": [(desc,
    weight, status, progress, start, end)], ...}], publish=True, **plan_fields)`` -> plan id."""
    def factory(tenant: str = "edomex", commitments=None, publish: bool = True, **fields):
        with tenant_context(get_tenant(app, tenant)):
            numbers = db.session.scalars(db.select(ActionPlan.number)).all()
            plan = ActionPlan(number=fields.pop("number", services.next_number(numbers)),
                              title=fields.pop("title", f"Plan de prueba {tenant}"), **fields)
            for n, spec in enumerate(commitments if commitments is not None else [{}], start=1):
                spec = dict(spec)
                milestones = spec.pop("milestones", [("Hito A", 50, "completed", 100, None, None),
                                                     ("Hito B", 50, "not_started", 0, None, None)])
                c = Commitment(number=spec.pop("number", n), title=spec.pop("title", f"Compromiso {n} de {tenant}"),
                               progress_status=spec.pop("progress_status", "started"), **spec)
                for i, (desc, weight, status, progress, start, end) in enumerate(milestones, start=1):
                    c.milestones.append(Milestone(number=i, description=desc, weight=weight, progress_status=status,
                                                  progress=progress, start_date=start, end_date=end))
                plan.commitments.append(c)
            db.session.add(plan)
            db.session.flush()
            for c in plan.commitments:
                services.recompute(c)
            db.session.commit()
            if publish:
                services.publish_plan(plan, None)
                db.session.commit()
            return plan.id
    return factory


@pytest.fixture
def run_demo_for(app):
    """``run_demo_for("edomex")`` runs the plugin's demo_data hook for a tenant (twice is fine)."""
    def do(slug: str, today: dt.date | None = None):
        tenant = get_tenant(app, slug)
        with tenant_context(tenant):
            ctx = DemoContext(tenant=tenant, user=None, log=lambda m: None)
            demo_data(tenant, ctx)
            db.session.commit()
    return do
