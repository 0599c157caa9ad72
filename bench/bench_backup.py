"""Backup and restore of the demo site, and the cost of the operations endpoints.

Builds a throw-away instance (SQLite, or ``--database-url`` PostgreSQL, which must be empty) with
the real documents and the demo content, then measures in one process, start-up excluded:
``backup()`` (seconds, file size), ``restore()`` into a second empty instance (seconds, with the
search rebuild) and the median time of ``/healthz`` and ``/readyz`` through the WSGI stack.

    .venv/bin/python bench/bench_backup.py [--database-url postgresql://...] [--probes 200]
"""
from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from comun_cms.app import create_app  # noqa: E402
from comun_cms.backup import backup, restore  # noqa: E402
from comun_cms.demo import run_demo  # noqa: E402
from comun_cms.extensions import db  # noqa: E402
from comun_cms.search.service import get_search  # noqa: E402
from comun_cms.setup import initialize_plugins, sync_tenants, upgrade_database  # noqa: E402

PASSPHRASE = "frase de paso de la medicion"


def _median_ms(client, path: str, n: int) -> float:
    times = []
    for _ in range(n):
        start = time.perf_counter()
        client.get(path)
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", help="an empty PostgreSQL database for the source site")
    parser.add_argument("--target-url", help="an empty PostgreSQL database for the restored site")
    parser.add_argument("--probes", type=int, default=200)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        source_url = args.database_url or f"sqlite:///{tmp / 'a.db'}"
        target_url = args.target_url or f"sqlite:///{tmp / 'b.db'}"
        app = create_app({"INSTANCE_PATH": str(tmp / "a"), "SQLALCHEMY_DATABASE_URI": source_url})
        with app.app_context():
            upgrade_database(app)
            sync_tenants(app)
            initialize_plugins(app)
            run_demo(app, log=lambda m: None)
            get_search().reindex()
            start = time.perf_counter()
            report = backup(app, tmp / "site.bak", PASSPHRASE)
            backup_s = time.perf_counter() - start
            client = app.test_client()
            healthz = _median_ms(client, "/healthz", args.probes)
            readyz = _median_ms(client, "/readyz", args.probes)
            db.session.remove()
        other = create_app({"INSTANCE_PATH": str(tmp / "b"), "SQLALCHEMY_DATABASE_URI": target_url})
        with other.app_context():
            start = time.perf_counter()
            restored = restore(other, tmp / "site.bak", PASSPHRASE)
            restore_s = time.perf_counter() - start
            db.session.remove()
    rows = sum(report.tables.values())
    print(f"database        {source_url.split(':')[0]} -> {target_url.split(':')[0]}")
    print(f"rows            {rows} in {len(report.tables)} tables; {report.files} files")
    print(f"backup          {backup_s:.2f} s, {report.bytes / 1024:.0f} KiB (scrypt N=2^17 included)")
    print(f"restore         {restore_s:.2f} s ({restored.documents} search documents rebuilt)")
    print(f"/healthz        {healthz:.2f} ms median of {args.probes}")
    print(f"/readyz         {readyz:.2f} ms median of {args.probes}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
