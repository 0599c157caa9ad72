"""``comun backup`` and ``comun restore``: the whole site in one encrypted file.

**What is in a backup.** Every row of every table the models describe (core and installed
plugins), as JSON lines, one file per table (``db/<table>.jsonl``), read in one consistent
snapshot (PostgreSQL: one ``REPEATABLE READ`` read-only transaction; SQLite: a copy made with
SQLite's online backup API first); the uploads (``UPLOAD_DIR``), the notary's keys
(``<instance>/notary`` or ``NOTARY_KEYS_DIR``) and the secret key. The search index is left out:
it is rebuilt from the database by the restore. A ``manifest.json`` lists every file with its
size and SHA-256 and records the database's migration heads and row counts. The dump is
portable: a SQLite backup restores into PostgreSQL and back.

**File format** (version 1). A gzip-compressed tar stream, encrypted in chunks::

    header   "COMUNBK1" | log2(N) (1 byte) | r (1) | p (1) | salt (16) | nonce prefix (7) | check (32)
    chunks   length (4 bytes, big-endian) | AES-256-GCM ciphertext of up to 1 MiB of the tar stream

The 64 bytes derived from the passphrase with scrypt (RFC 7914; N = 2**17, r = 8, p = 1 by
default, recorded in the header) are the AES key (first 32) and an HMAC-SHA256 key (last 32);
``check`` is the HMAC of the header before it, so a wrong passphrase is told apart from a changed
file. Each chunk's nonce is the prefix, the chunk's number (4 bytes) and 1 for the last chunk
else 0, and its associated data the header: the STREAM construction (Hoang, Reyhanitabar,
Rogaway and Vizár, "Online Authenticated-Encryption and its Nonce-Reuse Misuse-Resistance",
CRYPTO 2015), as in age. A changed, removed, reordered or appended byte fails authentication,
and so does a file cut short. Encryption through ``cryptography`` (OpenSSL).

**Restore** (:func:`restore`) goes into an *empty* instance: a database with no table and no
uploads, notary keys or different secret key in the instance folder. It decrypts and unpacks the
file into a folder inside the instance, checks every file against the manifest, migrates the
empty database to the backup's migration heads (the code must be at the same heads), inserts
every row in one transaction, then puts the files in place, starts every tenant's page-cache
generation anew and rebuilds the search index.
"""
from __future__ import annotations

import base64
import datetime as dt
import decimal
import hashlib
import hmac
import io
import json
import os
import secrets
import shutil
import sqlite3
import struct
import tarfile
import tempfile
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Callable, Iterator

from alembic.migration import MigrationContext
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt
from flask import Flask
from sqlalchemy import (
    MetaData, Table, TypeDecorator, bindparam, create_engine, delete, func, insert, inspect, select, update,
)
from sqlalchemy.engine import Connection

from comun_cms.extensions import db
from comun_cms.private_files import private_dir

__all__ = ["BackupError", "BackupReport", "FORMAT_VERSION", "MAGIC", "MIN_PASSPHRASE", "backup", "read_backup",
           "restore"]

MAGIC = b"COMUNBK1"
FORMAT_VERSION = 1
#: Shortest passphrase accepted for a new backup, in characters.
MIN_PASSPHRASE = 12
CHUNK = 1024 * 1024
_SCRYPT = (17, 8, 1)  # log2(N), r, p: 128 MiB of memory per derivation
_HEADER = struct.Struct(">8sBBB16s7s32s")
_EXCLUDED_TABLES = {"alembic_version", "search_documents", "search_words"}  # search: rebuilt on restore


class BackupError(Exception):
    """A backup or restore that cannot go on; ``str(error)`` says why and what to do."""


@dataclass
class BackupReport:
    """What :func:`backup` wrote or :func:`restore` restored: ``tables`` (name -> rows),
    ``files`` (count of uploads, keys...), ``bytes`` (size of the backup file), ``documents``
    (search documents rebuilt by a restore)."""

    tables: dict[str, int] = field(default_factory=dict)
    files: int = 0
    bytes: int = 0
    documents: int = 0


# --------------------------------------------------------------------------- encryption
def _derive(passphrase: str, salt: bytes, log_n: int, r: int, p: int) -> tuple[bytes, bytes]:
    material = Scrypt(salt=salt, length=64, n=2 ** log_n, r=r, p=p).derive(passphrase.encode("utf-8"))
    return material[:32], material[32:]


