"""Files that hold secrets or personal data: created readable by their owner only.

Everything under the instance folder that holds a secret (``secret_key``, the notary's private
keys, ``demo_logins.txt``), personal data (the SQLite database, the training participants' access
sheet ``training/*.html``) or files not yet public (uploads, thumbnails) is written with mode
0600 inside folders with mode 0700, whatever the process umask. ``comun`` also sets the umask to
0077 (:func:`comun_cms.cli.main`), so files made by libraries (SQLite, Whoosh) follow the same
rule. Leaf module: imports nothing of the core.
"""
from __future__ import annotations

import os
import tempfile
from pathlib import Path

__all__ = ["PRIVATE_DIR_MODE", "PRIVATE_FILE_MODE", "PRIVATE_UMASK", "make_private", "private_dir", "write_private"]

#: Mode of a private file (owner reads and writes).
PRIVATE_FILE_MODE = 0o600
#: Mode of a private folder (owner only).
PRIVATE_DIR_MODE = 0o700
#: The umask of the ``comun`` command (files 0600, folders 0700 by default).
PRIVATE_UMASK = 0o077


def private_dir(path: str | os.PathLike) -> Path:
    """Create the folder ``path`` (and missing parents) with mode 0700 and return it.

    An existing folder is set to 0700 too (when the process owns it; otherwise it is left as it
    is). Returns the :class:`~pathlib.Path`. Raises :class:`OSError` if it cannot be created.
    """
    path = Path(path)
    missing = []
    parent = path
    while not parent.exists():
        missing.append(parent)
        parent = parent.parent
    for folder in reversed(missing):
        try:
            folder.mkdir(mode=PRIVATE_DIR_MODE)
        except FileExistsError:
            pass
    _chmod(path, PRIVATE_DIR_MODE)
    return path


def write_private(path: str | os.PathLike, data: str | bytes, *, encoding: str = "utf-8") -> Path:
    """Write ``data`` to ``path`` atomically with mode 0600 (its folder made 0700).

    The data goes to a temporary file created 0600 in the same folder, then replaces ``path``
    (``os.replace``), so a reader never sees a half-written file and the file is never readable
    by others, not even for a moment. ``str`` data is encoded with ``encoding``. Returns the path.
    """
    path = Path(path)
    private_dir(path.parent)
    payload = data.encode(encoding) if isinstance(data, str) else data
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}-")  # mkstemp creates 0600
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(payload)
        os.chmod(tmp, PRIVATE_FILE_MODE)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    return path


def make_private(path: str | os.PathLike) -> None:
    """Set an existing file to 0600 (a folder to 0700); no error if it is missing or not ours."""
    path = Path(path)
    if path.is_dir():
        _chmod(path, PRIVATE_DIR_MODE)
    elif path.exists():
        _chmod(path, PRIVATE_FILE_MODE)


def _chmod(path: Path, mode: int) -> None:
    try:
        os.chmod(path, mode)
    except PermissionError:  # a folder owned by someone else (e.g. /tmp): leave it
        pass
