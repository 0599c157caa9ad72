"""Two app hosts sharing only PostgreSQL and Redis (issue 17, item 5).

Two gunicorn servers (real processes) on two ports, each with its own instance folder; what they
share is the database (``COMUN_DATABASE_URL``: content, search with ``SEARCH_BACKEND=postgres``,
uploads with ``UPLOAD_STORE=database``, notary log) and Redis (``COMUN_CACHE_URL`` page cache,
``COMUN_RATELIMIT_STORAGE_URI``). The secret key and the notary keys are files *given* to each host
(copied into each instance folder, as configuration management would), made once by ``comun init``
on the first host. Checked over HTTP:

* publishing on A (log in, new page, attach a PDF, publish) -> B serves the new page at once
  (its cached home page was invalidated), finds it in search, serves its file and verifies it in
  the notary (``/notary/lookup/<sha>``: server-side inclusion proof against a signed checkpoint);
* publications on A and B at the same time never fork the log: every one has one entry, indexes
  0..n-1, ``comun notary audit`` passes and the checkpoint sizes grow by the log's size;
* the log-in rate limit is one count for both hosts.

PostgreSQL and Redis only: skipped on SQLite (``COMUN_TEST_DATABASE_URL`` unset) and without Redis.
"""
from __future__ import annotations

import concurrent.futures
import hashlib
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import uuid
from html.parser import HTMLParser
from pathlib import Path

import pytest
import requests

ROOT = Path(__file__).resolve().parent.parent
PG_URL = os.environ.get("COMUN_TEST_DATABASE_URL", "")
REDIS_URL = os.environ.get("COMUN_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
PASSWORD = "contraseña-de-prueba-larga"

pytestmark = pytest.mark.skipif(not PG_URL.startswith("postgresql"),
                                reason="several app hosts share a PostgreSQL database: set COMUN_TEST_DATABASE_URL")


class _Forms(HTMLParser):
    """Collects each ``<form>``'s ``action`` and the name/value of its inputs."""

    def __init__(self):
        super().__init__()
        self.forms: list[tuple[str, dict]] = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form":
            self.forms.append((attrs.get("action") or "", {}))
        elif tag in ("input", "button") and self.forms and attrs.get("name"):
            if attrs.get("type") not in ("checkbox", "radio", "file") or "checked" in attrs:
                self.forms[-1][1].setdefault(attrs["name"], attrs.get("value") or "")
        elif tag == "select" and self.forms:
            self._select = attrs.get("name")
        elif tag == "option" and self.forms and getattr(self, "_select", None):
            fields = self.forms[-1][1]
            if self._select not in fields or "selected" in attrs:  # the first option, or the selected one
                fields[self._select] = attrs.get("value") or ""


def form_fields(html: str, action_re: str) -> dict:
    """The inputs of the first form whose action matches ``action_re``."""
    parser = _Forms()
    parser.feed(html)
    for action, fields in parser.forms:
        if re.search(action_re, action):
            return dict(fields)
    raise AssertionError(f"no form with action ~ {action_re!r}")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Host:
    """One app host: an instance folder and a gunicorn process (2 threads) on its own port."""

    def __init__(self, name: str, folder: Path, env: dict):
        self.name, self.folder, self.port = name, folder, _free_port()
        self.env = {**env, "COMUN_INSTANCE_PATH": str(folder), "COMUN_NOTARY_KEYS_DIR": str(folder / "keys"),
                    "COMUN_SECRET_KEY_FILE": str(folder / "secret")}
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc = None
        self.log = None

    def comun(self, *args: str) -> subprocess.CompletedProcess:
        return subprocess.run([str(Path(sys.executable).parent / "comun"), *args], env=self.env, cwd=ROOT,
                              capture_output=True, text=True, timeout=600)

    def start(self) -> None:
        self.log = open(self.folder / "gunicorn.log", "w")
        self.proc = subprocess.Popen([sys.executable, "-m", "gunicorn", "-w", "1", "--threads", "4", "-b",
                                      f"127.0.0.1:{self.port}", "comun_cms.wsgi:app"],
                                     env=self.env, cwd=ROOT, stdout=self.log, stderr=subprocess.STDOUT)
        for _ in range(600):
            if self.proc.poll() is not None:
                raise AssertionError(f"host {self.name} exited: {(self.folder / 'gunicorn.log').read_text()[-3000:]}")
            try:
                if requests.get(self.url + "/", timeout=60).status_code == 200:
                    return
            except (requests.ConnectionError, requests.Timeout):
                pass
            time.sleep(0.2)
        raise AssertionError(f"host {self.name} did not answer")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        if self.log is not None:
            self.log.close()


def _redis_or_skip():
    import redis
    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2)
    try:
        client.ping()
    except redis.exceptions.ConnectionError as exc:
        if os.environ.get("COMUN_REQUIRE_REDIS") == "1":
            pytest.fail(f"Redis at {REDIS_URL} does not answer and COMUN_REQUIRE_REDIS=1: {exc}")
        pytest.skip(f"Redis at {REDIS_URL} does not answer")
    return client


