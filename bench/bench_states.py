"""32 states and 300 municipalities (issue 17, item 7): what grows with the number of tenants.

Generates, in a temporary folder, a ``states/`` folder with 32 state tenants (the four plugins,
like the real states) and 300 municipal tenants (``stl_minutes`` and ``notary``), then measures,
next to the same figures for the three real states:

* ``comun init`` on an empty database (migrations, tenants, notary keys of every tenant);
* start-up of one worker: ``create_app`` time, its RSS, and RSS after the first requests;
* under gunicorn with 2 workers and ``wrk`` (or Python threads): the portal ``/`` and a state's
  home, with the page cache off (every request rendered) and on;
* search facets: ``/buscar?q=...`` on the portal (facets over every tenant), in-process mean time.

    python bench/bench_states.py [--states 32] [--municipalities 300] [--seconds 5]
                                 [--database-url postgresql://.../db]   # default: SQLite in the temp folder

The figures go to docs/benchmarks.md ("32 states"). Load and servers share the machine's cores:
figures are lower bounds and noisy on a shared machine.
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))

from bench_pages import measure, start_gunicorn, stop  # noqa: E402

STATE_PLUGINS = ["criteria", "stl_minutes", "action_plans", "notary"]
MUNICIPAL_PLUGINS = ["stl_minutes", "notary"]


def write_states(folder: Path, states: int, municipalities: int,
                 municipal_plugins: list[str] = MUNICIPAL_PLUGINS) -> list[str]:
    """Write ``states`` state tenants (``estado01``...) and ``municipalities`` municipal tenants
    (``municipio001``...) under ``folder``, from states/hidalgo/tenant.toml. Returns the slugs."""
    template = (ROOT / "states" / "hidalgo" / "tenant.toml").read_text(encoding="utf-8")
    template = re.sub(r'(?m)^logo = .*\n', "", template)
    slugs = []
    for n in range(1, states + municipalities + 1):
        state = n <= states
        slug = f"estado{n:02d}" if state else f"municipio{n - states:03d}"
        name = f"Estado {n:02d}" if state else f"Municipio {n - states:03d}"
        text = re.sub(r'(?m)^slug = .*$', f'slug = "{slug}"', template)
        text = re.sub(r'(?m)^state = .*$', f'state = "{name}"', text)
        text = re.sub(r'(?m)^short_name = .*$', f'short_name = "SESEA {name}"', text)
        text = re.sub(r'(?m)^secretariat = .*$', f'secretariat = "Secretaría Ejecutiva de {name}"', text)
        plugins = STATE_PLUGINS if state else municipal_plugins
        text = re.sub(r'(?m)^plugins = .*$', "plugins = " + json.dumps(plugins), text)
        (folder / slug).mkdir(parents=True)
        (folder / slug / "tenant.toml").write_text(text, encoding="utf-8")
        slugs.append(slug)
    return slugs


STARTUP_PROBE = r"""
import json, resource, sys, time
t0 = time.perf_counter()
from comun_cms.app import create_app
t1 = time.perf_counter()
app = create_app()
t2 = time.perf_counter()
rss_app = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
client = app.test_client()
home = sys.argv[1]
t3 = time.perf_counter()
codes = [client.get("/").status_code, client.get(home).status_code]
t4 = time.perf_counter()
for _ in range(20):
    client.get("/"); client.get(home)
