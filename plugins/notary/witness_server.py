"""``comun-witness``: a standalone C2SP tlog-witness for organizations outside the deployment.

A small program with no CMS database and no Flask app: it uses only the notary's pure ``tlog``
library (the same :class:`~plugins.notary.tlog.witness.Witness` the CMS's in-process witnesses
use), the standard library's SQLite and ``http.server``, and PyNaCl. See docs/witness.md.

Folder (``--dir``, mode 0700)::

    witness.key        the witness's Ed25519 cosignature signing key (C2SP note skey), mode 0600,
                       generated once by ``init``
    witness.vkey       its verifier key (``<name>+<hex8>+<base64(0x04 || key)>``), public
    witness.sqlite3    the logs it witnesses (origin, log verifier keys) and, per origin, the
                       last cosigned size, root hash and checkpoint

Commands::

    comun-witness init    --dir DIR --name NAME        create the key (once) and the database
    comun-witness add-log --dir DIR ORIGIN VKEY        witness a log (a second key = rotation)
    comun-witness logs    --dir DIR                    list the logs and their last cosigned size
    comun-witness key     --dir DIR                    print the verifier key
    comun-witness serve   --dir DIR [--host H] --port N [--quiet]

HTTP (C2SP tlog-witness; submission and monitoring prefix are both ``/``)::

    POST /add-checkpoint   the spec's request; 200 cosignature line, 400 malformed, 403 no
                           trusted signature, 404 unknown origin, 409 old size mismatch (body:
                           the witness's size, ``text/x.tlog.size``), 422 bad consistency proof
    GET  /key              the verifier key, one line (text/plain)
    GET  /                 the witness's name, verifier key and witnessed origins (text/plain)

Why ``http.server.ThreadingHTTPServer``: no new dependency and no framework for two routes; each
request is a fraction of a millisecond of work; keep-alive (HTTP/1.1) is supported. It does not
terminate TLS: put it behind a reverse proxy (or a C2SP https-bastion) on the Internet.

State is updated atomically: one SQLite transaction (``BEGIN IMMEDIATE``, a conditional UPDATE on
the previous size and root) per accepted checkpoint, committed (WAL, ``synchronous=FULL``) before
the cosignature is sent; requests for one origin are serialised by a per-origin lock, and the
conditional UPDATE also guards against a second process on the same folder.
"""
from __future__ import annotations

import argparse
import functools
import gettext
import http.server
import os
import queue
import sqlite3
import sys
import threading
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator, Optional, Sequence

from plugins.notary.tlog import cosignature as tcs
from plugins.notary.tlog import note as tnote
from plugins.notary.tlog import witness as twit

