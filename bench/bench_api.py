#!/usr/bin/env python3
"""Benchmark: read API /api/v1 at 100,000 published records on SQLite.

Creates a scratch application (temporary instance folder, SQLite file, Alembic migrations) and
inserts ``--records`` Publication rows directly in bulk (realistic RFC 8785 canonical JSON with
accents, commas, quotes and newlines, spread over the three tenants), then, in a fresh child
process (so its peak RSS is not inflated by the inserts):

1. **list page**: ``GET /api/v1/records?limit=50`` (first page and pages deep in the list via
   cursors, plus filtered by tenant and type) through the WSGI test client; median and p95.
2. **full CSV export**: ``GET /api/v1/records.csv`` consumed chunk by chunk; wall time, size and
   peak RSS growth (``ru_maxrss`` after minus before).

Usage (from the repository root)::

    .venv/bin/python bench/bench_api.py [--records 100000] [--requests 200] [--keep DIR]

Targets: list page of 50 median < 15 ms; full CSV export < 5 s with peak RSS growth < 50 MB.
Exit status 1 when a target is missed.
"""
from __future__ import annotations

import argparse
import contextlib
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from urllib.parse import urlsplit

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
TENANTS = ("edomex", "hidalgo", "puebla")


def _app(workdir: str):
    from comun_cms.app import create_app
    return create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{workdir}/bench.db", "INSTANCE_PATH": f"{workdir}/instance",
                       "TESTING": True, "RATELIMIT_ENABLED": False, "SEARCH_SYNC": True, "SERVER_NAME": "localhost"})


