"""The Whoosh index on disk: open/create, write lock, serialized writes, rebuild and swap, canary.

Concern: the lifecycle of the index directories -- which index is live,
opening searchers on it, making every write go through one locked path,
building a new index aside and swapping it in, and checking that the live
index answers.  What is inside an index is :mod:`comun_cms.search.whoosh_schema`;
how it is searched is :mod:`comun_cms.search.whoosh_engine`.

One index for all tenants (package ``whoosh-reloaded``), in one root
directory::

    <root>/CURRENT              name of the live index directory (one line)
    <root>/ix-<stamp>/          Whoosh index files (TOC, segments, WRITELOCK)
    <root>/.backend.lock        fcntl lock for pointer swaps / journal
    <root>/REBUILDING           present while a rebuild runs (JSON: dir, pid)
    <root>/rebuild.journal      writes made during a rebuild, replayed before
                                the swap

:meth:`IndexStore.rebuild` writes a new ``ix-*`` directory and then replaces
``CURRENT`` with ``os.replace`` (atomic on POSIX), so readers see either the
old or the new index, never a half-built one.  The previous directory is
kept until the next rebuild so that readers that opened it just before the
swap can finish.

Searchers are cached per thread; after a commit a new searcher is opened
(cheap: a few segment files) and the engine's per-segment caches of
unchanged segments are kept (the ``on_refresh`` callback).

Sources: Whoosh docs -- indexing and the writer lock
(https://whoosh.readthedocs.io/en/latest/indexing.html), batch indexing with
``limitmb``/``procs``/``multisegment``
(https://whoosh.readthedocs.io/en/latest/batch.html), searchers
(https://whoosh.readthedocs.io/en/latest/searching.html); POSIX ``rename``
atomicity (IEEE Std 1003.1, rename()) and ``flock(2)``.
"""

from __future__ import annotations

import errno
import fcntl
import json
import os
import pickle
import secrets
import shutil
import threading
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Iterable, Optional

from whoosh import index
from whoosh.index import LockError

from comun_cms.search.analysis import fold
from comun_cms.search.backend import CanaryResult, ProgressCallback, SearchDocument, SearchQuery, SearchResults
from comun_cms.search.whoosh_schema import doc_fields

__all__ = ["IndexStore", "default_limitmb"]

_POINTER = "CURRENT"
_MARKER = "REBUILDING"
_JOURNAL = "rebuild.journal"
_LOCKFILE = ".backend.lock"
_INDEX_PREFIX = "ix-"


