"""Where uploaded files live: a small storage interface with two stores, chosen by ``UPLOAD_STORE``.

* ``"filesystem"`` (default; one host, SQLite or PostgreSQL): ``UPLOAD_DIR/<tenant>/<aa>/<sha256>``
  and ``UPLOAD_DIR/<tenant>/thumbs/<sha256>.webp`` (file mode 0600, folders 0700), served with
  ``send_file`` from the path.
* ``"database"`` (several app hosts): the bytes in the ``stored_chunks`` table, in pieces of
  :data:`CHUNK_BYTES` (1 MiB), written through the request's database session, so the file and the
  :class:`~comun_cms.models.Attachment` row that names it commit (or roll back) together and every
  host that reaches the database reaches the file. Read back through a seekable reader
  (:class:`ChunkReader`) that fetches one chunk at a time, so serving a 100 MB video never holds
  it whole in memory, and HTTP ranges work. Works on SQLite too (tests), but is meant for
  PostgreSQL (``bytea``; PostgreSQL's own large objects were not chosen: they need their own
  permissions, escape the table's transactional cleanup and are not dumped with ``--table``).

Why not an S3-compatible object store: none runs on the machines this project is built and
tested on, and the database is already shared by every host, backed up and transactional
(docs/hosts.md).

Files are content-addressed per tenant: ``(tenant, sha256, variant)`` with ``variant`` ``""`` (the
file) or ``"thumb"`` (an image's thumbnail). Putting a file that is already stored is a no-op.
"""
from __future__ import annotations

import abc

import io
import os
import shutil
import tempfile
from pathlib import Path
from typing import BinaryIO

import click
from flask import Flask, current_app
from flask.cli import with_appcontext
from sqlalchemy import delete, func, insert, select

from comun_cms.extensions import db
from comun_cms.models import Attachment, StoredChunk
from comun_cms.private_files import PRIVATE_FILE_MODE, make_private, private_dir

__all__ = ["CHUNK_BYTES", "STORES", "ChunkReader", "DatabaseStore", "FileStore", "FilesystemStore", "copy_to_store",
           "get_store", "uploads_group"]

#: bytes per row of ``stored_chunks``
CHUNK_BYTES = 1024 * 1024

#: ``UPLOAD_STORE`` values
STORES = ("filesystem", "database")


class FileStore(abc.ABC):
    """Interface of an upload store (an abstract base class: a store implements every method but
    :meth:`local_path`). ``tenant`` is a tenant slug, ``sha256`` the file's hex
    SHA-256, ``variant`` ``""`` (the file) or ``"thumb"``."""

    @abc.abstractmethod
    def scratch_dir(self, tenant: str) -> Path:
        """A private local folder where a file being received is written before :meth:`put`."""

    @abc.abstractmethod
    def put(self, tenant: str, sha256: str, variant: str, src: Path) -> None:
        """Store the local file ``src`` (which the store may move; the caller must not reuse it)."""

    @abc.abstractmethod
    def exists(self, tenant: str, sha256: str, variant: str = "") -> bool:
        """``True`` if the file is stored."""

    @abc.abstractmethod
    def open(self, tenant: str, sha256: str, variant: str = "") -> BinaryIO | None:
        """A seekable binary reader of the stored file, or ``None`` if it is not stored."""

    def local_path(self, tenant: str, sha256: str, variant: str = "") -> Path | None:
        """The file's path on this host's disk when the store keeps it there (else ``None``)."""
        return None

    @abc.abstractmethod
    def delete(self, tenant: str, sha256: str, variant: str = "") -> None:
        """Remove the stored file if present."""


