"""External witnesses in the CMS and k-of-n witnessing (issue 18 item 2, issue 17 item 7).

Two standalone ``comun-witness`` processes with their own folders cosign a tenant's log over
HTTP through the CMS's own request path (the witness worker, :func:`witnessing.drain`); a
witness that is down never blocks publishing and its cosignature is fetched later, after the
back-off; the tlog-policy names the witnesses and the k-of-n quorum; the peer states form a
ring (linear, not quadratic, in the number of states); the admin page shows who cosigned the
latest checkpoint and since when a witness is silent, to that tenant's admins only.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
import re
import socket
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest
from sqlalchemy import select

from comun_cms.toolkit import db, tenant_context, utcnow
from comun_cms.toolkit.testing import get_tenant
from plugins.notary import services, witnessing
from plugins.notary import witness_server as ws
from plugins.notary.models import Cosignature, WitnessStatus
from plugins.notary.tlog.policy import parse_policy
from plugins.notary.tlog.proof import verify_receipt

ROOT = Path(__file__).resolve().parents[3]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Witness:
    """A ``comun-witness`` folder and its ``serve`` process on a fixed port (so a restart keeps
    the URL the tenant lists)."""

    def __init__(self, directory: Path, name: str):
        self.directory = directory
        self.vkey = ws.init_folder(directory, name)
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}/add-checkpoint"
        self.proc = None

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "plugins.notary.witness_server", "serve", "--dir", str(self.directory),
             "--port", str(self.port), "--quiet"], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            text=True, env={"PATH": "/usr/bin:/bin", "LANGUAGE": "en", "PYTHONUNBUFFERED": "1"})
        line = self.proc.stdout.readline()
        assert re.search(r"http://[\d.]+:\d+/", line), (line, self.proc.stderr.read())

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            self.proc.wait(timeout=30)
            self.proc.stdout.close()
            self.proc.stderr.close()
            self.proc = None

    def cosigned_size(self, origin: str) -> int:
        state = ws.SqliteWitnessStore(self.directory).load(origin)
        return state.size if state else 0


@pytest.fixture
def two_witnesses(tmp_path):
    made = [Witness(tmp_path / f"w{i}", f"observatorio{i}.example/testigo") for i in (1, 2)]
    yield made
    for w in made:
        w.stop()


def _configure(app, slug: str = "edomex", **notary) -> object:
    """Replace the tenant's notary settings (as tenant.toml would give them); returns the tenant."""
    state = app.extensions["comun"]
    t = state.tenants[slug]
    settings = dict(t.plugin_settings)
    settings["notary"] = {**settings["notary"], **notary}
    state.tenants[slug] = dataclasses.replace(t, plugin_settings=settings)
    return state.tenants[slug]


def _register_log(app, witness: Witness, slug: str = "edomex") -> str:
    tenant = get_tenant(app, slug)
    with tenant_context(tenant):
        origin = services.log_origin(tenant)
        for v in services.log_verifiers(tenant):
            ws.add_log(witness.directory, origin, v.vkey)
    return origin


def _cosigners(tenant) -> set[str]:
    with tenant_context(tenant):
        cp = services.latest_checkpoint()
        return set(db.session.scalars(select(Cosignature.witness).where(Cosignature.checkpoint_id == cp.id)))


def _external(witness: Witness, name: str) -> dict:
    return {"name": name, "url": witness.url, "vkey": witness.vkey}


def test_two_witness_processes_cosign_through_the_worker(app, client, publish_page, two_witnesses):
    publish_page("inicio")  # makes the log and its keys
    for w in two_witnesses:
        _register_log(app, w)
        w.start()
    tenant = _configure(app, witnesses=[_external(two_witnesses[0], "ong1"), _external(two_witnesses[1], "ong2")],
                        witness_quorum=3)
    publish_page("segunda")
    # after the commit only the peer states cosigned: the external witnesses are the worker's job
    names = _cosigners(tenant)
    assert len(names) == 2 and not any("observatorio" in n for n in names)
    assert witnessing.drain()["edomex"] == {"ong1": "ok", "ong2": "ok"}
    assert witnessing.drain() == {}  # nothing is due any more
    names = _cosigners(tenant)
    assert {"observatorio1.example/testigo", "observatorio2.example/testigo"} <= names and len(names) == 4
    with tenant_context(tenant):
        origin = services.log_origin(tenant)
        size = services.latest_checkpoint().size
    assert [w.cosigned_size(origin) for w in two_witnesses] == [size, size]

    served = client.get("/edomex/notary/checkpoint").get_data(as_text=True)
    assert "— observatorio1.example/testigo " in served and "— observatorio2.example/testigo " in served
    policy = client.get("/edomex/notary/policy").get_data(as_text=True)
    assert f"witness ong1 {two_witnesses[0].vkey} {two_witnesses[0].url}" in policy
    assert "group witnesses 3 hidalgo puebla ong1 ong2" in policy and "quorum witnesses" in policy
    # a receipt served now satisfies the 3-of-4 policy; the verify page names the witnesses
    entry = client.get("/edomex/notary/entries/1/entry.json").get_data()
    receipt = client.get("/edomex/notary/entries/1/receipt.tlog-proof").get_data()
    v = verify_receipt(receipt, entry, parse_policy(policy))
    assert set(v.witnesses) == {"hidalgo", "puebla", "ong1", "ong2"}
    page = client.post("/edomex/notary/verificar", data={"receipt": receipt.decode(), "entry": entry.decode()})
    assert page.status_code == 200 and "ong1" in page.get_data(as_text=True)

    # the quorum is k of n: without the external cosignatures 3 of 4 is not met
    pol = parse_policy(policy)
    assert not pol.quorum_satisfied({"hidalgo", "puebla"})
    assert pol.quorum_satisfied({"hidalgo", "puebla", "ong2"})