def default_limitmb(procs: Optional[int]) -> int:
    """2,048 MB per writer process, at most a quarter of free memory each.

    Args:
        procs: writer processes (None: ``min(2, os.cpu_count())``).

    Returns:
        The Whoosh ``limitmb`` per process, between 128 and 2,048.
    """
    procs = int(procs or min(2, os.cpu_count() or 1))
    try:
        avail_mb = os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE") // (1024 * 1024)
    except (ValueError, OSError, AttributeError):
        avail_mb = 4096
    return int(max(128, min(2048, avail_mb // (4 * procs))))


class IndexStore:
    """The index directories under ``root``: the live pointer, locks, writes, rebuilds, searchers.

    Args:
        root: root directory (must exist); see the module doc for its
            layout.  Must be on a local POSIX filesystem (``fcntl`` locks,
            atomic ``os.replace``).
        schema: the index schema (:func:`~comun_cms.search.whoosh_schema.make_schema`),
            used to create new index directories.
        lock_timeout: seconds to wait for the store lock and Whoosh's index
            write lock (then :class:`TimeoutError`).
        make_codec: returns the Whoosh codec for new segments (called per writer).
        on_refresh: ``on_refresh(searcher, dirname)`` after a thread's
            searcher was replaced by a newer one of the same index (commit);
            the engine drops caches of segments that are gone.

    Thread/process safety: searching is safe from any number of threads and
    processes (one cached searcher per thread).  Writes are serialized: one
    writer at a time per process (a thread lock) and across processes
    (``.backend.lock`` and Whoosh's ``WRITELOCK``).
    """

    def __init__(
        self,
        root: Path,
        schema,
        *,
        lock_timeout: float,
        make_codec: Callable[[], object],
        on_refresh: Callable[[object, str], None],
    ):
        self.root = root
        self.schema = schema
        self.lock_timeout = float(lock_timeout)
        self._make_codec = make_codec
        self._on_refresh = on_refresh
        self._local = threading.local()
        self._states_lock = threading.Lock()
        self._states: list = []
        self._thread_write_lock = threading.RLock()

    def _read_pointer(self) -> Optional[str]:
        try:
            name = (self.root / _POINTER).read_text(encoding="utf-8").strip()
        except FileNotFoundError:
            return None
        return name or None

    def _write_pointer(self, name: str) -> None:
        tmp = self.root / ("%s.tmp-%d-%s" % (_POINTER, os.getpid(), secrets.token_hex(4)))
        with open(tmp, "w", encoding="utf-8") as fh:
            fh.write(name + "\n")
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, self.root / _POINTER)
        try:
            dfd = os.open(self.root, os.O_RDONLY)
            try:
                os.fsync(dfd)
            finally:
                os.close(dfd)
        except OSError:
            pass

    def _new_index_dir(self) -> Path:
        name = "%s%s-%d-%s" % (
            _INDEX_PREFIX,
            time.strftime("%Y%m%dT%H%M%S", time.gmtime()),
            os.getpid(),
            secrets.token_hex(3),
        )
        path = self.root / name
        path.mkdir()
        index.create_in(str(path), self.schema)
        return path

    @contextmanager
    def _backend_lock(self):
        """Process + thread lock for pointer/journal changes (short sections)."""
        with self._thread_write_lock:
            self.root.mkdir(parents=True, exist_ok=True)  # recreated if deleted under us
            with open(self.root / _LOCKFILE, "a+") as fh:
                deadline = time.monotonic() + self.lock_timeout
                while True:
                    try:
                        fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
                        break
                    except BlockingIOError:
                        if time.monotonic() > deadline:
                            raise TimeoutError("search index lock busy: %s" % (self.root / _LOCKFILE))
                        time.sleep(0.02)
                try:
                    yield
                finally:
                    fcntl.flock(fh, fcntl.LOCK_UN)

    def _ensure_index(self) -> Path:
        """Return the live index directory, creating an empty index if none."""
        name = self._read_pointer()
        if name and (self.root / name).is_dir():
            return self.root / name
        with self._backend_lock():
            name = self._read_pointer()
            if name and (self.root / name).is_dir():
                return self.root / name
            path = self._new_index_dir()
            self._write_pointer(path.name)
            return path

    # -- reading -----------------------------------------------------------

    def _pointer_stamp(self):
        try:
            st = os.stat(self.root / _POINTER)
        except FileNotFoundError:
            return None
        return (st.st_ino, st.st_mtime_ns, st.st_size)

    def searcher(self):
        """Cached per-thread searcher of the live index, or None if no index.

        Reopened when ``CURRENT`` points elsewhere (a rebuild was swapped in)
        and replaced by a fresh searcher of the same index after a commit.
        """
        state = self._local
        stamp = self._pointer_stamp()
        if stamp is None:
            return None
        s = getattr(state, "searcher", None)
        if s is None or state.stamp != stamp:
            name = self._read_pointer()
            if s is not None and name == getattr(state, "dirname", None):
                state.stamp = stamp
            else:
                if s is not None:
                    try:
                        s.close()
                    except Exception:
                        pass
                    state.searcher = None
                for _attempt in range(3):
                    name = self._read_pointer()
                    if not name:
                        return None
                    try:
                        ix = index.open_dir(str(self.root / name))
                        s = ix.searcher()
                        break
                    except (FileNotFoundError, index.EmptyIndexError, OSError):
                        time.sleep(0.01)  # swapped/cleaned under us: re-read pointer
                else:
                    return None
                state.searcher = s
                state.ix = ix
                state.dirname = name
                state.stamp = stamp
                with self._states_lock:
                    if state not in self._states:
                        self._states.append(state)
                return s
        # Not ``Searcher.refresh()``: in whoosh-reloaded 2.7.5 its reader reuse
        # (``FileIndex._reader(reuse=...)``, changed for BufferedWriter in
        # whoosh-community/whoosh PR #520, issue #484) keeps the old deletion
        # state of a segment that got deletions, so an updated document shows
        # up twice.  A new searcher costs only the opening of a few segment
        # files; the expensive per-segment data lives in the engine's ``SegmentCache``.
        try:
            if s.up_to_date():
                return s
            fresh = state.ix.searcher()
        except Exception:
            try:
                s.close()
            except Exception:
                pass
            state.searcher = None
            state.stamp = None
            return self.searcher()
        try:
            s.close()
        except Exception:
            pass
        state.searcher = fresh
        self._on_refresh(fresh, state.dirname)
        return fresh

    def thread_dirname(self) -> Optional[str]:
        """Name of the index directory the calling thread's searcher reads (None before one opened)."""
        return getattr(self._local, "dirname", None)

    # -- writing -----------------------------------------------------------

    def _rebuild_marker(self) -> Optional[dict]:
        try:
            data = json.loads((self.root / _MARKER).read_text(encoding="utf-8"))
        except (FileNotFoundError, ValueError):
            return None
        pid = int(data.get("pid", 0))
        if pid and pid != os.getpid():
            try:
                os.kill(pid, 0)
            except OSError as exc:
                if exc.errno == errno.ESRCH:  # rebuild process died: stale marker
                    for name in (_MARKER, _JOURNAL):
                        try:
                            os.unlink(self.root / name)
                        except FileNotFoundError:
                            pass
                    return None
        return data

    def _journal(self, op: str, payload) -> None:
        if self._rebuild_marker() is None:
            return
        with open(self.root / _JOURNAL, "ab") as fh:
            pickle.dump((op, payload), fh, protocol=pickle.HIGHEST_PROTOCOL)
            fh.flush()
            os.fsync(fh.fileno())

    def _writer(self, ix, **kwargs):
        try:
            return ix.writer(timeout=self.lock_timeout, delay=0.05, codec=self._make_codec(), **kwargs)
        except LockError as exc:
            raise TimeoutError("search index is locked by another writer: %s" % exc) from exc

    def _apply(self, ix, op: str, payload) -> int:
        writer = self._writer(ix, limitmb=128)
        try:
            n = 0
            if op == "upsert":
                for doc in payload:
                    writer.update_document(**doc_fields(doc))
                    n += 1
            elif op == "delete":
                for doc_id in payload:
                    writer.delete_by_term("id", doc_id)
                    n += 1
            elif op == "delete_tenant":
                writer.delete_by_term("tenant", fold(payload))
                n = 1
            writer.commit()
            return n
        except BaseException:
            writer.cancel()
            raise

    def write(self, op: str, payload) -> int:
        """Apply one write to the live index (creating it if missing), under the store lock.

        During a rebuild the write is also journaled, to be replayed into the
        new index before the swap.

        Args:
            op: ``"upsert"`` (payload: list of :class:`SearchDocument`),
                ``"delete"`` (payload: list of ids) or ``"delete_tenant"``
                (payload: the tenant slug).
            payload: as ``op`` says.

        Returns:
            Number of documents or ids processed (1 for ``delete_tenant``).

        Raises:
            TimeoutError: a lock was not free within ``lock_timeout`` seconds.
        """
        path = self._ensure_index()
        with self._backend_lock():
            self._journal(op, payload)
            path = self.root / (self._read_pointer() or path.name)
            return self._apply(index.open_dir(str(path)), op, payload)

    def rebuild(
        self,
        docs: Iterable[SearchDocument],
        progress: Optional[ProgressCallback] = None,
        *,
        limitmb: int,
        procs: int,
    ) -> int:
        """Build a new index directory from ``docs``, then swap it in atomically.

        Uses Whoosh's multiprocessing writer (``procs``, ``multisegment=True``,
        ``limitmb`` per process) so the build uses every core and skips the
        final merge.  Writes made through :meth:`write` during the rebuild are
        journaled and replayed into the new index before the swap.  Duplicate
        ids in ``docs`` keep the first occurrence.

        Args:
            docs: every document of the new index.
            progress: ``progress(done, total_or_None)``, called every 1,000
                documents and at the end.
            limitmb: writer memory buffer per process, MB.
            procs: writer processes (1: a single writer in this process).

        Returns:
            Number of documents written.

        Raises:
            TimeoutError: the store lock was busy for ``lock_timeout``.
            TypeError: an item of ``docs`` is not a :class:`SearchDocument`.
            Any exception from ``docs``: the half-built directory is removed
            and the live index is untouched.
        """
        total = len(docs) if hasattr(docs, "__len__") else None
        with self._backend_lock():
            newdir = self._new_index_dir()
            (self.root / _MARKER).write_text(
                json.dumps({"dir": newdir.name, "pid": os.getpid(), "started": time.time()}),
                encoding="utf-8",
            )
            try:
                os.unlink(self.root / _JOURNAL)
            except FileNotFoundError:
                pass
        n = 0
        try:
            ix = index.open_dir(str(newdir))
            if procs > 1:
                writer = ix.writer(
                    procs=procs, limitmb=limitmb, multisegment=True, codec=self._make_codec()
                )
            else:
                writer = ix.writer(limitmb=limitmb, codec=self._make_codec())
            seen: set = set()
            try:
                for doc in docs:
                    if not isinstance(doc, SearchDocument):
                        raise TypeError("expected SearchDocument, got %r" % (doc,))
                    if doc.id in seen:
                        continue
                    seen.add(doc.id)
                    writer.add_document(**doc_fields(doc))
                    n += 1
                    if progress and n % 1000 == 0:
                        progress(n, total)
                writer.commit()
            except BaseException:
                writer.cancel()
                raise
            with self._backend_lock():
                self._replay_journal(ix)
                self._write_pointer(newdir.name)
                for name in (_MARKER, _JOURNAL):
                    try:
                        os.unlink(self.root / name)
                    except FileNotFoundError:
                        pass
        except BaseException:
            with self._backend_lock():
                for name in (_MARKER, _JOURNAL):
                    try:
                        os.unlink(self.root / name)
                    except FileNotFoundError:
                        pass
            shutil.rmtree(newdir, ignore_errors=True)
            raise
        if progress:
            progress(n, total)
        self._cleanup_old(keep={newdir.name})
        return n

    def _replay_journal(self, ix) -> None:
        try:
            fh = open(self.root / _JOURNAL, "rb")
        except FileNotFoundError:
            return
        with fh:
            while True:
                try:
                    op, payload = pickle.load(fh)
                except EOFError:
                    break
                self._apply(ix, op, payload)

    def _cleanup_old(self, keep: set) -> None:
        """Remove index dirs except ``keep`` and the most recent previous one."""
        dirs = sorted(
            (p for p in self.root.iterdir() if p.is_dir() and p.name.startswith(_INDEX_PREFIX)),
            key=lambda p: p.stat().st_mtime,
            reverse=True,
        )
        marker = self._rebuild_marker()
        building = marker.get("dir") if marker else None
        previous_kept = False
        for p in dirs:
            if p.name in keep or p.name == building:
                continue
            if not previous_kept:
                previous_kept = True
                continue
            shutil.rmtree(p, ignore_errors=True)

    # -- checking ----------------------------------------------------------

    def canary(self, search: Callable[[SearchQuery], SearchResults]) -> CanaryResult:
        """Open the live index, count documents, run a query and an id lookup.

        Args:
            search: the backend's ``search`` (the probe query goes through
                the whole query path, not only this store).

        Returns:
            :class:`CanaryResult`; ``ok`` is False (never an exception) if the
            index is missing, unreadable or a probe fails.
        """
        t0 = time.perf_counter()
        try:
            s = self.searcher()
            if s is None:
                return CanaryResult(False, 0, 0.0, "no index at %s" % self.root)
            n = s.doc_count()
            res = search(SearchQuery(text="", per_page=1, facets=False, highlight=False))
            if n and res.total != n:
                raise RuntimeError("match-all found %d of %d documents" % (res.total, n))
            if res.hits:
                hit = res.hits[0]
                if s.document_number(id=hit.id) is None:
                    raise RuntimeError("id lookup failed for %s" % hit.id)
            ms = (time.perf_counter() - t0) * 1000.0
            return CanaryResult(True, n, ms, str(self.root / self._local.dirname))
        except Exception as exc:  # a health probe reports, it does not raise
            return CanaryResult(False, 0, (time.perf_counter() - t0) * 1000.0, "%s: %s" % (type(exc).__name__, exc))

    def close(self) -> None:
        """Close every cached searcher opened through this store (all threads)."""
        with self._states_lock:
            states, self._states = self._states, []
        for st in states:
            s = getattr(st, "searcher", None)
            if s is not None:
                try:
                    s.close()
                except Exception:
                    pass
                st.searcher = None