class FilesystemStore(FileStore):
    """Files under ``root`` (``UPLOAD_DIR``): ``<tenant>/<aa>/<sha256>`` and ``<tenant>/thumbs/<sha256>.webp``."""

    def __init__(self, root: str | os.PathLike):
        self.root = Path(root)

    def path(self, tenant: str, sha256: str, variant: str = "") -> Path:
        """The file's path (whether or not it exists)."""
        if variant == "thumb":
            return self.root / tenant / "thumbs" / f"{sha256}.webp"
        return self.root / tenant / sha256[:2] / sha256

    def scratch_dir(self, tenant: str) -> Path:
        return private_dir(self.root / tenant)

    def put(self, tenant: str, sha256: str, variant: str, src: Path) -> None:
        final = self.path(tenant, sha256, variant)
        if Path(src) == final:
            return
        private_dir(final.parent)
        os.chmod(src, PRIVATE_FILE_MODE)
        os.replace(src, final)
        make_private(final)

    def exists(self, tenant: str, sha256: str, variant: str = "") -> bool:
        return self.path(tenant, sha256, variant).is_file()

    def open(self, tenant: str, sha256: str, variant: str = "") -> BinaryIO | None:
        try:
            return open(self.path(tenant, sha256, variant), "rb")
        except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
            return None

    def local_path(self, tenant: str, sha256: str, variant: str = "") -> Path | None:
        return self.path(tenant, sha256, variant)

    def delete(self, tenant: str, sha256: str, variant: str = "") -> None:
        path = self.path(tenant, sha256, variant)
        if path.exists():
            path.unlink()


class DatabaseStore(FileStore):
    """Files as 1 MiB rows of ``stored_chunks`` (see the module doc). Writes go through
    ``db.session`` (the caller commits); reads through their own short connections, so a response
    can stream after the request's session is gone."""

    def __init__(self, scratch: str | os.PathLike | None = None):
        self.scratch = Path(scratch) if scratch else Path(tempfile.gettempdir()) / "comun-uploads"

    def scratch_dir(self, tenant: str) -> Path:
        return private_dir(self.scratch)

    def _where(self, tenant: str, sha256: str, variant: str):
        return (StoredChunk.tenant == tenant, StoredChunk.sha256 == sha256, StoredChunk.variant == variant)

    def put(self, tenant: str, sha256: str, variant: str, src: Path) -> None:
        try:
            if self.exists(tenant, sha256, variant):
                return
            with open(src, "rb") as fh:
                seq = 0
                while True:
                    data = fh.read(CHUNK_BYTES)
                    if not data and seq:
                        break
                    db.session.execute(insert(StoredChunk).values(tenant=tenant, sha256=sha256, variant=variant,
                                                                  seq=seq, data=data))
                    seq += 1
                    if len(data) < CHUNK_BYTES:
                        break
        finally:
            Path(src).unlink(missing_ok=True)

    def exists(self, tenant: str, sha256: str, variant: str = "") -> bool:
        return db.session.scalar(select(func.count()).select_from(StoredChunk)
                                 .where(*self._where(tenant, sha256, variant), StoredChunk.seq == 0)) > 0

    def open(self, tenant: str, sha256: str, variant: str = "") -> BinaryIO | None:
        engine = db.engine
        with engine.connect() as conn:
            rows = conn.execute(select(StoredChunk.seq, func.length(StoredChunk.data))
                                .where(*self._where(tenant, sha256, variant)).order_by(StoredChunk.seq)).all()
        if not rows:
            return None
        sizes = [int(n) for _, n in rows]
        return io.BufferedReader(ChunkReader(engine, tenant, sha256, variant, sizes), buffer_size=CHUNK_BYTES)

    def delete(self, tenant: str, sha256: str, variant: str = "") -> None:
        db.session.execute(delete(StoredChunk).where(*self._where(tenant, sha256, variant)))


