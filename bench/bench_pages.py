"""Public page throughput against a bare Flask + Jinja page, in one run (issue 17 item 3).

Serves, each under gunicorn with 2 workers on 127.0.0.1: the bare page of bench/bare_app.py,
then the project (SQLite, ``comun demo`` data of edomex, search index built) twice: with the
anonymous page cache (``COMUN_PAGE_CACHE=true``; the FileSystemCache of the instance, or Redis
with ``--cache-url``) and without it. Pages: the portal ``/``, a state's home, a commitment, an
STL session, ``/buscar?q=...`` and ``/criterios/``. Prints req/s per page and the ratio to the
bare page as a Markdown table.

Targets (issue 17): cached pages >= 1.0x the bare page; uncached >= 0.33x; ``/buscar`` >= 0.33x.

    python bench/bench_pages.py [--seconds 5] [--connections 8] [--cache-url redis://127.0.0.1:6379/14]

The load comes from ``wrk`` (Debian package ``wrk``) when installed, else from a bounded Python
load generator (threads, keep-alive off, ``--seconds`` per page); either runs on the same cores
as the servers, so figures are lower bounds and noisy on a shared machine. Only loopback
addresses are used.
"""
from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))

#: Issue 17 targets: ratio to the bare page.
TARGET_CACHED = 1.0
TARGET_UNCACHED = 0.33


def build_instance(workdir: Path) -> tuple[str, Path, dict[str, str]]:
    """Create a migrated SQLite database with the edomex demo data and the search index.

    Returns (database URL, instance path, {page name: path}).
    """
    from sqlalchemy import select

    from comun_cms.app import create_app
    from comun_cms.extensions import db
    from comun_cms.models import Publication
    from comun_cms.setup import sync_tenants, upgrade_database
    from comun_cms.tenancy import all_tenants

    instance = workdir / "instance"
    url = f"sqlite:///{workdir / 'bench.db'}"
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "INSTANCE_PATH": str(instance)})
    with app.app_context():
        upgrade_database(app)
        sync_tenants(app)
        t0 = time.perf_counter()
        result = app.test_cli_runner().invoke(args=["demo", "--quiet", "--tenant", "edomex"])
        if result.exit_code != 0:
            raise SystemExit(f"comun demo failed:\n{result.output}")
        app.extensions["comun"].search.drain_outbox()
        print(f"demo data and index built in {time.perf_counter() - t0:.1f} s", flush=True)

        def first(content_type: str) -> str:
            return db.session.scalars(all_tenants(
                select(Publication.record_id).where(Publication.tenant_id == "edomex",
                                                    Publication.content_type == content_type,
                                                    Publication.action == "publish").order_by(Publication.id))).first()

        pages = {
            "portal /": "/",
            "state home": "/edomex/",
            "commitment": f"/edomex/planes-de-accion/compromisos/{first('commitment')}",
            "STL session": f"/edomex/actas/sesiones/{first('stl_session')}",
            "/buscar?q=": "/buscar?q=transparencia",
            "/criterios/": "/criterios/",
        }
        app.extensions["comun"].search.backend.close()
        db.engine.dispose()
    return url, instance, pages


def start_gunicorn(app_spec: str, port: int, env: dict[str, str], cwd: Path) -> subprocess.Popen:
    """Start gunicorn with 2 workers on 127.0.0.1:``port`` and wait until ``/`` answers."""
    server = subprocess.Popen([sys.executable, "-m", "gunicorn", "-w", "2", "-b", f"127.0.0.1:{port}",
                               "--log-level", "warning", app_spec], env=env, cwd=str(cwd))
    for _ in range(200):
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5).read()
            return server
        except OSError:
            if server.poll() is not None:
                raise SystemExit(f"gunicorn {app_spec} exited with {server.returncode}")
            time.sleep(0.2)
    server.terminate()
    raise SystemExit(f"gunicorn {app_spec} did not answer")


def stop(server: subprocess.Popen) -> None:
    server.terminate()
    try:
        server.wait(timeout=15)
    except subprocess.TimeoutExpired:
        server.kill()


def load_wrk(url: str, seconds: float, connections: int) -> tuple[float, int]:
    """Drive ``url`` with wrk; return (requests per second, non-2xx/3xx responses)."""
    out = subprocess.run(["wrk", "-t", "1", "-c", str(connections), "-d", f"{max(1, int(seconds))}s", url],
                         capture_output=True, text=True, check=True).stdout
    rate = float(next(line for line in out.splitlines() if line.startswith("Requests/sec:")).split()[1])
    bad = next((int(line.split(":")[1]) for line in out.splitlines() if "Non-2xx or 3xx responses" in line), 0)
    return rate, bad


