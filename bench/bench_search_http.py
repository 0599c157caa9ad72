"""Search throughput through the real app: gunicorn with 2 workers serving
``/api/v1/search`` (tenant filter, facets, top-10 highlighted snippets) over a synthetic
Spanish corpus (bench/search.py's generator), measured with concurrent HTTP clients.

Target (issue 3): at least 100 searches/s at 20,000 documents with gunicorn and 2 workers.

    python bench/bench_search_http.py [--docs 20000] [--seconds 20] [--clients 4]

The load comes from ``wrk`` (Debian package ``wrk``, a C client that rotates through 500 query
URLs with a Lua script) when it is installed, else from Python client processes; either runs on
the same 2 cores as the server, so the figure is a lower bound (Python clients cost more).
"""
from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from multiprocessing import get_context
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))


def build_instance(workdir: Path, n_docs: int) -> tuple[str, Path]:
    """Create a migrated SQLite database and a search index of ``n_docs`` synthetic documents.
    Returns (database URL, instance path)."""
    from comun_cms.app import create_app
    from comun_cms.setup import sync_tenants, upgrade_database
    import search as corpus

    instance = workdir / "instance"
    url = f"sqlite:///{workdir / 'bench.db'}"
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "INSTANCE_PATH": str(instance)})
    with app.app_context():
        upgrade_database(app)
        sync_tenants(app)
        t0 = time.perf_counter()
        app.extensions["comun"].search.backend.rebuild(corpus.make_corpus(n_docs))
        print(f"index of {n_docs} documents built in {time.perf_counter() - t0:.1f} s", flush=True)
        app.extensions["comun"].search.backend.close()
    return url, instance


def client(base: str, queries: list[tuple[str, str]], seconds: float, out) -> None:
    """Send searches one after another for ``seconds``; put (count, latencies) on ``out``."""
    latencies = []
    end = time.perf_counter() + seconds
    i = 0
    while time.perf_counter() < end:
        text, tenant = queries[i % len(queries)]
        i += 1
        qs = urllib.parse.urlencode({"q": text, "tenant": tenant})
        t0 = time.perf_counter()
        with urllib.request.urlopen(f"{base}/api/v1/search?{qs}", timeout=30) as response:
            response.read()
            assert response.status == 200
        latencies.append(time.perf_counter() - t0)
    out.put(latencies)


def _run_wrk(base: str, queries, args) -> int:
    """Drive the server with wrk; print its throughput and latency percentiles."""
    paths = ["/api/v1/search?" + urllib.parse.urlencode({"q": t, "tenant": ten}) for t, ten in queries]
    lua = "paths = {" + ",".join('"%s"' % p.replace('"', '\\"') for p in paths) + "}\n" + (
        "i = 0\nrequest = function()\n  i = i + 1\n  return wrk.format(nil, paths[(i % #paths) + 1])\nend\n"
        "done = function(summary, latency, requests)\n"
        "  io.write(string.format('RESULT %d %.3f %.3f %.3f %d\\n', summary.requests, summary.duration / 1e6,"
        " latency:percentile(50) / 1000, latency:percentile(95) / 1000, summary.errors.status))\nend\n")
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as fh:
        fh.write(lua)
    out = subprocess.run(["wrk", "-t", "1", "-c", str(args.clients), "-d", f"{int(args.seconds)}s", "-s", fh.name, base],
                         capture_output=True, text=True, check=True).stdout
    os.unlink(fh.name)
    line = next(l for l in out.splitlines() if l.startswith("RESULT"))
    _, n, secs, p50, p95, errors = line.split()
    print("| docs | client | connections | searches | seconds | searches/s | median ms | p95 ms | non-2xx | load |")
    print("|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    print(f"| {args.docs:,} | wrk | {args.clients} | {n} | {float(secs):.1f} | **{int(n) / float(secs):.0f}** | "
          f"{float(p50):.1f} | {float(p95):.1f} | {errors} | {os.getloadavg()[0]:.1f} |")
    return 0 if int(errors) == 0 else 1


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--docs", type=int, default=20000)
    ap.add_argument("--seconds", type=float, default=20.0)
    ap.add_argument("--clients", type=int, default=4)
    ap.add_argument("--port", type=int, default=5099)
    args = ap.parse_args(argv)
    import search as corpus

    with tempfile.TemporaryDirectory() as tmp:
        url, instance = build_instance(Path(tmp), args.docs)
        env = dict(os.environ, COMUN_INSTANCE_PATH=str(instance), COMUN_DATABASE_URL=url)
        server = subprocess.Popen([sys.executable, "-m", "gunicorn", "-w", "2", "-b", f"127.0.0.1:{args.port}",
                                   "--log-level", "warning", "comun_cms.wsgi:app"], env=env, cwd=str(HERE.parent))
        base = f"http://127.0.0.1:{args.port}"
        try:
            for _ in range(100):
                try:
                    urllib.request.urlopen(f"{base}/api/v1/search?q=transparencia", timeout=5).read()
                    break
                except OSError:
                    time.sleep(0.3)
            queries = corpus.make_queries(500)
            for text, tenant in queries[:20]:  # warm both workers
                urllib.request.urlopen(f"{base}/api/v1/search?" + urllib.parse.urlencode({"q": text, "tenant": tenant})).read()
            if shutil.which("wrk"):
                return _run_wrk(base, queries, args)
            ctx = get_context("fork")
            out = ctx.Queue()
            procs = [ctx.Process(target=client, args=(base, queries[k::args.clients], args.seconds, out))
                     for k in range(args.clients)]
            t0 = time.perf_counter()
            for p in procs:
                p.start()
            latencies = []
            for _ in procs:
                latencies.extend(out.get(timeout=args.seconds + 60))
            for p in procs:
                p.join()
            elapsed = time.perf_counter() - t0
        finally:
            server.terminate()
            server.wait(timeout=10)
    latencies.sort()
    rate = len(latencies) / elapsed
    p95 = latencies[int(0.95 * (len(latencies) - 1))] * 1000
    print("| docs | clients | searches | seconds | searches/s | median ms | p95 ms | load |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|")
    print(f"| {args.docs:,} | {args.clients} | {len(latencies)} | {elapsed:.1f} | **{rate:.0f}** | "
          f"{statistics.median(latencies) * 1000:.1f} | {p95:.1f} | {os.getloadavg()[0]:.1f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