def _nonce(prefix: bytes, counter: int, last: bool) -> bytes:
    return prefix + struct.pack(">I", counter) + (b"\x01" if last else b"\x00")


class _EncryptingWriter(io.RawIOBase):
    """A write-only file object encrypting what it is given into ``out`` (see the module
    docstring); :meth:`finish` writes the last chunk."""

    def __init__(self, out: IO[bytes], passphrase: str, scrypt: tuple[int, int, int] = _SCRYPT):
        log_n, r, p = scrypt
        salt, self.prefix = secrets.token_bytes(16), secrets.token_bytes(7)
        key, mac_key = _derive(passphrase, salt, log_n, r, p)
        head = _HEADER.pack(MAGIC, log_n, r, p, salt, self.prefix, b"\0" * 32)[:-32]
        self.header = head + hmac.new(mac_key, head, hashlib.sha256).digest()
        self.aead, self.out, self.buffer, self.counter = AESGCM(key), out, bytearray(), 0
        out.write(self.header)

    def writable(self) -> bool:
        return True

    def write(self, data) -> int:
        self.buffer += data
        while len(self.buffer) > CHUNK:  # keep at least one byte back for the last chunk
            self._emit(bytes(self.buffer[:CHUNK]), last=False)
            del self.buffer[:CHUNK]
        return len(data)

    def _emit(self, plain: bytes, last: bool) -> None:
        sealed = self.aead.encrypt(_nonce(self.prefix, self.counter, last), plain, self.header)
        self.out.write(struct.pack(">I", len(sealed)) + sealed)
        self.counter += 1

    def finish(self) -> None:
        self._emit(bytes(self.buffer), last=True)
        self.buffer.clear()


class _DecryptingReader(io.RawIOBase):
    """A read-only file object decrypting a backup file; raises :class:`BackupError` for a wrong
    passphrase, a changed byte or a file cut short."""

    def __init__(self, source: IO[bytes], passphrase: str):
        header = source.read(_HEADER.size)
        if len(header) < _HEADER.size or not header.startswith(MAGIC):
            raise BackupError("this file is not a Común backup (its first bytes are not COMUNBK1)")
        _magic, log_n, r, p, salt, self.prefix, check = _HEADER.unpack(header)
        if not (10 <= log_n <= 22 and 1 <= r <= 32 and 1 <= p <= 16):
            raise BackupError("the backup's header is damaged (impossible scrypt parameters)")
        key, mac_key = _derive(passphrase, salt, log_n, r, p)
        if not hmac.compare_digest(hmac.new(mac_key, header[:-32], hashlib.sha256).digest(), check):
            raise BackupError("wrong passphrase: the backup cannot be opened with it (or its header is damaged)")
        self.header, self.aead, self.source = header, AESGCM(key), source
        self.counter, self.pending, self.done = 0, b"", False

    def readable(self) -> bool:
        return True

    def _next_chunk(self) -> None:
        size = self.source.read(4)
        if len(size) < 4:
            raise BackupError("the backup file is cut short: its last part is missing")
        (length,) = struct.unpack(">I", size)
        sealed = self.source.read(length)
        if len(sealed) < length or length > CHUNK + 16:
            raise BackupError("the backup file is cut short or damaged: a part is incomplete")
        for last in (False, True):
            try:
                plain = self.aead.decrypt(_nonce(self.prefix, self.counter, last), sealed, self.header)
            except InvalidTag:
                continue
            self.counter += 1
            self.pending, self.done = plain, last
            if last and self.source.read(1):
                raise BackupError("the backup file was changed: bytes were added after its end")
            return
        raise BackupError(f"the backup file was changed or damaged: part {self.counter + 1} does not match its "
                          "authentication tag; nothing was restored")

    def readinto(self, buffer) -> int:
        while not self.pending and not self.done:
            self._next_chunk()
        n = min(len(buffer), len(self.pending))
        buffer[:n] = self.pending[:n]
        self.pending = self.pending[n:]
        return n