t5 = time.perf_counter()
print(json.dumps({"import_s": t1 - t0, "create_app_s": t2 - t1, "rss_app_kib": rss_app,
                  "first_requests_s": t4 - t3, "codes": codes, "warm_request_ms": (t5 - t4) / 40 * 1000,
                  "rss_after_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}))
"""

SEARCH_PROBE = r"""
import json, sys, time
from comun_cms.app import create_app
app = create_app({"PAGE_CACHE": False})
client = app.test_client()
for q in ("transparencia", "sesion"):
    client.get("/buscar?q=" + q)
t0 = time.perf_counter()
n = 30
for i in range(n):
    r = client.get("/buscar?q=" + ("transparencia", "sesion", "informe")[i % 3])
    assert r.status_code == 200, r.status_code
print(json.dumps({"search_ms": (time.perf_counter() - t0) / n * 1000}))
"""


def run_probe(code: str, env: dict, *args: str) -> dict:
    out = subprocess.run([sys.executable, "-c", code, *args], env=env, cwd=ROOT, capture_output=True, text=True)
    if out.returncode != 0:
        raise SystemExit(f"probe failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def bench_set(label: str, states_dir: Path, home: str, workdir: Path, args) -> dict:
    """Every figure for one set of tenants."""
    instance = workdir / f"instance-{label}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("COMUN_")}
    env.update(COMUN_INSTANCE_PATH=str(instance), COMUN_STATES_DIR=str(states_dir), COMUN_SEARCH_BACKEND="whoosh")
    if args.database_url:
        env["COMUN_DATABASE_URL"] = args.database_url
        subprocess.run(["psql", "-q", args.database_url, "-c", "DROP SCHEMA public CASCADE; CREATE SCHEMA public;"],
                       check=True, capture_output=True)
    else:
        env["COMUN_DATABASE_URL"] = f"sqlite:///{workdir / f'{label}.db'}"
    row: dict = {"label": label, "tenants": len([p for p in states_dir.iterdir() if (p / "tenant.toml").exists()])}
    t0 = time.perf_counter()
    init = subprocess.run([str(Path(sys.executable).parent / "comun"), "init", "--quiet"], env=env, cwd=ROOT,
                          capture_output=True, text=True)
    row["init_s"] = time.perf_counter() - t0
    if init.returncode != 0:
        raise SystemExit(f"comun init failed:\n{init.stdout[-2000:]}{init.stderr[-3000:]}")
    print(f"{label}: comun init {row['init_s']:.1f} s", flush=True)
    row.update(run_probe(STARTUP_PROBE, env, home))
    print(f"{label}: start-up {row}", flush=True)
    row.update(run_probe(SEARCH_PROBE, env))
    for mode in ("uncached", "cached"):
        server = start_gunicorn("comun_cms.wsgi:app", args.port,
                                {**env, "COMUN_PAGE_CACHE": "true" if mode == "cached" else "false"}, ROOT)
        try:
            for name, path in (("portal", "/"), ("home", home)):
                row[f"{name}_{mode}"] = measure(f"http://127.0.0.1:{args.port}", path, args)
                print(f"{label}: {mode} {name} {row[f'{name}_{mode}']:.0f} req/s", flush=True)
        finally:
            stop(server)
    return row


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--states", type=int, default=32)
    ap.add_argument("--municipalities", type=int, default=300)
    ap.add_argument("--seconds", type=float, default=5.0, help="load per page and mode (seconds)")
    ap.add_argument("--connections", type=int, default=8)
    ap.add_argument("--port", type=int, default=5093)
    ap.add_argument("--municipal-plugins", default=",".join(MUNICIPAL_PLUGINS),
                    help="plugins of the municipal tenants, comma-separated (default: %(default)s)")
    ap.add_argument("--skip-baseline", action="store_true", help="do not measure the 3 real states first")
    ap.add_argument("--database-url", default=None, help="PostgreSQL database to use (emptied!); default SQLite")
    args = ap.parse_args(argv)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        real = workdir / "states-3"
        real.mkdir()
        for slug in ("edomex", "hidalgo", "puebla"):
            shutil.copytree(ROOT / "states" / slug, real / slug)
        if not args.skip_baseline:
            rows.append(bench_set("3 states", real, "/edomex/", workdir, args))
        many = workdir / "states-many"
        write_states(many, args.states, args.municipalities, [p for p in args.municipal_plugins.split(",") if p])
        rows.append(bench_set(f"{args.states} states + {args.municipalities} municipalities", many, "/estado01/",
                              workdir, args))
    print()
    print(f"{dt.date.today().isoformat()} · {platform.node()} · {os.cpu_count()} cores · "
          f"{'PostgreSQL' if args.database_url else 'SQLite'} · gunicorn 2 workers · "
          f"{'wrk' if shutil.which('wrk') else 'python threads'} {args.connections} connections, "
          f"{args.seconds:.0f} s per page · load average {os.getloadavg()[0]:.1f}")
    print()
    print("| tenants | `comun init` s | create_app s | RSS after start MiB | RSS after 42 requests MiB | "
          "portal / uncached req/s | state home uncached req/s | portal / cached | state home cached | "
          "/buscar in-process ms |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        print(f"| {r['label']} ({r['tenants']}) | {r['init_s']:.1f} | {r['create_app_s']:.2f} | "
              f"{r['rss_app_kib'] / 1024:.0f} | {r['rss_after_kib'] / 1024:.0f} | {r['portal_uncached']:.0f} | "
              f"{r['home_uncached']:.0f} | {r['portal_cached']:.0f} | {r['home_cached']:.0f} | {r['search_ms']:.1f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
