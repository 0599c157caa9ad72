"""A harvester following the change feed while several processes publish at once: at the end
it holds every publication exactly once, in log order (issue 20). Runs on the test database:
SQLite, or PostgreSQL when ``COMUN_TEST_DATABASE_URL`` is set.

On SQLite a writer that finds the database locked gets ``database is locked``; its whole
publication is rolled back (nothing half-written) and it tries again, as a client would."""
from __future__ import annotations

import multiprocessing
import time

import pytest
from sqlalchemy import select
from sqlalchemy.exc import OperationalError

from comun_cms.toolkit import Page, Publication, PublishError, all_tenants, correct, db, publish, tenant_context
from comun_cms.toolkit.testing import create_app

pytestmark = pytest.mark.slow

PROCESSES = 3
PER_PROCESS = 6
TENANTS = ("edomex", "hidalgo")


def _locked(exc: BaseException) -> bool:
    while exc is not None:
        if isinstance(exc, OperationalError) and "locked" in str(exc):
            return True
        exc = exc.__cause__ or exc.__context__
    return False


def _with_retry(action, errors, label: str) -> None:
    for _attempt in range(200):
        try:
            action()
            return
        except (OperationalError, PublishError) as exc:
            db.session.rollback()
            if not _locked(exc):
                errors.put(f"{label}: {exc!r}")
                return
            time.sleep(0.05)  # SQLite: another process holds the write lock; try again
    errors.put(f"{label}: still locked after 200 attempts")


def _publisher(url: str, instance: str, worker: int, start, errors) -> None:
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "INSTANCE_PATH": instance, "TESTING": True,
                      "SEARCH_SYNC": False, "RATELIMIT_ENABLED": False})
    with app.app_context():
        start.wait(60)
        for i in range(PER_PROCESS):
            tenant = app.extensions["comun"].tenants[TENANTS[(worker + i) % len(TENANTS)]]
            with tenant_context(tenant):
                page = Page(slug=f"w{worker}-{i}", title=f"Publicador {worker}, página {i}", body="texto")

                def first(page=page):
                    db.session.add(page)
                    publish(page)
                _with_retry(first, errors, f"worker {worker} page {i}")
                if i % 3 == 1:
                    def second(page=page):
                        page = db.session.get(Page, page.id)
                        page.body = "texto corregido"
                        correct(page, reason="Errata")
                    _with_retry(second, errors, f"worker {worker} correction {i}")
        db.session.remove()
        db.engine.dispose()


def _read(client, url: str) -> dict:
    response = client.get(url)
    db.session.remove()  # end the read transaction, as a request of its own would
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()


def test_harvester_gets_every_publication_exactly_once_in_log_order(app, client, runner, database_url):
    assert runner.invoke(args=["notary", "keygen"]).exit_code == 0
    db.session.remove()
    ctx = multiprocessing.get_context("spawn")
    start, errors = ctx.Event(), ctx.Queue()
    procs = [ctx.Process(target=_publisher, args=(database_url, app.instance_path, w, start, errors))
             for w in range(PROCESSES)]
    for p in procs:
        p.start()
    start.set()
    tenant_items: list[dict] = []
    portal_items: list[dict] = []
    tenant_url, portal_url = "/api/v1/edomex/changes?limit=3", "/api/v1/changes?limit=4"
    done = False
    while True:  # follow both feeds while the publishers run, then until both are drained
        finished = all(not p.is_alive() for p in procs)
        tenant_page, portal_page = _read(client, tenant_url), _read(client, portal_url)
        tenant_items += tenant_page["data"]
        portal_items += portal_page["data"]
        tenant_url, portal_url = tenant_page["next_url"], portal_page["next_url"]
        if done and not tenant_page["data"] and not portal_page["data"]:
            break
        done = finished
        if not tenant_page["data"] and not portal_page["data"]:
            time.sleep(0.05)
    for p in procs:
        p.join(60)
        assert p.exitcode == 0
    failures = []
    while not errors.empty():
        failures.append(errors.get())
    assert failures == []

    published = {slug: set() for slug in TENANTS}
    for tenant, record_id, version in db.session.execute(all_tenants(
            select(Publication.tenant_id, Publication.record_id, Publication.version)
            .where(Publication.tenant_id.in_(TENANTS)))):
        published[tenant].add((record_id, version))
    corrections = sum(1 for i in range(PER_PROCESS) if i % 3 == 1)
    assert sum(len(v) for v in published.values()) == PROCESSES * (PER_PROCESS + corrections)

    # the tenant feed: every publication of edomex once, indexes 0, 1, 2... in order
    assert [c["index"] for c in tenant_items] == list(range(len(published["edomex"])))
    assert {(c["record_id"], c["version"]) for c in tenant_items} == published["edomex"]
    # the portal feed: every publication of both tenants once, each tenant in its log order
    assert len(portal_items) == sum(len(v) for v in published.values())
    for slug in TENANTS:
        mine = [c for c in portal_items if c["tenant"] == slug]
        assert [c["index"] for c in mine] == list(range(len(published[slug])))
        assert {(c["record_id"], c["version"]) for c in mine} == published[slug]
    # a version is always logged after the one it corrects
    seen: dict[tuple[str, str], int] = {}
    for c in portal_items:
        assert seen.get((c["tenant"], c["record_id"]), 0) == c["version"] - 1
        seen[(c["tenant"], c["record_id"])] = c["version"]
    with tenant_context(app.extensions["comun"].tenants["edomex"]):
        assert runner.invoke(args=["notary", "audit", "--tenant", "edomex"]).exit_code == 0
