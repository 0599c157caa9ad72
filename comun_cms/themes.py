"""Template and static lookup chain: tenant overrides -> tenant theme -> default theme ``comun``
-> application templates -> plugin (blueprint) templates.

Jinja caches compiled templates by name; because the same name resolves to a different file per
tenant, :class:`ThemedEnvironment` adds the tenant's chain key to the cache key.
"""
from __future__ import annotations

import tomllib
import weakref
from pathlib import Path
from typing import Any

from flask import current_app
from flask.templating import DispatchingJinjaLoader, Environment
from jinja2 import FileSystemLoader, TemplateNotFound

from comun_cms.tenancy import get_current_tenant

DEFAULT_THEME = "comun"


def _chain_key() -> str:
    tenant = get_current_tenant()
    return f"{tenant.slug}:{tenant.theme}" if tenant else f"-:{DEFAULT_THEME}"


class ThemeLoader(DispatchingJinjaLoader):
    """Looks a template up in ``states/<slug>/templates``, ``themes/<theme>/templates``,
    ``themes/comun/templates``, then Flask's usual app and blueprint folders."""

    def __init__(self, app) -> None:
        super().__init__(app)
        self._loaders: dict[str, FileSystemLoader] = {}

    def _fs(self, path: Path) -> FileSystemLoader:
        key = str(path)
        if key not in self._loaders:
            self._loaders[key] = FileSystemLoader(key)
        return self._loaders[key]

    def _chain(self) -> list[FileSystemLoader]:
        themes_dir = Path(self.app.config["THEMES_DIR"])
        tenant = get_current_tenant()
        chain = []
        if tenant is not None:
            chain.append(tenant.path / "templates")
            if tenant.theme != DEFAULT_THEME:
                chain.append(themes_dir / tenant.theme / "templates")
        chain.append(themes_dir / DEFAULT_THEME / "templates")
        return [self._fs(p) for p in chain if p.is_dir()]

    def get_source(self, environment, template):
        for loader in self._chain():
            try:
                return loader.get_source(environment, template)
            except TemplateNotFound:
                continue
        return super().get_source(environment, template)

    def list_templates(self):
        names = set(super().list_templates())
        for loader in self._chain():
            names.update(loader.list_templates())
        return sorted(names)


#: Most template misses :class:`ThemedEnvironment` remembers (the set is emptied when full).
MISSING_LIMIT = 2000


class ThemedEnvironment(Environment):
    """Flask's Jinja environment with the template cache keyed by tenant theme chain as well as
    by name (overrides Jinja's private ``_load_template``; Jinja 3.1).

    Misses are remembered too (``missing_templates``, same keys), unless templates auto-reload:
    ``render_template(["errors/403.html", "errors/error.html"])`` would otherwise search every
    folder of the chain and of every blueprint for ``errors/403.html`` on each 403 page.
    A file added while the application runs is therefore seen only after a restart, as changes
    to cached templates are; ``missing_templates.clear()`` forgets the misses."""

    missing_templates: set

    def _load_template(self, name: str, globals: Any):  # noqa: A002 - Jinja's signature
        if self.loader is None:
            raise TypeError("no loader for this environment specified")
        key = (weakref.ref(self.loader), name, _chain_key())
        remember = self.cache is not None and not self.auto_reload
        if remember and key in self.__dict__.setdefault("missing_templates", set()):
            raise TemplateNotFound(name)
        if self.cache is not None:
            template = self.cache.get(key)
            if template is not None and (not self.auto_reload or template.is_up_to_date):
                if globals:
                    template.globals.update(globals)
                return template
        try:
            template = self.loader.load(self, name, self.make_globals(globals))
        except TemplateNotFound:
            if remember:
                if len(self.missing_templates) >= MISSING_LIMIT:
                    self.missing_templates.clear()
                self.missing_templates.add(key)
            raise
        if self.cache is not None:
            self.cache[key] = template
        return template


def load_theme(themes_dir: Path, name: str) -> dict:
    """Read ``themes/<name>/theme.toml``; returns its table (``{}`` if the file is missing)."""
    path = Path(themes_dir) / name / "theme.toml"
    if not path.exists():
        return {}
    return tomllib.loads(path.read_text(encoding="utf-8"))


def theme_static_dirs(tenant) -> list[Path]:
    """Static folders searched for ``/theme/<path>`` in order (tenant, theme, default theme)."""
    themes_dir = Path(current_app.config["THEMES_DIR"])
    dirs = []
    if tenant is not None:
        dirs.append(tenant.path / "static")
        dirs.append(themes_dir / tenant.theme / "static")
    dirs.append(themes_dir / DEFAULT_THEME / "static")
    seen, out = set(), []
    for d in dirs:
        if d not in seen and d.is_dir():
            seen.add(d)
            out.append(d)
    return out
