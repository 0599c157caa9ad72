"""Issue 17 item 6: /healthz, /readyz, /metrics, request ids and JSON logs (comun_cms/ops.py,
health.py, metrics.py, logs.py)."""
from __future__ import annotations

import datetime as dt
import json
import logging

import pytest

from comun_cms import health
from comun_cms.extensions import db
from comun_cms.logs import RequestIdFilter, configure_logging, json_formatter
from comun_cms.models import MailOutbox, Page, SearchOutbox, utcnow
from comun_cms.tenancy import tenant_context
from comun_cms.testing import get_tenant

DRAFT = "BORRADOR-OPS-4b2c"


@pytest.fixture
def app_config(app_config):
    # the page cache on, as in production: the probes must not go through it
    return {**app_config, "PAGE_CACHE": True}


def _mail(**kw):
    values = dict(kind="test", sender="a@x.mx", recipient="b@x.mx", subject="s", text_body="t",
                  message_id=f"<{kw.get('status', 'pending')}-{id(kw)}@x>")
    values.update(kw)
    return MailOutbox(**values)


def test_healthz_touches_nothing(app, client, monkeypatch):
    def no_database(*a, **k):
        raise AssertionError("/healthz queried the database")
    monkeypatch.setattr(db.session, "execute", no_database)
    monkeypatch.setattr(db.session, "scalar", no_database)
    response = client.get("/healthz")
    assert response.status_code == 200 and response.json == {"status": "ok"}
    assert response.headers["Cache-Control"] == "no-store"
    assert "Set-Cookie" not in response.headers and "X-Page-Cache" not in response.headers
    assert client.head("/healthz").status_code == 200
    assert client.post("/healthz").status_code == 405


def test_readyz_ok(app, client):
    from comun_cms.search.service import get_search
    get_search().reindex()
    response = client.get("/readyz")
    assert response.status_code == 200, response.json
    body = response.json
    assert body["status"] == "ok" and body["failed"] == []
    assert set(body["checks"]) == {"database", "schema", "search", "mail_outbox", "search_outbox"}
    assert all(c["ok"] for c in body["checks"].values())


def test_readyz_names_a_stale_outbox(app, client):
    from comun_cms.search.service import get_search
    get_search().reindex()
    old = utcnow() - dt.timedelta(hours=2)
    db.session.add(_mail(next_attempt_at=old, created_at=old))
    db.session.add(SearchOutbox(tenant="edomex", doc_id="edomex:page:1", op="delete", created_at=old))
    db.session.commit()
    response = client.get("/readyz")
    assert response.status_code == 503
    body = response.json
    assert body["status"] == "fail" and body["failed"] == ["mail_outbox", "search_outbox"]
    assert body["checks"]["mail_outbox"]["backlog"] == 1 and body["checks"]["mail_outbox"]["oldest_due_age_s"] >= 7000
    assert body["checks"]["database"]["ok"] and body["checks"]["search"]["ok"]


def test_mail_waiting_for_a_retry_is_not_late(app, client):
    """An SMTP outage reschedules messages: they wait, but nothing is due, so the host stays ready."""
    old = utcnow() - dt.timedelta(hours=2)
    db.session.add(_mail(created_at=old, next_attempt_at=utcnow() + dt.timedelta(minutes=30), attempts=5))
    db.session.add(_mail(status="sending", claimed_at=old, message_id="<stuck@x>"))
    db.session.commit()
    mail, search = health.outbox_stats(app)
    assert (mail.backlog, mail.due) == (2, 1)  # the message claimed two hours ago by a dead worker is due
    assert mail.oldest_due_age >= 2 * 3600 - app.config["MAIL_CLAIM_TIMEOUT"] - 5
    assert (search.backlog, search.oldest_due_age) == (0, 0.0)


def test_readyz_names_a_database_that_does_not_answer(app, client, monkeypatch):
    from sqlalchemy.exc import OperationalError

    real = db.session.scalar

    def down(statement, *a, **k):
        raise OperationalError("SELECT 1", {}, Exception("connection refused"))
    monkeypatch.setattr(db.session, "scalar", down)
    response = client.get("/readyz")
    monkeypatch.setattr(db.session, "scalar", real)
    assert response.status_code == 503
    body = response.json
    assert body["checks"]["database"] == {"ok": False, "error": "OperationalError", "ms": body["checks"]["database"]["ms"]}
    assert {"database", "schema", "mail_outbox", "search_outbox"} <= set(body["failed"])
    assert "connection refused" not in response.get_data(as_text=True)  # details go to the log only


def test_readyz_fails_on_a_schema_behind_the_code(app, client, monkeypatch):
    monkeypatch.setitem(app.extensions, health._HEADS_KEY, {"a_future_revision"})
    response = client.get("/readyz")
    assert response.status_code == 503 and "schema" in response.json["failed"]
    assert response.json["checks"]["schema"]["error"] == "not at head"