@pytest.fixture
def hosts(app, make_user, tmp_path):
    """Hosts A and B on the test database (migrated, empty), sharing a fresh Redis key prefix."""
    client = _redis_or_skip()
    prefix = f"comun-2hosts-{uuid.uuid4().hex[:12]}:"
    make_user("editora@edomex.test", role="editor", tenant="edomex", password=PASSWORD)
    make_user("editor@puebla.test", role="editor", tenant="puebla", password=PASSWORD)
    url = app.config["SQLALCHEMY_DATABASE_URI"].replace("postgresql+psycopg://", "postgresql://", 1)
    env = {k: v for k, v in os.environ.items() if not k.startswith("COMUN_")}
    env.update({"COMUN_DATABASE_URL": url, "COMUN_SEARCH_BACKEND": "postgres", "COMUN_UPLOAD_STORE": "database",
                "COMUN_CACHE_URL": REDIS_URL, "COMUN_PAGE_CACHE_KEY_PREFIX": prefix,
                "COMUN_RATELIMIT_STORAGE_URI": REDIS_URL, "COMUN_RATELIMIT_KEY_PREFIX": prefix,
                "COMUN_SITE_HOST": "127.0.0.1:5000", "COMUN_PASSWORD_HASH_METHOD": "scrypt:1024:8:1",
                "COMUN_LOGIN_RATE_LIMIT": "12 per minute"})
    given = tmp_path / "given"  # what the operator hands every host: the secret key and the notary keys
    given.mkdir()
    (given / "secret").write_text(uuid.uuid4().hex + uuid.uuid4().hex + "\n")
    a, b = Host("A", tmp_path / "a", env), Host("B", tmp_path / "b", env)
    for host in (a, b):
        host.folder.mkdir()
        shutil.copy(given / "secret", host.folder / "secret")
    # `comun init` on the first host makes the notary keys (nothing is stored for the logs yet) ...
    first = a.comun("init", "--quiet")
    assert first.returncode == 0, first.stdout + first.stderr
    assert (a.folder / "keys" / "edomex" / "keyring.json").is_file()
    # ... and on a second host without them refuses rather than making others
    refused = b.comun("init", "--quiet")
    assert refused.returncode != 0 and "no notary keyring" in refused.stdout + refused.stderr
    assert not (b.folder / "keys" / "edomex" / "keyring.json").exists()
    shutil.copytree(a.folder / "keys", b.folder / "keys")
    db_session_release(app)
    try:
        a.start()
        b.start()
        yield a, b
    finally:
        for host in (a, b):
            host.stop()
        for key in client.scan_iter(f"{prefix}*"):
            client.delete(key)
        client.close()


def db_session_release(app) -> None:
    """End the test process's own transaction, so it holds no lock the hosts wait for."""
    from comun_cms.extensions import db
    db.session.commit()
    db.session.close()


def _log_size(app) -> int:
    """Entries in edomex's log, with their indexes checked to be exactly 0..n-1 (no fork, no gap)."""
    from sqlalchemy import select

    from comun_cms.extensions import db
    from comun_cms.tenancy import tenant_context
    from plugins.notary.models import Entry, LogHead
    with tenant_context(app.extensions["comun"].tenants["edomex"]):
        indexes = list(db.session.scalars(select(Entry.index).order_by(Entry.index)))
        head = db.session.scalar(select(LogHead.size))
    db_session_release(app)
    assert indexes == list(range(len(indexes))) and (head or 0) == len(indexes)
    return len(indexes)


def login(host: Host, email: str) -> requests.Session:
    s = requests.Session()
    fields = form_fields(s.get(host.url + "/auth/login").text, r"login")
    fields.update(email=email, password=PASSWORD)
    r = s.post(host.url + "/auth/login", data=fields, allow_redirects=False)
    assert r.status_code == 303, r.text[:500]
    return s


def _errors(html: str) -> list[str]:
    """The error messages of a re-rendered form (for assertion messages)."""
    return re.findall(r"(?:error|invalid)[^>]*>\s*([^<]{3,})", html)


