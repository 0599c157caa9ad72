"""Concurrency on PostgreSQL: several processes publishing at once never share a leaf index and
never fork the tree. Runs only when ``COMUN_TEST_DATABASE_URL`` (PostgreSQL) is set."""
from __future__ import annotations

import multiprocessing
import os

import pytest
from sqlalchemy import select

from comun_cms.toolkit import Page, db, publish, tenant_context
from comun_cms.toolkit.testing import create_app, get_tenant
from plugins.notary.models import Checkpoint, Entry

PROCESSES = 4
PER_PROCESS = 8

pytestmark = pytest.mark.skipif(not os.environ.get("COMUN_TEST_DATABASE_URL", "").startswith("postgresql"),
                                reason="needs COMUN_TEST_DATABASE_URL (PostgreSQL)")


def _publisher(url: str, instance: str, worker: int, start, errors) -> None:
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "INSTANCE_PATH": instance, "TESTING": True,
                      "SEARCH_SYNC": False, "RATELIMIT_ENABLED": False})
    with app.app_context():
        tenant = app.extensions["comun"].tenants["edomex"]
        start.wait(30)
        with tenant_context(tenant):
            for i in range(PER_PROCESS):
                try:
                    publish(Page(slug=f"w{worker}-{i}", title=f"W{worker} {i}"))
                except Exception as exc:  # reported to the parent
                    errors.put(f"worker {worker} publication {i}: {exc}")
        db.session.remove()
        db.engine.dispose()


def test_concurrent_publishers_never_share_an_index(app, database_url, runner):
    assert runner.invoke(args=["notary", "keygen"]).exit_code == 0
    db.session.remove()
    ctx = multiprocessing.get_context("spawn")
    start = ctx.Event()
    errors = ctx.Queue()
    procs = [ctx.Process(target=_publisher, args=(database_url, app.instance_path, w, start, errors))
             for w in range(PROCESSES)]
    for p in procs:
        p.start()
    start.set()
    for p in procs:
        p.join(120)
        assert p.exitcode == 0
    failures = []
    while not errors.empty():
        failures.append(errors.get())
    assert failures == []
    total = PROCESSES * PER_PROCESS
    with tenant_context(get_tenant(app, "edomex")):
        indexes = db.session.scalars(select(Entry.index).order_by(Entry.index)).all()
        assert indexes == list(range(total))
        sizes = db.session.scalars(select(Checkpoint.size).order_by(Checkpoint.size)).all()
        assert sizes == sorted(set(sizes)) and sizes[-1] == total
    result = runner.invoke(args=["notary", "audit", "--tenant", "edomex"])
    assert result.exit_code == 0, result.output