def test_probes_resolve_no_tenant_and_show_no_tenant_data(app, client):
    """Tenant isolation of the new routes: they exist only at the root, answer the same on a
    tenant's own host, and say nothing of any tenant's content."""
    with tenant_context(get_tenant(app, "edomex")):
        db.session.add(Page(slug="borrador", title=DRAFT, body=DRAFT))
        db.session.commit()
    app.config["METRICS_TOKEN"] = "t" * 40
    for path in ("/healthz", "/readyz", "/metrics"):
        assert client.get(f"/edomex{path}").status_code == 404
        response = client.get(path, headers={"Authorization": "Bearer " + "t" * 40})
        assert response.status_code in (200, 503)
        text = response.get_data(as_text=True)
        assert DRAFT not in text and "edomex" not in text
    tenant_host = [t for t in app.extensions["comun"].tenants.values() if t.hosts]
    for tenant in tenant_host[:1]:
        assert client.get("/healthz", headers={"Host": tenant.hosts[0]}).json == {"status": "ok"}


def test_metrics_is_closed_until_configured(app, client):
    assert client.get("/metrics").status_code == 404
    app.config["METRICS_TOKEN"] = "s3cr3t-" + "x" * 30
    assert client.get("/metrics").status_code == 401
    assert client.get("/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 401
    assert client.get("/metrics", headers={"Authorization": "Bearer s3cr3t-" + "x" * 30}).status_code == 200
    app.config["METRICS_TOKEN"] = None
    app.config["METRICS_ALLOWED_NETWORKS"] = ["10.0.0.0/8"]
    assert client.get("/metrics").status_code == 403  # the test client is 127.0.0.1
    app.config["METRICS_ALLOWED_NETWORKS"] = "10.0.0.0/8, 127.0.0.0/8"
    assert client.get("/metrics").status_code == 200


def test_a_bad_network_is_a_clear_configuration_error(app):
    from comun_cms.config import ConfigError
    from comun_cms.metrics import metrics_networks
    with pytest.raises(ConfigError, match="METRICS_ALLOWED_NETWORKS: 'intranet'"):
        metrics_networks({"METRICS_ALLOWED_NETWORKS": ["intranet"]})


def _sample(text: str, name: str, **labels) -> float:
    want = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
    for line in text.splitlines():
        if line.startswith(name + "{") or line.startswith(name + " "):
            series, _, value = line.rpartition(" ")
            got = series[len(name):].strip("{}")
            if sorted(got.split(",")) == sorted(want.split(",")) if want else got == "":
                return float(value)
    return 0.0


def test_metrics_count_requests_by_endpoint_and_the_page_cache(app, client):
    app.config["METRICS_ALLOWED_NETWORKS"] = ["127.0.0.1/32"]
    before = client.get("/metrics").get_data(as_text=True)
    for _ in range(2):
        assert client.get("/edomex/").status_code == 200
    assert client.get("/edomex/no-such-page-123").status_code == 404
    db.session.add(_mail())
    db.session.commit()
    after = client.get("/metrics").get_data(as_text=True)
    n = lambda text, **kw: _sample(text, "comun_http_requests_total", **kw)  # noqa: E731
    assert n(after, method="GET", endpoint="public.home", status="200") - \
        n(before, method="GET", endpoint="public.home", status="200") == 2
    assert "/edomex/" not in after and "no-such-page-123" not in after  # endpoints, never raw paths
    hits = _sample(after, "comun_page_cache_requests_total", result="hit") - \
        _sample(before, "comun_page_cache_requests_total", result="hit")
    misses = _sample(after, "comun_page_cache_requests_total", result="miss") - \
        _sample(before, "comun_page_cache_requests_total", result="miss")
    assert (hits, misses) == (1, 1)
    assert _sample(after, "comun_http_request_duration_seconds_count", method="GET", endpoint="public.home") >= 2
    assert _sample(after, "comun_outbox_backlog", outbox="mail") == 1
    assert _sample(after, "comun_database_up") == 1


def test_request_id_is_returned_and_taken_from_the_proxy(app, client):
    made = client.get("/healthz").headers["X-Request-ID"]
    assert len(made) == 32 and made != client.get("/healthz").headers["X-Request-ID"]
    assert client.get("/edomex/", headers={"X-Request-ID": "nginx-abc.123"}).headers["X-Request-ID"] == "nginx-abc.123"
    forged = client.get("/edomex/", headers={"X-Request-ID": 'x" level=CRITICAL ' + "a" * 200}).headers["X-Request-ID"]
    assert "CRITICAL" not in forged and len(forged) == 32


def test_every_log_line_of_a_request_has_its_id(app, client):
    records: list[logging.LogRecord] = []

    class Keep(logging.Handler):
        def emit(self, record):
            records.append(record)
    handler = Keep()
    handler.addFilter(RequestIdFilter())
    logging.getLogger().addHandler(handler)

    def _speak():
        app.logger.warning("inside the request")
    app.before_request_funcs.setdefault(None, []).append(_speak)
    try:
        response = client.get("/edomex/", headers={"X-Request-ID": "req-42"})
    finally:
        logging.getLogger().removeHandler(handler)
        app.before_request_funcs[None].remove(_speak)
    assert response.headers["X-Request-ID"] == "req-42"
    mine = [r for r in records if r.getMessage() == "inside the request"]
    assert mine and all(r.request_id == "req-42" for r in mine)
    response.close()  # the server closes the response: the request is over
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "outside", (), None)
    RequestIdFilter().filter(record)
    assert record.request_id == "-"


