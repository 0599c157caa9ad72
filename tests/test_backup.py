"""Issue 17 item 6: ``comun backup`` / ``comun restore`` (comun_cms/backup.py).

The restore drill: a site with the real documents and the demo content is backed up, destroyed
(database and instance folder), restored into a new instance; then ``comun notary audit`` and
``comun search check`` pass and every public page of a crawled set answers the same body. Runs
on SQLite, and on PostgreSQL with ``COMUN_TEST_DATABASE_URL``.
"""
from __future__ import annotations

import difflib
import io
import re
import shutil
import tarfile
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from werkzeug.datastructures import FileStorage

from comun_cms import backup as backup_mod
from comun_cms import publishing
from comun_cms.app import create_app
from comun_cms.backup import BackupError, backup, read_backup, restore
from comun_cms.demo import run_demo
from comun_cms.extensions import db
from comun_cms.models import Page
from comun_cms.search.service import get_search
from comun_cms.tenancy import tenant_context
from comun_cms.testing import _drop_all_postgres, get_tenant
from comun_cms.uploads import store_upload

PASSPHRASE = "una frase de paso larga 2026"
CHEAP = (12, 8, 1)  # scrypt parameters for the library-level tests (the CLI keeps N = 2**17)
#: per-visitor tokens: the signed "form shown at" time (changes every second) and the CSRF token (per session)
_ISSUED = re.compile(r'<input[^>]*name="(([a-z]+-)?issued|csrf_token)"[^>]*>')


def _body(response) -> str:
    return _ISSUED.sub("<issued>", response.get_data(as_text=True))


def _crawl(client, slugs: list[str], limit: int = 60) -> dict[str, str]:
    """Bodies of the portal, each state's home and the public pages they link to."""
    start = ["/", "/buscar?q=informe", "/criterios/"] + [f"/{slug}/" for slug in slugs]
    seen: dict[str, str] = {}
    queue = list(start)
    while queue and len(seen) < limit:
        url = queue.pop(0)
        if url in seen:
            continue
        response = client.get(url)
        if response.status_code != 200 or response.mimetype != "text/html":
            continue
        seen[url] = _body(response)
        for href in re.findall(r'href="(/[^"#]*)"', seen[url]):
            path = urlsplit(href).path
            if any(part in path for part in ("/admin", "/auth", "/static", "/uploads", "/archivos", "/descargar")):
                continue
            if path.split("/")[1] in slugs and href not in seen and href not in queue:
                queue.append(href.replace("&amp;", "&"))
    return seen


def _destroy(app) -> None:
    """Lose the database and the instance folder."""
    url = app.config["SQLALCHEMY_DATABASE_URI"]
    db.session.remove()
    db.engine.dispose()
    if url.startswith("postgresql"):
        _drop_all_postgres(url)
    else:
        Path(url.removeprefix("sqlite:///")).unlink()
    shutil.rmtree(app.instance_path)


PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def _published_page_with_a_file(app, slug: str = "respaldo") -> str:
    """A published page of edomex with a public PDF; returns the file's address."""
    with tenant_context(get_tenant(app, "edomex")):
        page = Page(slug=slug, title="Informe respaldado", body="Con archivo.", section="links")
        db.session.add(page)
        db.session.flush()
        att = store_upload(FileStorage(io.BytesIO(PDF), filename="informe.pdf"), owner_type="page",
                           owner_id=str(page.id))
        db.session.commit()
        publishing.publish(page)
        db.session.refresh(att)
        return f"/edomex/archivos/{att.id}/informe.pdf"


@pytest.mark.slow
def test_restore_drill(app, app_config, tmp_path):
    run_demo(app, log=lambda message: None)
    file_url = _published_page_with_a_file(app)
    get_search().reindex()
    assert app.test_client().get(file_url).data == PDF
    slugs = sorted(app.extensions["comun"].public_tenants())
    before = _crawl(app.test_client(), slugs)
    assert len(before) >= 30, sorted(before)
    assert any("/compromisos/" in u or "/sesiones/" in u for u in before), sorted(before)  # records, not only homes

    pass_file = tmp_path / "passphrase"
    pass_file.write_text(PASSPHRASE + "\n")
    archive = tmp_path / "sitio.comun-backup"
    result = app.test_cli_runner().invoke(args=["backup", str(archive), "--passphrase-file", str(pass_file)])
    assert result.exit_code == 0, result.output
    assert archive.stat().st_mode & 0o777 == 0o600
    key = app.config["SECRET_KEY"]
    uploads = sorted(p.relative_to(app.config["UPLOAD_DIR"]) for p in Path(app.config["UPLOAD_DIR"]).rglob("*")
                     if p.is_file())
    assert uploads, "the demo content has uploads"

    _destroy(app)

    config = {**app_config, "INSTANCE_PATH": str(tmp_path / "restored")}
    restored = create_app(config)
    with restored.app_context():
        runner = restored.test_cli_runner()
        result = runner.invoke(args=["restore", str(archive), "--passphrase-file", str(pass_file)])
        assert result.exit_code == 0, result.output
        assert restored.config["SECRET_KEY"] == key
        assert sorted(p.relative_to(restored.config["UPLOAD_DIR"]) for p in
                      Path(restored.config["UPLOAD_DIR"]).rglob("*") if p.is_file()) == uploads
        for slug in slugs:
            audit = runner.invoke(args=["notary", "audit", "--tenant", slug])
            assert audit.exit_code == 0 and "OK" in audit.output, audit.output
        check = runner.invoke(args=["search", "check"])
        assert check.exit_code == 0 and "OK: index and database agree." in check.output, check.output
        assert restored.test_client().get(file_url).data == PDF
        db.session.remove()
    # outside the test's application context, so that each request gets a fresh `g`, as in production
    after = _crawl(restored.test_client(), slugs)
    assert sorted(after) == sorted(before)
    changed = [url for url in before if before[url] != after[url]]
    if changed:
        diff = "\n".join(list(difflib.unified_diff(before[changed[0]].splitlines(), after[changed[0]].splitlines(),
                                                   lineterm="", n=1))[:40])
        pytest.fail(f"pages that answer differently after the restore: {changed[:5]}\n{diff}")
    with restored.app_context():
        # the restored site goes on: a new page and file get the next ids (sequences restored)
        assert _published_page_with_a_file(restored, "despues") != file_url
        again = runner.invoke(args=["restore", str(archive), "--passphrase-file", str(pass_file)])
        assert again.exit_code != 0 and "not empty" in again.output
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def small_backup(app, tmp_path) -> Path:
    """A backup of the test site (tenants, a secret key, one upload) with cheap key derivation."""
    upload = Path(app.config["UPLOAD_DIR"]) / "edomex" / "informe.pdf"
    upload.parent.mkdir(parents=True)
    upload.write_bytes(b"%PDF-1.4 informe\n")
    path = tmp_path / "small.bak"
    backup(app, path, PASSPHRASE, scrypt=CHEAP)
    return path