def test_a_witness_down_never_blocks_publishing_and_cosigns_later(app, client, publish_page, two_witnesses,
                                                                  login_as):
    w = two_witnesses[0]
    publish_page("inicio")
    _register_log(app, w)
    tenant = _configure(app, witnesses=[_external(w, "ong1")])
    _page, pub = publish_page("con-testigo-caido")  # the witness is not running
    with tenant_context(tenant):
        assert services.entry_for_publication(pub.id) is not None
        size = services.latest_checkpoint().size
    first = witnessing.drain()["edomex"]["ong1"]
    assert first.startswith("error:") and "unavailable" in first
    with tenant_context(tenant):
        row = db.session.scalar(select(WitnessStatus).where(WitnessStatus.witness == "ong1"))
        assert row.attempts == 1 and row.next_attempt_at > utcnow() and "unavailable" in row.last_error
        _cp, _cfg, reports = witnessing.witness_reports(tenant)
    silent = {r.spec.name: r for r in reports}["ong1"]
    assert not silent.cosigned_latest and silent.silent_since is not None
    assert witnessing.drain() == {}  # backing off: not asked again yet

    login_as("admin")
    html = client.get("/edomex/admin/notario/testigos").get_data(as_text=True)
    assert 'data-witness="ong1"' in html and 'data-cosigned="no"' in html
    assert "Silent since" in html and "unavailable" in html

    # publishing goes on meanwhile; the witness comes back; after the back-off it cosigns the latest
    publish_page("otra")
    w.start()
    later = utcnow() + dt.timedelta(hours=2)
    assert witnessing.drain(now=later)["edomex"] == {"ong1": "ok"}
    assert "observatorio1.example/testigo" in _cosigners(tenant)
    with tenant_context(tenant):
        assert w.cosigned_size(services.log_origin(tenant)) == size + 1
        row = db.session.scalar(select(WitnessStatus).where(WitnessStatus.witness == "ong1"))
        assert row.attempts == 0 and row.last_error is None and row.last_success_at is not None
    html = client.get("/edomex/admin/notario/testigos").get_data(as_text=True)
    assert 'data-cosigned="no"' not in html


def test_policy_follows_k_of_n_and_peers_form_a_ring(app, client, publish_page):
    publish_page("inicio")
    order = [t.slug for t in services.notary_tenants() if not t.training and t.workspace_of is None]
    assert order.index("edomex") >= 0
    tenant = _configure(app, peer_witnesses=1, witness_quorum=1)
    expected = order[(order.index("edomex") + 1) % len(order)]
    assert [t.slug for t in services.peer_tenants(tenant)] == [expected]
    policy = client.get("/edomex/notary/policy").get_data(as_text=True)
    assert f"group witnesses 1 {expected}" in policy and policy.count("\nwitness ") == 1
    parse_policy(policy)

    _configure(app, peer_witnesses=3, witness_quorum=5)  # more than the 2 other states
    cfg = witnessing.witness_config(get_tenant(app, "edomex"))
    assert cfg.quorum == 2 and any("witness_quorum" in p for p in cfg.problems)
    assert "group witnesses 2 " in client.get("/edomex/notary/policy").get_data(as_text=True)

    _configure(app, witness_quorum=0)
    assert client.get("/edomex/notary/policy").get_data(as_text=True).rstrip().endswith("quorum none")