def publish_page(host: Host, s: requests.Session, tenant: str, title: str, body: str,
                 attachment: tuple[str, bytes] | None = None) -> int:
    """Create, (attach a file to,) and publish a page through host's admin forms; the page's id."""
    new = f"{host.url}/{tenant}/admin/paginas/nueva"
    fields = form_fields(s.get(new).text, r"paginas/nueva")
    fields.update(title=title, body=body, summary=body[:100])
    fields.pop("preview", None)
    r = s.post(new, data=fields, allow_redirects=False)
    assert r.status_code == 303, (fields, _errors(r.text))
    page_id = int(re.search(r"/paginas/(\d+)", r.headers["Location"]).group(1))
    edit = f"{host.url}/{tenant}/admin/paginas/{page_id}"
    if attachment:
        fields = form_fields(s.get(edit).text, rf"paginas/{page_id}/archivos")
        fields["upload-title"] = attachment[0]
        r = s.post(f"{edit}/archivos", data=fields, files={"upload-file": (attachment[0], attachment[1])},
                   allow_redirects=False)
        assert r.status_code == 303, (fields, _errors(r.text))
    fields = form_fields(s.get(edit).text, rf"paginas/{page_id}/publicar$")
    r = s.post(f"{edit}/publicar", data=fields, allow_redirects=False)
    assert r.status_code == 303, (fields, _errors(r.text))
    return page_id


PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def test_publish_on_a_is_served_found_and_verified_on_b(hosts):
    a, b = hosts
    home_b = requests.get(b.url + "/edomex/")
    assert home_b.status_code == 200 and "Xochipilli" not in home_b.text
    assert requests.get(b.url + "/edomex/").status_code == 200  # cached on B now (shared Redis)
    pdf = PDF + b"% acta de sesion " + uuid.uuid4().hex.encode() + b"\n"
    editor = login(a, "editora@edomex.test")
    publish_page(a, editor, "edomex", "Informe Xochipilli", "Informe de la comisión Xochipilli sobre transparencia.",
                 ("acta.pdf", pdf))
    # B: the home page lists it (the generation bumped on A invalidated B's cached copy)
    assert "Informe Xochipilli" in requests.get(b.url + "/edomex/").text
    page = requests.get(b.url + "/edomex/p/informe-xochipilli")
    assert page.status_code == 200 and "Xochipilli" in page.text
    # B finds it (PostgreSQL search, indexed in A's publishing transaction)
    found = requests.get(b.url + "/edomex/buscar", params={"q": "xochipilli"})
    assert found.status_code == 200 and "/edomex/p/informe-xochipilli" in found.text
    # B serves its file (the bytes are in the database, not on A's disk)
    href = re.search(r'href="(/edomex/archivos/\d+/[^"]+)"', page.text).group(1)
    file_b = requests.get(b.url + href)
    assert file_b.status_code == 200 and file_b.content == pdf
    assert not any(p.is_file() and p.read_bytes() == pdf for p in a.folder.rglob("*"))
    # B verifies it in the notary: inclusion proof against a checkpoint signed with the shared key
    sha = hashlib.sha256(pdf).hexdigest()
    lookup = requests.get(f"{b.url}/edomex/notary/lookup/{sha}")
    assert lookup.status_code == 200, lookup.text
    matches = lookup.json()["matches"]
    assert matches and all(m["server_check"]["ok"] for m in matches), matches


def test_concurrent_publications_on_both_hosts_never_fork_the_log(hosts, app):
    a, b = hosts
    # four editors' browsers, two on each host, each publishing three pages, all at the same time
    workers = [(host, login(host, "editora@edomex.test"), w) for host in (a, b) for w in range(2)]
    jobs = [(host, w, n) for host, _s, w in workers for n in range(3)]

    def run(worker):
        host, session, w = worker
        return [publish_page(host, session, "edomex", f"Sesión {host.name}{w}-{n}", f"Acuerdos de la sesión {n}.")
                for n in range(3)]

    before = _log_size(app)
    with concurrent.futures.ThreadPoolExecutor(max_workers=len(workers)) as pool:
        ids = [i for batch in pool.map(run, workers) for i in batch]
    assert len(set(ids)) == len(jobs)
    audit = a.comun("notary", "audit", "--tenant", "edomex")
    assert audit.returncode == 0, audit.stdout + audit.stderr
    size = before + len(jobs)
    assert _log_size(app) == size and f"{size} publications checked" in audit.stdout
    assert f"OK ({size} entries" in audit.stdout
    assert b.comun("notary", "audit", "--tenant", "edomex", "--quiet").returncode == 0
    checkpoint = requests.get(b.url + "/edomex/notary/checkpoint").text.split("\n")
    assert int(checkpoint[1]) == size  # C2SP tlog-checkpoint: origin, tree size, root hash
    assert requests.get(a.url + "/edomex/notary/checkpoint").text.split("\n")[:3] == checkpoint[:3]


def test_rate_limits_are_shared(hosts):
    a, b = hosts
    statuses = []
    for n in range(14):  # the limit set above: 12 log-in attempts a minute, counted for both hosts
        host = a if n % 2 == 0 else b
        s = requests.Session()
        fields = form_fields(s.get(host.url + "/auth/login").text, r"login")
        fields.update(email="nadie@example.test", password="equivocada")
        statuses.append(s.post(host.url + "/auth/login", data=fields, allow_redirects=False).status_code)
    assert statuses[:12] == [401] * 12 and statuses[12:] == [429, 429], statuses