def test_a_wrong_passphrase_is_named(small_backup, tmp_path):
    with pytest.raises(BackupError, match="wrong passphrase"):
        read_backup(small_backup, "otra frase de paso 2026", tmp_path / "out")


@pytest.mark.parametrize("where", [0.5, -20])
def test_a_changed_byte_is_refused(small_backup, tmp_path, where):
    data = bytearray(small_backup.read_bytes())
    data[int(len(data) * where) if where > 0 else where] ^= 0x01
    small_backup.write_bytes(bytes(data))
    with pytest.raises(BackupError, match="was changed or damaged"):
        read_backup(small_backup, PASSPHRASE, tmp_path / "out")


def test_a_file_cut_short_or_extended_is_refused(small_backup, tmp_path):
    data = small_backup.read_bytes()
    small_backup.write_bytes(data[:-40])
    with pytest.raises(BackupError, match="cut short|changed"):
        read_backup(small_backup, PASSPHRASE, tmp_path / "a")
    small_backup.write_bytes(data + b"x")
    with pytest.raises(BackupError, match="added after its end|cut short|changed"):
        read_backup(small_backup, PASSPHRASE, tmp_path / "b")


def test_the_manifest_is_checked(small_backup, tmp_path):
    """A backup re-encrypted with the right passphrase but one file changed inside still fails:
    the manifest's SHA-256 does not match."""
    plain = io.BytesIO()
    with small_backup.open("rb") as fh:
        reader = io.BufferedReader(backup_mod._DecryptingReader(fh, PASSPHRASE))
        with tarfile.open(fileobj=reader, mode="r|gz") as src, tarfile.open(fileobj=plain, mode="w:gz") as dst:
            for member in src:
                data = src.extractfile(member).read()
                if member.name == "files/uploads/edomex/informe.pdf":
                    data = data.replace(b"informe", b"INFORME")
                dst.addfile(member, io.BytesIO(data))
    forged = tmp_path / "forged.bak"
    with forged.open("wb") as out:
        writer = backup_mod._EncryptingWriter(out, PASSPHRASE, CHEAP)
        writer.write(plain.getvalue())
        writer.finish()
    with pytest.raises(BackupError, match="informe.pdf does not match its SHA-256"):
        read_backup(forged, PASSPHRASE, tmp_path / "out")


def test_restore_refuses_an_instance_that_is_not_empty(app, small_backup):
    with pytest.raises(BackupError, match="database is not empty"):
        restore(app, small_backup, PASSPHRASE)


def test_backup_refuses_a_short_passphrase_and_an_existing_file(app, small_backup, tmp_path):
    with pytest.raises(BackupError, match="at least 12 characters"):
        backup(app, tmp_path / "x.bak", "corta", scrypt=CHEAP)
    with pytest.raises(BackupError, match="exists already"):
        backup(app, small_backup, PASSPHRASE, scrypt=CHEAP)


def test_the_backup_holds_no_plain_text(app, small_backup):
    data = small_backup.read_bytes()
    assert data.startswith(b"COMUNBK1")
    assert app.config["SECRET_KEY"].encode() not in data and b"informe" not in data and b"edomex" not in data


def test_cli_check_reports_a_good_file_and_a_wrong_passphrase(app, runner, small_backup, monkeypatch):
    monkeypatch.setenv("COMUN_BACKUP_PASSPHRASE", PASSPHRASE)
    result = runner.invoke(args=["restore", "--check", str(small_backup)])
    assert result.exit_code == 0 and "matches its manifest" in result.output, result.output
    monkeypatch.setenv("COMUN_BACKUP_PASSPHRASE", "no es la frase 2026")
    result = runner.invoke(args=["restore", "--check", str(small_backup)])
    assert result.exit_code == 1 and "wrong passphrase" in result.output