def test_peer_witnessing_grows_linearly_with_the_states():
    """32 states, default 3 peers: 96 witness relations (not 32 * 31), each state cosigns 3 logs."""
    group = [SimpleNamespace(slug=f"s{i:02d}", setting=lambda plugin, key: 3) for i in range(32)]
    pairs = [(t.slug, p.slug) for t in group for p in witnessing.ring_peers(t, group)]
    assert len(pairs) == 96
    witnessed_by = {}
    for _log, witness in pairs:
        witnessed_by[witness] = witnessed_by.get(witness, 0) + 1
    assert set(witnessed_by.values()) == {3}
    assert [p.slug for p in witnessing.ring_peers(group[31], group)] == ["s00", "s01", "s02"]


def test_bad_witness_items_are_named_and_left_out(app, two_witnesses):
    w = two_witnesses[0]
    _configure(app, witnesses=[{"url": w.url, "vkey": "not-a-key"}, {"url": w.url, "vkey": w.vkey, "colour": "red"},
                               {"url": "ftp://x", "vkey": w.vkey}, {"url": w.url, "vkey_file": "no/such.vkey"},
                               "solo-una-palabra", _external(w, "ong1")])
    cfg = witnessing.witness_config(get_tenant(app, "edomex"))
    assert [s.name for s in cfg.witnesses if s.kind == "external"] == ["ong1"]
    joined = "\n".join(cfg.problems)
    for where in ("witnesses[0]: bad witness verifier key", "witnesses[1]: unknown key(s) colour",
                  "witnesses[2].url", "witnesses[3].vkey_file", "witnesses[4]"):
        assert where in joined, joined


def test_admin_witness_page_is_for_the_tenants_admins_only(app, client, publish_page, login_as, make_user, tmp_path):
    publish_page("inicio")
    publish_page("hola", tenant="puebla")
    extra = Witness(tmp_path / "solo-edomex", "solo-edomex.example/testigo")
    _configure(app, witnesses=[_external(extra, "solo-edomex")])
    assert client.get("/edomex/admin/notario/testigos").status_code == 302  # log in first
    login_as("editor")
    assert client.get("/edomex/admin/notario/testigos").status_code == 403
    client.get("/auth/logout")
    login_as(make_user("admin@puebla.test", role="admin", tenant="puebla"))
    assert client.get("/edomex/admin/notario/testigos").status_code == 403  # another tenant's admin
    html = client.get("/puebla/admin/notario/testigos").get_data(as_text=True)
    assert 'data-witness="edomex"' in html and "solo-edomex" not in html
    with tenant_context(get_tenant(app, "edomex")):
        witnessing.ask_witness(get_tenant(app, "edomex"), witnessing.witness_config(get_tenant(app, "edomex")).witnesses[-1])
    with tenant_context(get_tenant(app, "puebla")):
        rows = db.session.scalars(select(WitnessStatus)).all()  # edomex's queue is not puebla's
        assert rows and {r.tenant_id for r in rows} == {"puebla"} and "solo-edomex" not in {r.witness for r in rows}
    with tenant_context(get_tenant(app, "edomex")):
        assert "solo-edomex" in {r.witness for r in db.session.scalars(select(WitnessStatus))}
    # the admin's Settings page shows the witness tables of tenant.toml
    client.get("/auth/logout")
    login_as("admin")
    settings_page = client.get("/edomex/admin/configuracion")
    assert settings_page.status_code == 200 and f"url = {extra.url}" in settings_page.get_data(as_text=True)


def test_demo_witness_is_listed_by_the_three_states(app, runner):
    """`comun notary demo-witness` (run by `make run`) makes <instance>/witness-demo for every real
    state's log; the states' tenant.toml then lists it and `comun run` starts it."""
    result = runner.invoke(args=["notary", "demo-witness"])
    assert result.exit_code == 0, result.output
    folder = Path(app.instance_path) / witnessing.DEMO_WITNESS_DIR
    store = ws.SqliteWitnessStore(folder)
    with app.app_context():
        origins = {services.log_origin(get_tenant(app, s)) for s in ("hidalgo", "puebla", "edomex")}
        assert origins <= set(store.origins())
        for slug in ("hidalgo", "puebla", "edomex"):
            cfg = witnessing.witness_config(get_tenant(app, slug))
            demo = [s for s in cfg.witnesses if s.name == "observatorio-demo"]
            assert demo and demo[0].url == f"http://127.0.0.1:{witnessing.DEMO_WITNESS_PORT}/add-checkpoint"
            assert demo[0].vkeys[0] == (folder / "witness.vkey").read_text().strip()
    again = runner.invoke(args=["notary", "demo-witness"])
    assert again.exit_code == 0 and result.output.splitlines()[0] == again.output.splitlines()[0]
    names = [w.name for r in app.extensions["comun"].pm.hook.register_workers(instance_path=app.instance_path)
             for w in r]
    assert names == ["notary worker", "example witness"]
