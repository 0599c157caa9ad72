"""Run every benchmark in bench/ with its default (quick-enough) settings and print their
reports. `make bench` calls this; record the figures in docs/benchmarks.md."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
#: (script, arguments) in the order they run
BENCHES = [
    ("search.py", ["--docs", "20000"]),
    ("bench_search_http.py", ["--docs", "20000"]),
    ("bench_notary_proofs.py", []),
    ("bench_notary_append.py", []),
    ("bench_witness.py", []),
    ("bench_timestamps.py", []),
    ("bench_api.py", []),
    ("bench_training.py", []),
    ("bench_mail.py", []),
    ("bench_feedback.py", []),
    ("bench_digest.py", []),
    ("bench_pages.py", []),
    ("bench_backup.py", []),
]


def main() -> int:
    failures = 0
    for script, args in BENCHES:
        path = HERE / script
        if not path.exists():
            print(f"== {script}: missing", flush=True)
            failures += 1
            continue
        print(f"== {script} {' '.join(args)}", flush=True)
        failures += subprocess.call([sys.executable, str(path), *args]) != 0
    return 1 if failures else 0


if __name__ == "__main__":
    raise SystemExit(main())
