"""``comun plugins new``: name validation, generated files, and the generated plugin installs
(``pip install -e`` into a throwaway venv) and passes its own test unchanged."""
from __future__ import annotations

import os
import subprocess

import pytest

from comun_cms.scaffold import ScaffoldError, create_plugin, throwaway_venv, validate_name


@pytest.mark.parametrize("name, error", [
    ("News", "lower-case Python identifier"),
    ("my-plugin", "lower-case Python identifier"),
    ("1news", "lower-case Python identifier"),
    ("x" * 40, "lower-case Python identifier"),
    ("class", "Python keyword"),
    ("core", "reserved"),
    ("admin", "reserved"),
    ("notary", "already installed"),
    ("criteria", "already installed"),
])
def test_invalid_names_are_refused_with_a_reason(name, error):
    with pytest.raises(ScaffoldError, match=error):
        validate_name(name)


def test_valid_name():
    assert validate_name("open_calls", existing=()) == "open_calls"


def test_cli_creates_the_project(runner, tmp_path):
    result = runner.invoke(args=["plugins", "new", "boletin", "--dir", str(tmp_path), "--title", "Bulletins",
                                 "--title-es", "Boletines"])
    assert result.exit_code == 0, result.output
    root = tmp_path / "comun-boletin"
    pkg = root / "comun_boletin"
    for rel in ("pyproject.toml", "README.md", "tests/test_boletin.py", "comun_boletin/__init__.py",
                "comun_boletin/models.py", "comun_boletin/views.py", "comun_boletin/content.py",
                "comun_boletin/templates/boletin/index.html",
                "comun_boletin/migrations/versions/boletin_0001_schema.py",
                "comun_boletin/translations/es_MX/LC_MESSAGES/messages.po",
                "comun_boletin/translations/en/LC_MESSAGES/messages.po",
                "comun_boletin/translations/es_MX/LC_MESSAGES/messages.mo"):
        assert (root / rel).is_file(), rel
    pyproject = (root / "pyproject.toml").read_text()
    assert '[project.entry-points.comun_cms]\nboletin = "comun_boletin"' in pyproject
    migration = (pkg / "migrations/versions/boletin_0001_schema.py").read_text()
    assert "branch_labels = ('boletin',)" in migration and "depends_on = '0001'" in migration
    po = (pkg / "translations/es_MX/LC_MESSAGES/messages.po").read_text()
    assert 'msgid "Bulletins"\nmsgstr "Boletines"' in po
    models = (pkg / "models.py").read_text()
    assert "class BoletinItem(TenantScoped, Timestamped, Publishable, db.Model)" in models
    # a second time: the folder exists
    again = runner.invoke(args=["plugins", "new", "boletin", "--dir", str(tmp_path)])
    assert again.exit_code != 0 and "already exists" in again.output
    bad = runner.invoke(args=["plugins", "new", "stl_minutes", "--dir", str(tmp_path)])
    assert bad.exit_code != 0 and "already installed" in bad.output


def test_scaffolded_plugin_installs_and_passes_its_own_test(tmp_path):
    project = create_plugin("gaceta", tmp_path / "src", title="Gazette", title_es="Gaceta")
    python = throwaway_venv(tmp_path / "venv", editable=[project])
    check = subprocess.run([str(python), "-c", "import importlib.metadata as m; "
                            "print([e.value for e in m.entry_points(group='comun_cms') if e.name == 'gaceta'])"],
                           capture_output=True, text=True, check=True)
    assert "comun_gaceta" in check.stdout
    env = dict(os.environ, PYTEST_DISABLE_PLUGIN_AUTOLOAD="1")
    env.pop("COMUN_TEST_DATABASE_URL", None)
    run = subprocess.run([str(python), "-m", "pytest", "-q", "-p", "no:cacheprovider"], cwd=project, env=env,
                         capture_output=True, text=True, timeout=240)
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-2000:]
    assert "2 passed" in run.stdout