def build(workdir: str, records: int) -> None:
    """Migrate a fresh database and insert ``records`` publications in bulk."""
    import datetime as dt
    import hashlib

    import rfc8785
    from sqlalchemy import insert

    from comun_cms.extensions import db
    from comun_cms.models import Publication
    from comun_cms.setup import sync_tenants, upgrade_database
    from comun_cms.tenancy import platform_session

    app = _app(workdir)
    with app.app_context():
        upgrade_database(app)
        sync_tenants(app)
        start = dt.datetime(2024, 1, 1, tzinfo=dt.timezone.utc)
        batch = []
        t0 = time.perf_counter()
        with platform_session(db.session):
            for i in range(records):
                tenant = TENANTS[i % 3]
                rid = str(i // 3 + 1)
                content = {"slug": f"pagina-{rid}", "title": f"Página {rid}: «informe», con comas, \"comillas\"",
                           "summary": "Resumen con acentos: áéíóú ñ\nsegunda línea", "body": "Texto " * 40,
                           "section": "open_data", "language": "es", "source": "https://example.org/fuente"}
                doc = {"format": "comun-record/1", "tenant": tenant, "content_type": "page", "record_id": rid,
                       "version": 1, "action": "publish", "reason": "", "is_demo": False, "content": content,
                       "attachments": []}
                data = rfc8785.dumps(doc)
                batch.append({"tenant_id": tenant, "content_type": "page", "record_id": rid, "version": 1,
                              "action": "publish", "reason": "", "title": content["title"],
                              "canonical_json": data.decode(), "sha256": hashlib.sha256(data).hexdigest(),
                              "published_at": start + dt.timedelta(seconds=37 * i), "is_demo": False,
                              "is_current": True})
                if len(batch) == 5000:
                    db.session.execute(insert(Publication), batch)
                    batch.clear()
            if batch:
                db.session.execute(insert(Publication), batch)
            db.session.commit()
        print(f"inserted {records:,} publications in {time.perf_counter() - t0:.1f} s", flush=True)


def measure(workdir: str, requests: int) -> dict:
    """Time the list endpoint and the full CSV export; returns the figures."""
    app = _app(workdir)
    client = app.test_client()
    with app.app_context():
        # warm up (URL map, templates, statement caches)
        assert client.get("/api/v1/records?limit=50").status_code == 200

        cpu: list[float] = []

        def timed(url: str) -> float:
            t, c = time.perf_counter(), time.process_time()
            response = client.get(url)
            assert response.status_code == 200, (url, response.status_code)
            response.get_data()
            cpu.append((time.process_time() - c) * 1000)
            return (time.perf_counter() - t) * 1000

        # first pages and deep pages (follow cursors)
        first = [timed("/api/v1/records?limit=50") for _ in range(requests)]
        first_cpu = list(cpu)
        deep, url, steps = [], "/api/v1/records?limit=50&sort=published_at", 0
        while url and steps < requests:
            t = time.perf_counter()
            body = client.get(url).get_json()
            deep.append((time.perf_counter() - t) * 1000)
            next_url = urlsplit(body["next_url"]) if body["next_url"] else None  # absolute, on SITE_HOST
            url = f"{next_url.path}?{next_url.query}" if next_url else None
            steps += 1
        filtered = [timed("/api/v1/edomex/records?limit=50&type=page") for _ in range(requests // 2)]

        rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        t, c = time.perf_counter(), time.process_time()
        response = client.get("/api/v1/records.csv")
        size, lines = 0, 0
        for chunk in response.response:
            size += len(chunk)
            lines += chunk.count(b"\r\n") if isinstance(chunk, bytes) else chunk.count("\r\n")
        response.close()
        export_s = time.perf_counter() - t
        export_cpu_s = time.process_time() - c
        rss_growth_mb = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss_before) / 1024
    return {"list_first_median_ms": statistics.median(first),
            "list_first_p95_ms": statistics.quantiles(first, n=20)[18],
            "list_first_cpu_median_ms": statistics.median(first_cpu), "export_csv_cpu_s": export_cpu_s,
            "load_average": os.getloadavg()[0], "cpus": os.cpu_count(),
            "list_deep_median_ms": statistics.median(deep),
            "list_tenant_type_median_ms": statistics.median(filtered),
            "export_csv_s": export_s, "export_csv_mb": size / 1e6, "export_csv_lines": lines,
            "export_rss_growth_mb": rss_growth_mb}


def main(argv=None) -> int:
    """Build (or reuse with ``--keep``) the database, measure in a child process, print the
    figures; returns 0 when every target is met, 1 otherwise, 2 when the measurement failed."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--records", type=int, default=100_000)
    ap.add_argument("--requests", type=int, default=200)
    ap.add_argument("--keep", metavar="DIR", help="build the database in DIR (reused when it exists)")
    ap.add_argument("--measure", help=argparse.SUPPRESS)  # child process: work folder
    args = ap.parse_args(argv)
    if args.measure:
        print(json.dumps(measure(args.measure, args.requests)))
        return 0
    with (contextlib.nullcontext(args.keep) if args.keep else tempfile.TemporaryDirectory(prefix="comun-bench-api-")) as workdir:
        os.makedirs(workdir, exist_ok=True)
        if not os.path.exists(os.path.join(workdir, "bench.db")):
            build(workdir, args.records)
        out = subprocess.run([sys.executable, os.path.abspath(__file__), "--measure", workdir,
                              "--requests", str(args.requests)], capture_output=True, text=True, cwd=ROOT)
        if out.returncode != 0:
            print(out.stdout, out.stderr, file=sys.stderr)
            return 2
        r = json.loads(out.stdout.strip().splitlines()[-1])
    print(f"records: {args.records:,}; load average {r['load_average']:.1f} on {r['cpus']} CPUs "
          "(wall times suffer on a busy machine; CPU times are the process's own)")
    print(f"GET /api/v1/records?limit=50 (first page)   median {r['list_first_median_ms']:.2f} ms, "
          f"p95 {r['list_first_p95_ms']:.2f} ms, CPU median {r['list_first_cpu_median_ms']:.2f} ms   (target < 15 ms)")
    print(f"GET ... deep pages via cursor (oldest first) median {r['list_deep_median_ms']:.2f} ms")
    print(f"GET /api/v1/edomex/records?type=page         median {r['list_tenant_type_median_ms']:.2f} ms")
    print(f"GET /api/v1/records.csv (full export)         {r['export_csv_s']:.2f} s (CPU {r['export_csv_cpu_s']:.2f} s), "
          f"{r['export_csv_mb']:.1f} MB, "
          f"{r['export_csv_lines'] - 1:,} rows, peak RSS growth {r['export_rss_growth_mb']:.1f} MB "
          f"(targets < 5 s, < 50 MB)")
    ok = (r["list_first_median_ms"] < 15 and r["export_csv_s"] < 5 and r["export_rss_growth_mb"] < 50)
    print("OK" if ok else "TARGET MISSED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