KEY_FILE = "witness.key"
VKEY_FILE = "witness.vkey"
DB_FILE = "witness.sqlite3"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS logs (
    origin TEXT NOT NULL,
    vkey TEXT NOT NULL,
    added_at INTEGER NOT NULL,
    PRIMARY KEY (origin, vkey)
);
CREATE TABLE IF NOT EXISTS state (
    origin TEXT PRIMARY KEY,
    size INTEGER NOT NULL,
    root_hash BLOB NOT NULL,
    checkpoint BLOB NOT NULL,
    updated_at INTEGER NOT NULL
);
"""


def _translator():
    """gettext for this program's messages from the notary plugin's catalogs (no Flask):
    Spanish (es_MX) unless ``LANGUAGE``/``LC_ALL``/``LC_MESSAGES``/``LANG`` asks for English."""
    langs = []
    for var in ("LANGUAGE", "LC_ALL", "LC_MESSAGES", "LANG"):
        val = os.environ.get(var)
        if val:
            langs = [p.split(".")[0] for p in val.split(":") if p]
            break
    if not langs or not any(lg.startswith("en") for lg in langs[:1]):
        langs = ["es_MX"]
    return gettext.translation("messages", localedir=str(Path(__file__).resolve().parent / "translations"),
                               languages=langs, fallback=True).gettext


_ = _translator()


class WitnessSetupError(Exception):
    """A command cannot run: missing or already-made folder, bad name, bad key (message is for
    the operator, in their language)."""


# --------------------------------------------------------------------------- folder and store
def _db_path(directory: Path) -> Path:
    return directory / DB_FILE


def connect(directory: Path) -> sqlite3.Connection:
    """Open the witness database of ``directory`` (WAL, full sync, 10 s busy timeout).

    Returns:
        A connection in autocommit mode (``isolation_level=None``): transactions are explicit.
    Raises:
        WitnessSetupError: the folder has not been initialised.
    """
    path = _db_path(directory)
    if not path.exists():
        raise WitnessSetupError(_("%(dir)s is not a witness folder: run 'comun-witness init' first.")
                                % {"dir": directory})
    conn = sqlite3.connect(str(path), isolation_level=None, timeout=10.0, check_same_thread=False)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=FULL")
    return conn


@functools.lru_cache(maxsize=1024)
def _verifier(vkey: str) -> tnote.Ed25519Verifier:
    """Parsed log verifier key (cached: the same few keys are read on every request)."""
    return tnote.new_verifier(vkey)


class SqliteWitnessStore:
    """The witness state in ``witness.sqlite3``: ``load``/``save`` for :class:`Witness`, the logs.

    Connections are pooled (``http.server`` starts one thread per connection). ``save`` is a
    ``BEGIN IMMEDIATE`` transaction: an INSERT when nothing was stored, otherwise an UPDATE
    conditioned on the expected size and root, committed before it returns True (saves of
    several origins that arrive together share one transaction: group commit).
    """

    def __init__(self, directory: Path):
        self.directory = Path(directory)
        connect(self.directory).close()
        self._pool: "queue.SimpleQueue[sqlite3.Connection]" = queue.SimpleQueue()
        self._locks: dict[str, threading.Lock] = {}
        self._locks_guard = threading.Lock()
        self._batch_guard = threading.Lock()
        self._pending: list[_PendingSave] = []
        self._writing = False

    @contextmanager
    def _conn(self) -> Iterator[sqlite3.Connection]:
        """A pooled connection for the duration of the block."""
        try:
            conn = self._pool.get_nowait()
        except queue.Empty:
            conn = connect(self.directory)
        try:
            yield conn
        finally:
            self._pool.put(conn)

    @contextmanager
    def lock(self, origin: str) -> Iterator[None]:
        """Serialise the requests of one origin inside this process."""
        with self._locks_guard:
            lk = self._locks.setdefault(origin, threading.Lock())
        with lk:
            yield

    def verifiers(self, origin: str) -> list[tnote.Ed25519Verifier]:
        """The log verifier keys configured for ``origin`` (empty if unknown)."""
        with self._conn() as conn:
            rows = conn.execute("SELECT vkey FROM logs WHERE origin = ? ORDER BY added_at, vkey",
                                (origin,)).fetchall()
        return [_verifier(r[0]) for r in rows]

    def origins(self) -> list[str]:
        """Every configured origin, sorted."""
        with self._conn() as conn:
            return [r[0] for r in conn.execute("SELECT DISTINCT origin FROM logs ORDER BY origin")]

    def load(self, origin: str) -> Optional[twit.LogState]:
        """The last cosigned ``(size, root, checkpoint)`` of ``origin`` or None."""
        with self._conn() as conn:
            row = conn.execute("SELECT size, root_hash, checkpoint FROM state WHERE origin = ?",
                               (origin,)).fetchone()
        return None if row is None else twit.LogState(int(row[0]), bytes(row[1]), bytes(row[2]))

    def save(self, origin: str, expected: Optional[twit.LogState], new: twit.LogState) -> bool:
        """Store ``new`` iff the stored state still equals ``expected``; committed on True.

        Group commit: saves arriving while another commit is under way (other origins; one
        origin is serialised by :meth:`lock`) are written together in the next transaction, so
        one fsync serves them all; each caller still returns only after its row is durable.

        Raises:
            sqlite3.Error: the transaction failed (nothing of the batch was stored).
        """
        item = _PendingSave(origin, expected, new)
        with self._batch_guard:
            self._pending.append(item)
            leader = not self._writing
            if leader:
                self._writing = True
        if leader:
            self._write_batches()
        item.done.wait()
        if item.error is not None:
            raise item.error
        return bool(item.result)

    def _write_batches(self) -> None:
        """Write pending saves in batches until none is left (run by the first waiting caller)."""
        while True:
            with self._batch_guard:
                batch, self._pending = self._pending, []
                if not batch:
                    self._writing = False
                    return
            try:
                with self._conn() as conn:
                    results = self._save_batch(conn, batch)
                for it, ok in zip(batch, results):
                    it.result = ok
            except Exception as exc:
                for it in batch:
                    it.error = exc
            for it in batch:
                it.done.set()

    @staticmethod
    def _save_batch(conn: sqlite3.Connection, batch: list["_PendingSave"]) -> list[bool]:
        """One ``BEGIN IMMEDIATE`` transaction: per item an INSERT (nothing stored yet) or an
        UPDATE conditioned on the expected size and root; ``[stored?]`` per item."""
        now = int(time.time())
        results = []
        conn.execute("BEGIN IMMEDIATE")
        try:
            for it in batch:
                new = it.new
                if it.expected is None:
                    cur = conn.execute("INSERT OR IGNORE INTO state (origin, size, root_hash, checkpoint, updated_at) "
                                       "VALUES (?, ?, ?, ?, ?)",
                                       (it.origin, new.size, new.root_hash, new.checkpoint, now))
                else:
                    cur = conn.execute("UPDATE state SET size = ?, root_hash = ?, checkpoint = ?, updated_at = ? "
                                       "WHERE origin = ? AND size = ? AND root_hash = ?",
                                       (new.size, new.root_hash, new.checkpoint, now, it.origin,
                                        it.expected.size, it.expected.root_hash))
                results.append(cur.rowcount == 1)
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        return results


class _PendingSave:
    """One save waiting for the group commit of :class:`SqliteWitnessStore`."""

    __slots__ = ("origin", "expected", "new", "done", "result", "error")

    def __init__(self, origin: str, expected: Optional[twit.LogState], new: twit.LogState):
        self.origin, self.expected, self.new = origin, expected, new
        self.done = threading.Event()
        self.result: Optional[bool] = None
        self.error: Optional[BaseException] = None


def read_signer(directory: Path) -> tcs.CosignatureSigner:
    """The witness's cosignature signer from ``witness.key``.

    Raises:
        WitnessSetupError: no key, or the key file is readable by others than its owner.
    """
    path = Path(directory) / KEY_FILE
    if not path.exists():
        raise WitnessSetupError(_("%(dir)s is not a witness folder: run 'comun-witness init' first.")
                                % {"dir": directory})
    if path.stat().st_mode & 0o077:
        raise WitnessSetupError(_("%(path)s must be readable by its owner only (chmod 600).") % {"path": path})
    return tcs.new_cosignature_signer(path.read_text(encoding="ascii").strip())


def init_folder(directory: Path, name: str) -> str:
    """Create the witness folder (0700), its key (once, 0600) and database; idempotent.

    Args:
        directory: the folder (created if missing).
        name: the witness name (a signed-note key name, e.g. ``observatorio.example/testigo``).
    Returns:
        The verifier key.
    Raises:
        WitnessSetupError: invalid name, or the folder already holds a key of another name.
    """
    directory = Path(directory)
    if not tnote.is_valid_name(name):
        raise WitnessSetupError(_("Invalid witness name %(name)r: use printable characters without spaces "
                                  "or '+', e.g. observatorio.example/testigo.") % {"name": name})
    directory.mkdir(parents=True, exist_ok=True)
    os.chmod(directory, 0o700)
    key_path = directory / KEY_FILE
    if key_path.exists():
        signer = read_signer(directory)
        if signer.name != name:
            raise WitnessSetupError(_("%(dir)s already holds the key of witness %(old)s; its key is never "
                                      "replaced.") % {"dir": directory, "old": signer.name})
    else:
        skey, _vkey = tcs.generate_cosignature_key(name)
        fd = os.open(key_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="ascii") as f:
            f.write(skey + "\n")
        signer = read_signer(directory)
    vkey = signer.vkey
    (directory / VKEY_FILE).write_text(vkey + "\n", encoding="ascii")
    conn = sqlite3.connect(str(_db_path(directory)), isolation_level=None)
    try:
        conn.execute("PRAGMA journal_mode=WAL")
        conn.executescript(_SCHEMA)
    finally:
        conn.close()
    os.chmod(_db_path(directory), 0o600)
    return vkey


def add_log(directory: Path, origin: str, vkey: str) -> None:
    """Witness the log ``origin`` signed by ``vkey`` (another key for a known origin is added
    alongside, for key rotation).

    Raises:
        WitnessSetupError: empty origin or an invalid Ed25519 note verifier key.
    """
    if not origin or "\n" in origin or origin != origin.strip():
        raise WitnessSetupError(_("Invalid origin %(origin)r: one line without surrounding spaces.")
                                % {"origin": origin})
    try:
        tnote.new_verifier(vkey)
    except ValueError as exc:
        raise WitnessSetupError(_("Invalid log verifier key: %(error)s") % {"error": exc}) from None
    conn = connect(Path(directory))
    try:
        conn.execute("INSERT OR IGNORE INTO logs (origin, vkey, added_at) VALUES (?, ?, ?)",
                     (origin, vkey, int(time.time())))
    finally:
        conn.close()


# --------------------------------------------------------------------------- HTTP
class WitnessService:
    """The HTTP-independent service: a :class:`Witness` over a :class:`SqliteWitnessStore`.

    Log keys are read from the database on every request, so ``add-log`` takes effect without a
    restart.
    """

    def __init__(self, directory: Path):
        self.directory = Path(directory)
        self.signer = read_signer(self.directory)
        self.store = SqliteWitnessStore(self.directory)

    def add_checkpoint(self, body: bytes) -> twit.WitnessResponse:
        """Handle one add-checkpoint body (see :meth:`Witness.add_checkpoint`)."""
        origin = _origin_of(body)
        logs = {origin: self.store.verifiers(origin)} if origin else {}
        w = twit.Witness(logs, self.signer, self.store.load, self.store.save, lock=self.store.lock)
        return w.add_checkpoint(body)

    def index_text(self) -> str:
        """``GET /``: name, verifier key, witnessed origins."""
        lines = [f"comun-witness {self.signer.name}", f"vkey {self.signer.vkey}"]
        lines += [f"log {o}" for o in self.store.origins()]
        return "\n".join(lines) + "\n"


def _origin_of(body: bytes) -> str:
    """The first line of the checkpoint in an add-checkpoint body ('' if it cannot be found:
    the Witness then answers 400 for the malformed body)."""
    try:
        req = twit.parse_add_checkpoint_request(body)
        return tnote.parse_note(req.checkpoint).text.split("\n", 1)[0]
    except ValueError:
        return ""


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body are two writes: no 40 ms delayed-ACK stall
    server_version = "comun-witness"
    service: WitnessService
    quiet = False

    def _send(self, status: int, content_type: str, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:  # noqa: N802 (http.server naming)
        path = self.path.split("?", 1)[0]
        if path == "/key":
            self._send(200, "text/plain; charset=utf-8", (self.service.signer.vkey + "\n").encode())
        elif path == "/":
            self._send(200, "text/plain; charset=utf-8", self.service.index_text().encode("utf-8"))
        else:
            self._send(404, "text/plain; charset=utf-8", b"not found\n")

    def do_POST(self) -> None:  # noqa: N802
        if self.path.split("?", 1)[0] != "/add-checkpoint":
            self._send(404, "text/plain; charset=utf-8", b"not found\n")
            return
        length = self.headers.get("Content-Length")
        if length is None or not length.isdigit():
            self.close_connection = True
            self._send(400 if length is not None else 411, "text/plain; charset=utf-8",
                       b"malformed request: Content-Length required\n")
            return
        if int(length) > twit.MAX_REQUEST_BYTES:
            self.close_connection = True
            self._send(400, "text/plain; charset=utf-8", b"malformed request: body too large\n")
            return
        body = self.rfile.read(int(length))
        try:
            resp = self.service.add_checkpoint(body)
        except Exception as exc:  # storage failure: never cosign, tell the client to retry
            self.log_error("add-checkpoint failed: %s", exc)
            self._send(503, "text/plain; charset=utf-8", b"witness unavailable\n")
            return
        self._send(resp.status, resp.content_type, resp.body)

    def log_message(self, format: str, *args) -> None:  # noqa: A002
        if not self.quiet:
            super().log_message(format, *args)


def make_server(directory: Path, host: str, port: int, quiet: bool = False) -> http.server.ThreadingHTTPServer:
    """A ready (bound, not yet serving) HTTP server for the witness of ``directory``.

    Raises:
        WitnessSetupError: the folder is not initialised or its key is not private.
        OSError: the address cannot be bound.
    """
    service = WitnessService(directory)
    handler = type("Handler", (_Handler,), {"service": service, "quiet": quiet})
    server = _Server((host, port), handler)
    return server


class _Server(http.server.ThreadingHTTPServer):
    """``ThreadingHTTPServer`` with a listen backlog for many logs connecting at once (the
    default of 5 resets connections under a burst)."""

    request_queue_size = 128
    daemon_threads = True


# --------------------------------------------------------------------------- CLI
def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="comun-witness",
                                description=_("Standalone C2SP tlog-witness: cosigns the checkpoints of "
                                              "the logs it is given, only when they extend what it "
                                              "cosigned before."))
    sub = p.add_subparsers(dest="command", required=True)
    d_help = _("witness folder (key and state)")
    s = sub.add_parser("init", help=_("create the witness key (once) and its database"))
    s.add_argument("--dir", required=True, type=Path, help=d_help)
    s.add_argument("--name", required=True, help=_("witness name, e.g. observatorio.example/testigo"))
    s = sub.add_parser("add-log", help=_("witness a log: its origin and its verifier key"))
    s.add_argument("--dir", required=True, type=Path, help=d_help)
    s.add_argument("origin", help=_("the log's origin (first line of its checkpoints)"))
    s.add_argument("vkey", help=_("the log's Ed25519 verifier key (signed-note vkey)"))
    s = sub.add_parser("logs", help=_("list the witnessed logs and the last cosigned size"))
    s.add_argument("--dir", required=True, type=Path, help=d_help)
    s = sub.add_parser("key", help=_("print the witness's verifier key"))
    s.add_argument("--dir", required=True, type=Path, help=d_help)
    s = sub.add_parser("serve", help=_("serve add-checkpoint over HTTP"))
    s.add_argument("--dir", required=True, type=Path, help=d_help)
    s.add_argument("--host", default="127.0.0.1", help=_("address to listen on"))
    s.add_argument("--port", required=True, type=int, help=_("TCP port (0 = any free port)"))
    s.add_argument("--quiet", action="store_true", help=_("do not log each request"))
    return p


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Entry point of the ``comun-witness`` console script.

    Returns:
        0 on success, 1 when a command cannot run (message on stderr), 2 for bad usage (argparse).
    """
    args = _parser().parse_args(argv)
    try:
        if args.command == "init":
            vkey = init_folder(args.dir, args.name)
            print(vkey)
        elif args.command == "add-log":
            add_log(args.dir, args.origin, args.vkey)
            print(_("Witnessing %(origin)s.") % {"origin": args.origin})
        elif args.command == "key":
            print(read_signer(args.dir).vkey)
        elif args.command == "logs":
            store = SqliteWitnessStore(args.dir)
            for origin in store.origins():
                st = store.load(origin)
                print(f"{origin}\t{st.size if st else 0}")
        elif args.command == "serve":
            server = make_server(args.dir, args.host, args.port, quiet=args.quiet)
            host, port = server.server_address[:2]
            print(_("Witness listening on http://%(host)s:%(port)d/ (add-checkpoint).")
                  % {"host": host, "port": port}, flush=True)
            try:
                server.serve_forever()
            except KeyboardInterrupt:
                pass
            finally:
                server.server_close()
    except (WitnessSetupError, OSError, ValueError) as exc:
        print(f"comun-witness: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
