"""Commands that need no database create no files (issue 20): ``comun --help``, ``comun plugins
new`` (only the plugin's folder) and the offline ``comun notary verify`` leave the directory
they run from as it was: no ``instance/`` folder, no secret key. Each runs the real console
script in a fresh empty directory, without ``COMUN_*`` settings."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from comun_cms import publishing
from comun_cms.extensions import db
from comun_cms.models import Page
from comun_cms.tenancy import tenant_context

pytestmark = pytest.mark.slow

COMUN = Path(sys.executable).with_name("comun")


def comun(cwd: Path, *args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("COMUN_")}
    return subprocess.run([str(COMUN), *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=300)


def listing(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*"))


@pytest.mark.parametrize("args", [("--help",), ("plugins", "--help"), ("notary", "verify", "--help")])
def test_help_touches_nothing(tmp_path, args):
    result = comun(tmp_path, *args)
    assert result.returncode == 0, result.stderr
    assert "Usage:" in result.stdout
    assert listing(tmp_path) == []


@pytest.mark.parametrize("name", ["avisos", "x"])   # "x": the issue's own check
def test_plugins_new_creates_only_the_plugin_folder(tmp_path, name):
    result = comun(tmp_path, "plugins", "new", name)
    assert result.returncode == 0, result.stderr
    assert os.listdir(tmp_path) == [f"comun-{name}"]
    assert (tmp_path / f"comun-{name}" / "pyproject.toml").is_file()
    # a refused name (an upper-case letter) creates nothing at all
    refused = tmp_path / "otro"
    refused.mkdir()
    result = comun(refused, "plugins", "new", "Avisos")
    assert result.returncode == 2 and "NAME" in result.stderr
    assert listing(refused) == []


def test_offline_verify_touches_nothing(app, client, tmp_path):
    with tenant_context(app.extensions["comun"].tenants["edomex"]):
        page = Page(slug="sello", title="Con sello", body="texto")
        db.session.add(page)
        db.session.commit()
        publishing.publish(page)
    files = tmp_path / "descargas"
    files.mkdir()
    for name, url in (("receipt.tlog-proof", "/edomex/notary/entries/0/receipt.tlog-proof"),
                      ("entry.json", "/edomex/notary/entries/0/entry.json"), ("policy.txt", "/edomex/notary/policy")):
        response = client.get(url)
        assert response.status_code == 200, url
        (files / name).write_bytes(response.data)
    before = {p: p.read_bytes() for p in files.iterdir()}
    empty = tmp_path / "vacio"
    empty.mkdir()
    result = comun(empty, "notary", "verify", str(files / "receipt.tlog-proof"), str(files / "entry.json"),
                   "--policy", str(files / "policy.txt"))
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("OK: entry 0")
    assert listing(empty) == []
    assert {p: p.read_bytes() for p in files.iterdir()} == before