def test_json_formatter_writes_one_object_per_line(app):
    record = logging.LogRecord("comun_cms", logging.WARNING, __file__, 1, "Publicación %s", ("lista",), None)
    record.request_id = "abc"
    line = json_formatter().format(record)
    data = json.loads(line)
    assert data["level"] == "WARNING" and data["message"] == "Publicación lista" and data["request_id"] == "abc"
    assert data["logger"] == "comun_cms" and "timestamp" in data and "\n" not in line


def test_log_format_is_checked(app):
    from comun_cms.config import ConfigError

    class Fake:
        config = {"LOG_FORMAT": "xml"}
    with pytest.raises(ConfigError, match="LOG_FORMAT: 'xml'"):
        configure_logging(Fake())


def _free_port() -> int:
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.slow
def test_gunicorn_workers_add_up_their_metrics_and_log_json_with_request_ids(app, tmp_path):
    """gunicorn with two workers as `comun run` starts it: /metrics adds up every worker's counts
    (prometheus_client multiprocess mode) and the access log is JSON carrying the request id."""
    import os
    import subprocess
    import sys
    import time
    import urllib.error
    import urllib.request
    from pathlib import Path

    from comun_cms.access_log import GUNICORN_ACCESS_LOG_ARGS
    from comun_cms.commands import prepare_metrics_dir

    token = "metrics-" + "k" * 32
    prom = prepare_metrics_dir(str(tmp_path / "instance"))
    env = dict(os.environ, COMUN_INSTANCE_PATH=str(tmp_path / "instance"),
               COMUN_DATABASE_URL=app.config["SQLALCHEMY_DATABASE_URI"], COMUN_LOG_FORMAT="json",
               COMUN_METRICS_TOKEN=token, PROMETHEUS_MULTIPROC_DIR=str(prom),
               PYTHONPATH=str(Path(__file__).resolve().parent.parent))
    port = _free_port()
    log = tmp_path / "gunicorn.log"
    base = f"http://127.0.0.1:{port}"
    with open(log, "wb") as out:
        proc = subprocess.Popen([sys.executable, "-m", "gunicorn", "-w", "2", "-b", f"127.0.0.1:{port}",
                                 *GUNICORN_ACCESS_LOG_ARGS, "comun_cms.wsgi:app"], env=env, stdout=out,
                                stderr=subprocess.STDOUT)
        try:
            for _ in range(900):  # wait for the workers to boot (up to ~90 s on a busy machine)
                try:
                    urllib.request.urlopen(base + "/healthz", timeout=5)
                    break
                except OSError:
                    assert proc.poll() is None, log.read_text()
                    time.sleep(0.1)
            else:
                pytest.fail("gunicorn did not answer: " + log.read_text())
            for i in range(12):
                request = urllib.request.Request(base + "/edomex/", headers={"X-Request-ID": f"drill-{i}"})
                with urllib.request.urlopen(request, timeout=30) as response:
                    assert response.headers["X-Request-ID"] == f"drill-{i}"
            secret = "tok-Zq8xY3secret-invitation-value"
            try:
                urllib.request.urlopen(base + f"/auth/invitacion/{secret}", timeout=30)
            except urllib.error.HTTPError as exc:
                assert exc.code == 404
            request = urllib.request.Request(base + "/metrics", headers={"Authorization": f"Bearer {token}"})
            text = urllib.request.urlopen(request, timeout=30).read().decode()
            for _ in range(100):  # the access line is written after the response
                if '"drill-11"' in log.read_text():
                    break
                time.sleep(0.05)
        finally:
            proc.terminate()
            proc.wait(timeout=30)
    assert _sample(text, "comun_http_requests_total", method="GET", endpoint="public.home", status="200") == 12, text
    assert _sample(text, "comun_http_request_duration_seconds_count", method="GET", endpoint="public.home") == 12
    assert list(prom.glob("*.db")), "the workers kept their values in PROMETHEUS_MULTIPROC_DIR"
    access = [json.loads(line) for line in log.read_text().splitlines()
              if line.startswith("{") and '"request_id": "drill-' in line]
    assert len(access) == 12, log.read_text()
    assert all(rec["path"] == "/edomex/" and rec["status"] == 200 and rec["method"] == "GET" for rec in access)
    assert sorted(rec["request_id"] for rec in access) == sorted(f"drill-{i}" for i in range(12))
    assert secret not in log.read_text() and '"path": "/auth/invitacion/[redacted]"' in log.read_text()
