"""The example plugin ``examples/comun-news`` is a separate distribution: installed with
``pip install -e`` into a throwaway venv (so it is loaded through its entry point, like a
plugin from PyPI, without touching this environment), its own tests pass, including the
conformance kit."""
from __future__ import annotations

import os
import subprocess
from pathlib import Path

from comun_cms.scaffold import throwaway_venv

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "comun-news"


def test_example_plugin_installs_and_passes_the_conformance_kit(tmp_path):
    python = throwaway_venv(tmp_path / "venv", editable=[EXAMPLE])
    env = dict(os.environ, PYTEST_DISABLE_PLUGIN_AUTOLOAD="1")
    env.pop("COMUN_TEST_DATABASE_URL", None)
    run = subprocess.run([str(python), "-m", "pytest", "-q", "-p", "no:cacheprovider", "-o", "cache_dir=" + str(tmp_path)],
                         cwd=EXAMPLE, env=env, capture_output=True, text=True, timeout=240)
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-2000:]
    assert "6 passed" in run.stdout


def test_example_uses_only_the_public_plugin_api():
    """The example imports nothing from the built-in plugins, and from the core only the toolkit
    (``tests/test_toolkit_boundary.py`` checks the same on the AST, with the plugins and the scaffold)."""
    for path in EXAMPLE.rglob("*.py"):
        for line in path.read_text().splitlines():
            stripped = line.strip()
            if stripped.startswith(("from comun_cms", "import comun_cms")):
                assert stripped.startswith(("from comun_cms.toolkit import", "from comun_cms.toolkit.testing import")), \
                    f"{path.name}: {stripped}"
            assert "from plugins" not in stripped and "import plugins" not in stripped, f"{path.name}: {stripped}"