# --------------------------------------------------------------------------- rows as JSON
def _encode(value: Any) -> Any:
    if isinstance(value, (dt.datetime, dt.date, dt.time)):
        return value.isoformat()
    if isinstance(value, (bytes, bytearray, memoryview)):
        return base64.b64encode(bytes(value)).decode("ascii")
    if isinstance(value, decimal.Decimal):
        return str(value)
    if isinstance(value, uuid.UUID):
        return str(value)
    return value


def _decoder(column) -> Callable[[Any], Any]:
    col_type = column.type
    while isinstance(col_type, TypeDecorator):
        col_type = col_type.impl_instance
    try:
        kind = col_type.python_type
    except NotImplementedError:
        return lambda v: v
    if kind is dt.datetime:
        return lambda v: None if v is None else dt.datetime.fromisoformat(v)
    if kind is dt.date:
        return lambda v: None if v is None else dt.date.fromisoformat(v)
    if kind is dt.time:
        return lambda v: None if v is None else dt.time.fromisoformat(v)
    if kind is bytes:
        return lambda v: None if v is None else base64.b64decode(v)
    if kind is decimal.Decimal:
        return lambda v: None if v is None else decimal.Decimal(v)
    if kind is uuid.UUID:
        return lambda v: None if v is None else uuid.UUID(v)
    return lambda v: v


def _tables() -> list[Table]:
    return [t for t in db.metadata.sorted_tables if t.name not in _EXCLUDED_TABLES]


# --------------------------------------------------------------------------- places
def _notary_dir(app: Flask) -> Path:
    return Path(app.config.get("NOTARY_KEYS_DIR") or Path(app.instance_path) / "notary")


def _places(app: Flask) -> dict[str, Path]:
    """Archive folder -> folder of the instance it comes from and goes back to."""
    return {"files/uploads": Path(app.config["UPLOAD_DIR"]), "files/notary": _notary_dir(app)}


def _files_under(folder: Path) -> Iterator[Path]:
    if folder.is_dir():
        for path in sorted(folder.rglob("*")):
            if path.is_file() and not path.is_symlink():
                yield path


class _HashingReader:
    def __init__(self, fh: IO[bytes]):
        self.fh, self.sha = fh, hashlib.sha256()

    def read(self, n: int = -1) -> bytes:
        data = self.fh.read(n)
        self.sha.update(data)
        return data


# --------------------------------------------------------------------------- backup
def _database_heads(conn: Connection) -> list[str]:
    return sorted(MigrationContext.configure(conn).get_current_heads())


def _check_known_tables(conn: Connection) -> None:
    known = {t.name for t in db.metadata.sorted_tables} | _EXCLUDED_TABLES
    present = set(inspect(conn).get_table_names())
    missing = sorted({t.name for t in _tables()} - present)
    if missing:
        raise BackupError(f"the database lacks tables of this version ({', '.join(missing[:5])}): run `comun init` "
                          "to bring its schema up to date first")
    unknown = sorted(present - known)
    if unknown:
        raise BackupError(f"the database has tables no installed model describes ({', '.join(unknown)}); the backup "
                          "would miss them: install the plugins that own them and try again")


def _dump_tables(conn: Connection, folder: Path, report: BackupReport) -> None:
    for table in _tables():
        path = folder / f"{table.name}.jsonl"
        rows = 0
        with path.open("w", encoding="utf-8") as out:
            order = list(table.primary_key.columns) or list(table.columns)
            for row in conn.execute(select(table).order_by(*order)).mappings():
                out.write(json.dumps({k: _encode(v) for k, v in row.items()}, ensure_ascii=False) + "\n")
                rows += 1
        report.tables[table.name] = rows


