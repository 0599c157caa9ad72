"""File modes under ``instance/`` (issue 19, item 10): everything holding secrets or personal
data is 0600 inside 0700 folders, after ``comun init``, ``comun demo`` and ``comun training
participants`` (real ``comun`` processes started with the usual umask 022), and for uploads and
thumbnails written by the application whatever the umask."""
from __future__ import annotations

import datetime as dt
import io
import os
import stat
import subprocess
import sys
from pathlib import Path

from PIL import Image
from werkzeug.datastructures import FileStorage

from comun_cms.extensions import db
from comun_cms.private_files import private_dir, write_private
from comun_cms.uploads import store_upload, thumbnail_path

ROOT = Path(__file__).resolve().parent.parent


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def loose(instance: Path) -> list[str]:
    """Paths under ``instance`` that anyone but the owner can read, write or enter."""
    return [f"{oct(mode(p))} {p.relative_to(instance)}" for p in [instance, *instance.rglob("*")] if mode(p) & 0o077]


def comun(instance: Path, *args: str) -> str:
    env = {k: v for k, v in os.environ.items() if not k.startswith("COMUN_")}
    env.update(COMUN_INSTANCE_PATH=str(instance), PYTHONPATH=str(ROOT))
    result = subprocess.run([sys.executable, "-c", "import os, sys; os.umask(0o022); "
                             "from comun_cms.cli import main; sys.argv[0] = 'comun'; main()", *args],
                            env=env, cwd=str(ROOT), capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def test_instance_files_are_private_after_init_demo_and_training(tmp_path):
    instance = tmp_path / "instance"
    comun(instance, "init", "--quiet")
    assert mode(instance) == 0o700
    for name in ("secret_key", "comun.db"):
        assert mode(instance / name) == 0o600, name
    assert mode(instance / "notary") == 0o700
    assert loose(instance) == []

    comun(instance, "demo", "--quiet", "--tenant", "hidalgo")
    assert mode(instance / "demo_logins.txt") == 0o600
    assert loose(instance) == []

    date = (dt.date.today() + dt.timedelta(days=7)).isoformat()
    comun(instance, "training", "participants", "1", "--date", date)
    sheet = instance / "training" / "taller-accesos.html"
    assert mode(sheet) == 0o600 and mode(sheet.parent) == 0o700
    assert loose(instance) == []


def test_uploads_and_thumbnails_are_private_whatever_the_umask(app, tenant):
    old = os.umask(0o022)
    try:
        buf = io.BytesIO()
        Image.new("RGB", (64, 40), (10, 120, 40)).save(buf, "PNG")
        att = store_upload(FileStorage(io.BytesIO(buf.getvalue()), filename="foto.png"), owner_type="page", owner_id="1")
        db.session.commit()
    finally:
        os.umask(old)
    stored = next(Path(app.config["UPLOAD_DIR"]).rglob(att.sha256 + "*"))
    thumb = thumbnail_path(tenant.slug, att.sha256)
    assert thumb.exists()
    for path in (stored, thumb):
        assert mode(path) == 0o600, path
        for folder in path.parents:
            if folder == Path(app.instance_path).parent:
                break
            assert mode(folder) == 0o700, folder


def test_private_helpers(tmp_path):
    old = os.umask(0o022)
    try:
        path = write_private(tmp_path / "a" / "b" / "secret.txt", "clave")
        assert path.read_text() == "clave" and mode(path) == 0o600
        assert mode(tmp_path / "a") == 0o700 and mode(tmp_path / "a" / "b") == 0o700
        loose_dir = tmp_path / "loose"
        loose_dir.mkdir(mode=0o755)
        assert mode(private_dir(loose_dir)) == 0o700
        write_private(path, b"otra")  # replaces, stays private
        assert path.read_bytes() == b"otra" and mode(path) == 0o600
        assert [p.name for p in path.parent.iterdir()] == ["secret.txt"]  # no temporary file left
    finally:
        os.umask(old)
