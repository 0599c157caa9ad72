"""``plugins/notary/tlog`` is a standalone library: it imports nothing of Común CMS (nor Flask or
SQLAlchemy), only the standard library, PyNaCl and its own modules, so it can be copied out and
used by any verifier."""
from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

TLOG = Path(__file__).resolve().parent.parent / "tlog"
ALLOWED_THIRD_PARTY = {"nacl"}


def _imports(path: Path):
    """``(line, module, level)`` of every import statement in ``path``."""
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name, 0
        elif isinstance(node, ast.ImportFrom):
            yield node.lineno, node.module or "", node.level


def test_tlog_imports_only_the_standard_library_nacl_and_itself():
    bad = []
    for path in sorted(TLOG.glob("*.py")):
        for line, module, level in _imports(path):
            top = module.split(".")[0]
            if level == 1 or top in ALLOWED_THIRD_PARTY or top in sys.stdlib_module_names:
                continue
            bad.append(f"{path.name}:{line}: {'.' * level}{module}")
    assert bad == [], "tlog must stay standalone; imports outside it: " + ", ".join(bad)


def test_tlog_loads_on_its_own_without_the_cms():
    """Imported as a top-level package from its folder, every tlog module loads and no module of
    comun_cms, plugins, Flask or SQLAlchemy comes with it."""
    modules = sorted(p.stem for p in TLOG.glob("*.py") if p.stem != "__init__")
    code = (
        "import importlib, sys\n"
        f"sys.path.insert(0, {str(TLOG.parent)!r})\n"
        f"for name in {modules!r}:\n"
        "    importlib.import_module('tlog.' + name)\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('comun_cms', 'plugins', 'flask', 'sqlalchemy')))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60,
                            cwd=TLOG.parent)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"