def backup(app: Flask, output: Path, passphrase: str, *, log: Callable[[str], None] = lambda m: None,
           scrypt: tuple[int, int, int] = _SCRYPT) -> BackupReport:
    """Write an encrypted backup of the site to ``output`` (mode 0600; see the module docstring).

    Args:
        app: the application (its database, ``UPLOAD_DIR``, notary keys and secret key).
        output: the file to write; it must not exist (written aside, then renamed).
        passphrase: at least :data:`MIN_PASSPHRASE` characters.
        log: called with a line of progress now and then.
        scrypt: ``(log2 N, r, p)`` of the key derivation (tests use cheaper ones).

    Returns:
        a :class:`BackupReport`.

    Raises:
        BackupError: a short passphrase, an existing ``output``, a table no model describes.
    """
    if len(passphrase) < MIN_PASSPHRASE:
        raise BackupError(f"the passphrase is too short: use at least {MIN_PASSPHRASE} characters")
    output = Path(output)
    if output.exists():
        raise BackupError(f"{output} exists already: choose a new file name")
    report = BackupReport()
    private_dir(app.instance_path)
    staging = Path(tempfile.mkdtemp(dir=app.instance_path, prefix=".backup-"))
    tmp_out = output.with_name(f".{output.name}.part")
    try:
        manifest: dict[str, Any] = {"format": "comun-backup", "version": FORMAT_VERSION,
                                    "created_at": dt.datetime.now(dt.timezone.utc).isoformat(), "files": {}}
        (staging / "db").mkdir()
        with _snapshot_connection(app, staging) as conn:
            _check_known_tables(conn)
            manifest["database"] = {"dialect": db.engine.dialect.name, "heads": _database_heads(conn)}
            log("Database: reading every table in one snapshot…")
            _dump_tables(conn, staging / "db", report)
        manifest["database"]["tables"] = report.tables
        fd = os.open(tmp_out, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as raw:
            writer = _EncryptingWriter(raw, passphrase, scrypt)
            with tarfile.open(fileobj=writer, mode="w|gz") as tar:
                def add(name: str, path: Path) -> None:
                    with path.open("rb") as fh:
                        info = tar.gettarinfo(fileobj=fh, arcname=name)
                        info.uid = info.gid = 0
                        info.uname = info.gname = ""
                        hashing = _HashingReader(fh)
                        tar.addfile(info, hashing)
                    manifest["files"][name] = {"size": info.size, "sha256": hashing.sha.hexdigest()}
                for path in sorted((staging / "db").iterdir()):
                    add(f"db/{path.name}", path)
                for prefix, folder in _places(app).items():
                    for path in _files_under(folder):
                        add(f"{prefix}/{path.relative_to(folder).as_posix()}", path)
                        report.files += 1
                    log(f"Files: {prefix.split('/')[1]} added.")
                key = app.config.get("SECRET_KEY")
                if key:
                    key_path = staging / "secret_key"
                    key_path.write_text(key if isinstance(key, str) else key.decode("utf-8"), encoding="utf-8")
                    add("keys/secret_key", key_path)
                    report.files += 1
                data = json.dumps(manifest, indent=1, sort_keys=True).encode("utf-8")
                info = tarfile.TarInfo("manifest.json")
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))
            writer.finish()
            raw.flush()
            os.fsync(raw.fileno())
        os.replace(tmp_out, output)
        report.bytes = output.stat().st_size
        return report
    finally:
        shutil.rmtree(staging, ignore_errors=True)
        if tmp_out.exists():
            tmp_out.unlink()


class _snapshot_connection:
    """A connection that sees one consistent state of the database for the whole dump."""

    def __init__(self, app: Flask, staging: Path):
        self.app, self.staging, self.engine, self.conn = app, staging, None, None

    def __enter__(self) -> Connection:
        url = db.engine.url
        if url.get_backend_name() == "sqlite" and url.database and url.database != ":memory:":
            copy = self.staging / "snapshot.db"
            source = sqlite3.connect(url.database)
            target = sqlite3.connect(copy)
            try:
                source.backup(target)  # SQLite's online backup API: a consistent copy
            finally:
                target.close()
                source.close()
            self.engine = create_engine(f"sqlite:///{copy}")
            self.conn = self.engine.connect()
        else:
            self.conn = db.engine.connect().execution_options(isolation_level="REPEATABLE READ",
                                                              postgresql_readonly=True)
            self.conn.begin()
        return self.conn

    def __exit__(self, *exc) -> None:
        self.conn.close()
        if self.engine is not None:
            self.engine.dispose()
            (self.staging / "snapshot.db").unlink(missing_ok=True)