def load_python(url: str, seconds: float, connections: int) -> tuple[float, int]:
    """Bounded Python load: ``connections`` threads request ``url`` for ``seconds``."""
    counts = [0] * connections
    errors = [0] * connections
    end = time.perf_counter() + seconds

    def worker(k: int) -> None:
        while time.perf_counter() < end:
            try:
                with urllib.request.urlopen(url, timeout=30) as response:
                    response.read()
                counts[k] += 1
            except OSError:
                errors[k] += 1

    threads = [threading.Thread(target=worker, args=(k,)) for k in range(connections)]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return sum(counts) / (time.perf_counter() - t0), sum(errors)


def measure(base: str, path: str, args) -> float:
    """Warm ``path`` (both workers, cache filled), then return its req/s."""
    for _ in range(6):
        urllib.request.urlopen(base + path, timeout=30).read()
    load = load_wrk if shutil.which("wrk") else load_python
    rate, bad = load(base + path, args.seconds, args.connections)
    if bad:
        print(f"warning: {bad} failed responses on {path}", file=sys.stderr)
    return rate


def run_project(mode: str, url: str, instance: Path, pages: dict[str, str], rows: dict, args) -> None:
    """Serve the project with the page cache on (``cached``) or off, measure every page into
    ``rows[name][mode]``."""
    env = dict(os.environ, COMUN_INSTANCE_PATH=str(instance), COMUN_DATABASE_URL=url,
               COMUN_PAGE_CACHE="true" if mode == "cached" else "false")
    if mode == "cached" and args.cache_url:
        env["COMUN_CACHE_URL"] = args.cache_url
    server = start_gunicorn("comun_cms.wsgi:app", args.port, env, ROOT)
    try:
        for name, path in pages.items():
            rows.setdefault(name, {})[mode] = measure(f"http://127.0.0.1:{args.port}", path, args)
            print(f"{mode:8} {name:12} {rows[name][mode]:.0f} req/s", flush=True)
    finally:
        stop(server)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seconds", type=float, default=5.0, help="load per page and mode (seconds)")
    ap.add_argument("--connections", type=int, default=8)
    ap.add_argument("--port", type=int, default=5097)
    ap.add_argument("--cache-url", default=None, help="redis://... for the cached run (default: FileSystemCache)")
    args = ap.parse_args(argv)
    client = "wrk" if shutil.which("wrk") else "python threads"
    rows: dict[str, dict[str, float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        url, instance, pages = build_instance(Path(tmp))
        # the bare server stays up (idle) and is measured before, between and after the
        # project's runs: on a shared machine the load moves, and the mean is the fairer reference
        bare = start_gunicorn("bare_app:app", args.port + 1, dict(os.environ), HERE)
        bare_base = f"http://127.0.0.1:{args.port + 1}"
        bare_rates: list[float] = []
        try:
            for mode in ("cached", "uncached"):
                bare_rates.append(measure(bare_base, "/", args))
                print(f"bare     page         {bare_rates[-1]:.0f} req/s", flush=True)
                run_project(mode, url, instance, pages, rows, args)
            bare_rates.append(measure(bare_base, "/", args))
            print(f"bare     page         {bare_rates[-1]:.0f} req/s", flush=True)
        finally:
            stop(bare)
    bare_rate = sum(bare_rates) / len(bare_rates)
    print()
    print(f"{dt.date.today().isoformat()} · {platform.node()} · {os.cpu_count()} cores · gunicorn 2 workers · "
          f"{client} {args.connections} connections, {args.seconds:.0f} s per page · load average "
          f"{os.getloadavg()[0]:.1f} · cache: {'Redis' if args.cache_url else 'FileSystemCache'}")
    print()
    print("| page | cached req/s | × bare | uncached req/s | × bare |")
    print("|---|---:|---:|---:|---:|")
    spread = ", ".join(f"{r:.0f}" for r in bare_rates)
    print(f"| bare Flask + Jinja page (mean of {spread}) | {bare_rate:.0f} | 1.00 | {bare_rate:.0f} | 1.00 |")
    failed = []
    for name, r in rows.items():
        cached, uncached = r["cached"] / bare_rate, r["uncached"] / bare_rate
        print(f"| {name} | {r['cached']:.0f} | {cached:.2f} | {r['uncached']:.0f} | {uncached:.2f} |")
        if cached < TARGET_CACHED:
            failed.append(f"{name} cached {cached:.2f} < {TARGET_CACHED}")
        if uncached < TARGET_UNCACHED:
            failed.append(f"{name} uncached {uncached:.2f} < {TARGET_UNCACHED}")
    print()
    print("targets met" if not failed else "targets missed: " + "; ".join(failed))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