class ChunkReader(io.RawIOBase):
    """A seekable raw reader over the chunks of one stored file.

    Args:
        engine: the SQLAlchemy engine (each chunk is fetched on its own short connection).
        tenant, sha256, variant: the file.
        sizes: byte length of each chunk, in ``seq`` order (all but the last are :data:`CHUNK_BYTES`).
    """

    def __init__(self, engine, tenant: str, sha256: str, variant: str, sizes: list[int]):
        super().__init__()
        self._engine, self._key, self._sizes = engine, (tenant, sha256, variant), sizes
        self._length = sum(sizes)
        self._pos = 0
        self._cached: tuple[int, bytes] | None = None

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._pos, io.SEEK_END: self._length}[whence]
        self._pos = max(0, base + offset)
        return self._pos

    def _chunk(self, seq: int) -> bytes:
        if self._cached is None or self._cached[0] != seq:
            tenant, sha256, variant = self._key
            with self._engine.connect() as conn:
                data = conn.scalar(select(StoredChunk.data).where(
                    StoredChunk.tenant == tenant, StoredChunk.sha256 == sha256, StoredChunk.variant == variant,
                    StoredChunk.seq == seq))
            self._cached = (seq, bytes(data or b""))
        return self._cached[1]

    def readinto(self, buffer) -> int:
        if self._pos >= self._length:
            return 0
        seq, offset = divmod(self._pos, CHUNK_BYTES)
        data = self._chunk(seq)[offset:offset + len(buffer)]
        buffer[:len(data)] = data
        self._pos += len(data)
        return len(data)

    def fileno(self) -> int:  # send_file asks; there is none
        raise io.UnsupportedOperation("fileno")


def get_store(app: Flask | None = None) -> FileStore:
    """The application's upload store (made once per application from ``UPLOAD_STORE``,
    ``UPLOAD_DIR`` and ``UPLOAD_SCRATCH_DIR``)."""
    app = app or current_app._get_current_object()
    store = app.extensions.get("comun_filestore")
    if store is None or getattr(store, "_config", None) != (app.config["UPLOAD_STORE"], app.config["UPLOAD_DIR"]):
        if app.config["UPLOAD_STORE"] == "database":
            store = DatabaseStore(app.config.get("UPLOAD_SCRATCH_DIR"))
        else:
            store = FilesystemStore(app.config["UPLOAD_DIR"])
        store._config = (app.config["UPLOAD_STORE"], app.config["UPLOAD_DIR"])
        app.extensions["comun_filestore"] = store
    return store


def copy_to_store(store: FileStore, tenant: str, sha256: str, variant: str, src: Path) -> None:
    """Store a copy of ``src`` (kept in place), e.g. when moving a filesystem store to the database."""
    fd, tmp = tempfile.mkstemp(dir=store.scratch_dir(tenant), prefix=".copy-")
    os.close(fd)
    shutil.copyfile(src, tmp)
    store.put(tenant, sha256, variant, Path(tmp))


@click.group("uploads")
def uploads_group() -> None:
    """Uploaded files: the store they live in (``UPLOAD_STORE``)."""


@uploads_group.command("copy-to-database")
@click.option("--quiet", is_flag=True, help="Print nothing but errors.")
@with_appcontext
def copy_to_database_cmd(quiet: bool) -> None:
    """Copy every file of the filesystem store (UPLOAD_DIR) into the database store, for a site
    that moves to several app hosts; run it before setting UPLOAD_STORE=database. Files already
    in the database are skipped; the folder is left as it was. One commit per file."""
    source = FilesystemStore(current_app.config["UPLOAD_DIR"])
    target = DatabaseStore(current_app.config.get("UPLOAD_SCRATCH_DIR"))
    rows = db.session.execute(select(Attachment.tenant_id, Attachment.sha256, Attachment.kind)
                              .distinct().execution_options(all_tenants=True)).all()
    copied = missing = 0
    for tenant, sha256, kind in rows:
        for variant in ("", "thumb") if kind == "image" else ("",):
            path = source.path(tenant, sha256, variant)
            if not path.is_file():
                missing += 1
                click.echo(f"missing: {path}", err=True)
                continue
            if not target.exists(tenant, sha256, variant):
                copy_to_store(target, tenant, sha256, variant, path)
                db.session.commit()
                copied += 1
    if not quiet:
        click.echo(f"{copied} file(s) copied, {missing} missing, {len(rows)} attachment file(s) in all")
    if missing:
        raise SystemExit(1)