# --------------------------------------------------------------------------- restore
def read_backup(source: Path, passphrase: str, into: Path) -> dict[str, Any]:
    """Decrypt and unpack the backup ``source`` into the folder ``into`` and check every file
    against the manifest. Returns the manifest.

    Raises:
        BackupError: not a backup, wrong passphrase, a changed byte (the encryption's tag or a
            file's SHA-256), a file missing from or added to the manifest, an unsafe member name.
    """
    try:
        fh = Path(source).open("rb")
    except OSError as exc:
        raise BackupError(f"cannot read {source}: {exc.strerror}") from None
    with fh:
        reader = io.BufferedReader(_DecryptingReader(fh, passphrase), CHUNK)
        try:
            with tarfile.open(fileobj=reader, mode="r|gz") as tar:
                for member in tar:
                    if not member.isfile():
                        raise BackupError(f"the backup holds '{member.name}', which is not a file")
                    tar.extract(member, into, filter="data")
        except (tarfile.TarError, OSError, EOFError) as exc:
            raise BackupError(f"the backup's contents are damaged ({exc})") from None
    try:
        manifest = json.loads((into / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        raise BackupError("the backup has no readable manifest.json") from None
    if manifest.get("format") != "comun-backup" or manifest.get("version") != FORMAT_VERSION:
        raise BackupError(f"unknown backup format {manifest.get('format')!r} version {manifest.get('version')!r}")
    listed = manifest.get("files") or {}
    present = {p.relative_to(into).as_posix() for p in into.rglob("*") if p.is_file()} - {"manifest.json"}
    if present != set(listed):
        odd = sorted(present.symmetric_difference(listed))
        raise BackupError(f"the backup does not match its manifest: {', '.join(odd[:5])}")
    for name, meta in sorted(listed.items()):
        digest = hashlib.sha256((into / name).read_bytes()).hexdigest()
        if digest != meta.get("sha256") or (into / name).stat().st_size != meta.get("size"):
            raise BackupError(f"the backup was changed: {name} does not match its SHA-256 in the manifest")
    return manifest


def _check_empty_instance(app: Flask, key_in_backup: str | None) -> None:
    with db.engine.connect() as conn:
        tables = inspect(conn).get_table_names()
    if tables:
        raise BackupError(f"the database is not empty ({len(tables)} tables, e.g. {sorted(tables)[0]}): restore into "
                          "an empty database (a new one, or drop every table of this one first)")
    for prefix, folder in _places(app).items():
        if any(_files_under(folder)):
            raise BackupError(f"{folder} is not empty: restore into an empty instance ({prefix.split('/')[1]} would "
                              "be mixed)")
    configured = app.config.get("SECRET_KEY")
    if configured and key_in_backup is not None and configured != key_in_backup:
        raise BackupError("this instance already has a different secret key (instance/secret_key, COMUN_SECRET_KEY "
                          "or COMUN_SECRET_KEY_FILE): remove it, or restore into a new instance folder")


def _load_rows(conn: Connection, folder: Path, manifest: dict, log: Callable[[str], None]) -> dict[str, int]:
    counts: dict[str, int] = {}
    tables = _tables()
    for table in reversed(tables):  # rows a data migration may have written
        conn.execute(delete(table))
    for table in tables:
        path = folder / f"{table.name}.jsonl"
        if not path.exists():
            if manifest["database"]["tables"].get(table.name):
                raise BackupError(f"the backup lacks the rows of table {table.name}")
            counts[table.name] = 0
            continue
        decoders = {c.name: _decoder(c) for c in table.columns}
        # a column referring to the same table (a session approved in a later session) is set
        # after every row of the table is in
        self_refs = sorted({fk.parent.name for fk in table.foreign_keys if fk.column.table is table})
        later: list[dict] = []
        pk = [c.name for c in table.primary_key.columns]
        batch: list[dict] = []
        n = 0
        with path.open(encoding="utf-8") as fh:
            for line in fh:
                row = json.loads(line)
                unknown = set(row) - set(decoders)
                if unknown:
                    raise BackupError(f"table {table.name}: columns {', '.join(sorted(unknown))} are not in this "
                                      "version's schema")
                values = {k: decoders[k](v) for k, v in row.items()}
                if self_refs and any(values.get(c) is not None for c in self_refs):
                    later.append({**{f"pk_{c}": values[c] for c in pk}, **{f"v_{c}": values[c] for c in self_refs}})
                    values.update({c: None for c in self_refs})
                batch.append(values)
                if len(batch) >= 1000:
                    conn.execute(insert(table), batch)
                    n += len(batch)
                    batch.clear()
        if batch:
            conn.execute(insert(table), batch)
            n += len(batch)
        if later:
            stmt = (update(table).where(*(table.c[c] == bindparam(f"pk_{c}") for c in pk))
                    .values({c: bindparam(f"v_{c}") for c in self_refs}))
            conn.execute(stmt, later)
        counts[table.name] = n
    if conn.dialect.name == "postgresql":  # sequences continue after the restored ids
        for table in tables:
            for column in table.primary_key.columns:
                if column.autoincrement is True or (column.autoincrement == "auto" and
                                                   column.type.python_type is int and len(table.primary_key.columns) == 1):
                    nxt = select(func.coalesce(func.max(column), 0) + 1).scalar_subquery()
                    conn.execute(select(func.setval(func.pg_get_serial_sequence(table.name, column.name), nxt, False)))
    log(f"Database: {sum(counts.values())} rows in {len(counts)} tables.")
    return counts


def restore(app: Flask, source: Path, passphrase: str, *, log: Callable[[str], None] = lambda m: None,
            reindex: bool = True) -> BackupReport:
    """Restore the backup ``source`` into the empty instance of ``app`` (see the module docstring).

    Args:
        app: the application whose (empty) database and instance folder receive the backup.
        source: the backup file.
        passphrase: the backup's passphrase.
        log: called with a line of progress now and then.
        reindex: rebuild the search index at the end (default ``True``).

    Returns:
        a :class:`BackupReport` (tables restored, files put in place, documents indexed).

    Raises:
        BackupError: everything :func:`read_backup` refuses, an instance that is not empty, a
            backup taken at other migration heads than the code's. The database is left as it
            was (one transaction) and no file is put in place.
    """
    from comun_cms.health import expected_heads
    from comun_cms.pagecache import bump_generation
    from comun_cms.search.service import get_search
    from comun_cms.setup import upgrade_database

    private_dir(app.instance_path)
    staging = Path(tempfile.mkdtemp(dir=app.instance_path, prefix=".restore-"))
    report = BackupReport()
    try:
        log("Checking the backup…")
        manifest = read_backup(Path(source), passphrase, staging)
        key_file = staging / "keys" / "secret_key"
        key = key_file.read_text(encoding="utf-8") if key_file.exists() else None
        _check_empty_instance(app, key)
        heads = set(manifest["database"]["heads"])
        if heads != expected_heads(app):
            raise BackupError(f"the backup was taken at migration heads {', '.join(sorted(heads))}; this code is at "
                              f"{', '.join(sorted(expected_heads(app)))}: restore with the code of the backup, then "
                              "upgrade with `comun init`")
        log("Database: creating the schema…")
        upgrade_database(app)
        db.session.remove()
        try:
            with db.engine.begin() as conn:
                report.tables = _load_rows(conn, staging / "db", manifest, log)
        except Exception as exc:
            _drop_everything()
            if isinstance(exc, BackupError):
                raise
            raise BackupError(f"the rows could not be inserted ({type(exc).__name__}: {str(exc)[:500]}); the database "
                              "was left empty, as it was") from exc
        for prefix, folder in _places(app).items():
            staged = staging / prefix
            for path in _files_under(staged):
                target = folder / path.relative_to(staged)
                private_dir(target.parent)
                os.replace(path, target)
                report.files += 1
        if key is not None:
            if not app.config.get("SECRET_KEY"):
                target = Path(app.instance_path) / "secret_key"
                fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
                with os.fdopen(fd, "w") as fh:
                    fh.write(key + "\n")
                app.config["SECRET_KEY"] = key
            report.files += 1
        for row in _tenant_rows(staging):
            bump_generation(row["slug"])  # pages cached (Redis) for the old database are never served
        db.session.commit()
        if reindex:
            log("Search: rebuilding the index…")
            report.documents = get_search().reindex()
        return report
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _drop_everything() -> None:
    """Drop every table of the database (the schema a failed restore created in it)."""
    db.session.remove()
    with db.engine.begin() as conn:
        meta = MetaData()
        meta.reflect(conn)
        meta.drop_all(conn)


def _tenant_rows(staging: Path) -> list[dict]:
    path = staging / "db" / "tenants.jsonl"
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
