"""``comun plugins new NAME``: scaffold a plugin distribution, and keep its catalogs up to date.

The generated project (``<dir>/comun-<name>/``) is a complete plugin: pyproject with the
``comun_cms`` entry point, hook implementations, a model (TenantScoped + Timestamped +
Publishable) registered as a content type, a public list page and item page, a staff page, an
Alembic branch labelled ``<name>`` depending on the core revision ``0001``, ``es_MX`` and ``en``
catalogs, and a test that runs the conformance kit. ``pip install -e`` it and its test passes.

Command line (also ``python -m comun_cms.scaffold``)::

    comun plugins new news --dir ~/src --title "Communiqués" --title-es "Comunicados"
    python -m comun_cms.scaffold catalogs path/to/comun_news   # re-extract and update catalogs
"""
from __future__ import annotations

import datetime as dt
import importlib.metadata
import keyword
import re
import site
import subprocess
import sys
import sysconfig
from pathlib import Path
from typing import Iterable

import click
from babel.messages.catalog import Catalog
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po, write_po
from flask import current_app, has_app_context

from comun_cms.conformance import extract_messages
from comun_cms.hookspecs import PROJECT_NAME

TEMPLATES = Path(__file__).parent / "scaffold_templates"
NAME_RE = re.compile(r"^[a-z][a-z0-9_]{0,38}$")
#: names a plugin can never take (core names, URL prefixes of the portal, Python/test folders).
RESERVED = frozenset({"core", "comun", "comun_cms", "plugins", "test", "tests", "admin", "api", "static", "auth",
                      "theme", "portal", "public", "search", "buscar", "site", "app", "db", "migrations"})

#: Spanish translations of the strings every scaffolded plugin has.
SPANISH = {
    "Item": "Elemento",
    "Items": "Elementos",
    "Retracted": "Retirado",
    "Nothing has been published yet.": "Todavía no se ha publicado nada.",
    "Nothing has been created yet.": "Todavía no se ha creado nada.",
    "Back to the list": "Volver a la lista",
    "Published on %(date)s, version %(version)s": "Publicado el %(date)s, versión %(version)s",
    "This item was retracted.": "Este elemento fue retirado.",
    "Title": "Título",
    "Status": "Estado",
    "Version": "Versión",
}


class ScaffoldError(ValueError):
    """The plugin cannot be created; ``str(error)`` says why and what to do."""


def known_plugins() -> set[str]:
    """Names of the installed plugins: every entry point of the ``comun_cms`` group (the built-in
    plugins declare theirs in the core's ``pyproject.toml``) and, inside an application context,
    every plugin registered in the running app (``core``, ``extra_plugins``...)."""
    names = {ep.name for ep in importlib.metadata.entry_points(group=PROJECT_NAME)}
    if has_app_context() and "comun" in current_app.extensions:
        names.update(n for n, _ in current_app.extensions["comun"].pm.list_name_plugin())
    return names


def validate_name(name: str, existing: Iterable[str] | None = None) -> str:
    """Check a new plugin name.

    Args:
        name: the plugin name (entry-point name, branch label, blueprint and URL prefix).
        existing: names already taken (default: :func:`known_plugins`).

    Returns:
        ``name`` unchanged.

    Raises:
        ScaffoldError: not a lower-case Python identifier of 2–39 characters, a Python keyword,
            a reserved name, or the name of an installed plugin.
    """
    if not name or not name.isidentifier() or not NAME_RE.match(name):
        raise ScaffoldError(f"'{name}' is not a valid plugin name: use a lower-case Python identifier of 1 to 39 "
                            f"characters (a-z, 0-9, _; starting with a letter), e.g. 'news' or 'open_calls'")
    if keyword.iskeyword(name):
        raise ScaffoldError(f"'{name}' is a Python keyword; choose another name")
    if name in RESERVED:
        raise ScaffoldError(f"'{name}' is reserved by Común CMS ({', '.join(sorted(RESERVED))}); choose another name")
    taken = set(known_plugins() if existing is None else existing)
    if name in taken:
        raise ScaffoldError(f"a plugin named '{name}' is already installed ({', '.join(sorted(taken))}); "
                            f"choose another name")
    return name


def _camel(name: str) -> str:
    return "".join(part.capitalize() for part in name.split("_") if part)


def create_plugin(name: str, directory: str | Path = ".", *, title: str | None = None, title_es: str | None = None,
                  existing: Iterable[str] | None = None) -> Path:
    """Write a new plugin project ``<directory>/comun-<name>/`` (name validated first).

    Args:
        name: plugin name (see :func:`validate_name`); package ``comun_<name>``, distribution
            ``comun-<name>``.
        directory: parent folder of the project (created if missing).
        title: English title (menu entry, page heading); default from the name.
        title_es: its Spanish translation (default: ``title``).
        existing: taken plugin names (default: installed plugins).

    Returns:
        The project folder.

    Raises:
        ScaffoldError: invalid name, or the project folder already exists.
    """
    validate_name(name, existing)
    title = (title or name.replace("_", " ").capitalize()).strip()
    if '"' in title or "\\" in title:
        raise ScaffoldError("the title cannot contain double quotes or backslashes")
    package = f"comun_{name}"
    dist = f"comun-{name.replace('_', '-')}"
    target = Path(directory) / dist
    if target.exists():
        raise ScaffoldError(f"{target} already exists; remove it or choose another --dir")
    tokens = {"@package@": package, "@plugin@": name, "@Plugin@": _camel(name), "@dist@": dist,
              "@title@": title, "@date@": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M:%S")}

    def fill(text: str) -> str:
        for key, value in tokens.items():
            text = text.replace(key, value)
        return text

    for src in sorted(TEMPLATES.rglob("*.tmpl")):
        rel = fill(str(src.relative_to(TEMPLATES)))[: -len(".tmpl")]
        dest = target / rel
        dest.parent.mkdir(parents=True, exist_ok=True)
        dest.write_text(fill(src.read_text(encoding="utf-8")), encoding="utf-8")
    (target / package / "static").mkdir(exist_ok=True)
    (target / package / "static" / ".keep").write_text("")
    update_catalogs(target / package, translations={"es_MX": {**SPANISH, title: title_es or title}})
    return target


def update_catalogs(package: str | Path, *, translations: dict[str, dict[str, str]] | None = None,
                    locales: tuple[str, ...] = ("es_MX", "en"), project: str | None = None) -> dict[str, int]:
    """Extract the msgids of a plugin package into ``translations/messages.pot`` and add new ones
    to ``translations/<locale>/LC_MESSAGES/messages.po`` (created if missing; existing
    translations are kept), then compile the ``.mo`` files.

    Args:
        package: the plugin's package folder (the one with ``__init__.py`` and ``templates/``).
        translations: ``{locale: {msgid: msgstr}}`` to fill empty entries (``en`` entries default
            to an empty msgstr, which shows the English msgid).
        locales: catalogs to maintain.
        project: project name in the catalog headers (default: the folder name).

    Returns:
        ``{locale: number of msgids added}``.
    """
    package = Path(package)
    tdir = package / "translations"
    tdir.mkdir(parents=True, exist_ok=True)
    messages = extract_messages(package)
    project = project or package.name
    pot = Catalog(project=project, version="0.1.0", domain="messages", charset="utf-8")
    for msgid, locations in messages.items():
        pot.add(msgid, locations=locations)
    with (tdir / "messages.pot").open("wb") as fh:
        write_po(fh, pot, width=100)
    added: dict[str, int] = {}
    for locale in locales:
        po_path = tdir / locale / "LC_MESSAGES" / "messages.po"
        po_path.parent.mkdir(parents=True, exist_ok=True)
        if po_path.exists():
            with po_path.open("rb") as fh:
                catalog = read_po(fh, locale=locale)
        else:
            catalog = Catalog(locale=locale, project=project, version="0.1.0", domain="messages", charset="utf-8",
                              fuzzy=False)
        given = (translations or {}).get(locale, {})
        count = 0
        for msgid, locations in messages.items():
            existing = catalog.get(msgid)
            if existing is None:
                catalog.add(msgid, given.get(msgid, ""), locations=locations)
                count += 1
            else:
                existing.locations = locations
                if not existing.string and given.get(msgid):
                    existing.string = given[msgid]
        added[locale] = count
        with po_path.open("wb") as fh:
            write_po(fh, catalog, width=100)
        with po_path.with_suffix(".mo").open("wb") as fh:
            write_mo(fh, catalog, use_fuzzy=False)
    return added


def throwaway_venv(path: str | Path, editable: Iterable[str | Path] = (), timeout: float = 300) -> Path:
    """Create a virtual environment at ``path`` that sees the running interpreter's packages
    (a ``.pth`` file adds this environment's site-packages) and ``pip install --no-deps -e``
    each folder of ``editable`` into it, so an installed plugin's entry point is visible only
    there. Used by the tests of scaffolded plugins.

    Returns:
        Path of the new environment's ``python``.

    Raises:
        subprocess.CalledProcessError: venv creation or pip failed (its output is attached).
    """
    path = Path(path)
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(path)], check=True, capture_output=True)
    python = path / "bin" / "python"
    purelib = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                             check=True, capture_output=True, text=True).stdout.strip()
    parents = [p for p in {sysconfig.get_paths()["purelib"], *site.getsitepackages()} if Path(p).is_dir()]
    lines = "".join(f"import site; site.addsitedir({p!r})\n" for p in sorted(parents))
    (Path(purelib) / "_comun_parent_env.pth").write_text(lines)
    for folder in editable:
        subprocess.run([str(python), "-m", "pip", "install", "--quiet", "--no-deps", "-e", str(folder)],
                       check=True, capture_output=True, text=True, timeout=timeout)
    return python


@click.command("new")
@click.argument("name")
@click.option("--dir", "directory", default=".", show_default=True, type=click.Path(file_okay=False),
              help="Folder in which the project comun-NAME is created.")
@click.option("--title", default=None, help="English title of the plugin (menu and page heading).")
@click.option("--title-es", default=None, help="Spanish title (es_MX catalog).")
def new_cmd(name: str, directory: str, title: str | None, title_es: str | None) -> None:
    """Create a new plugin project comun-NAME: package, model, content type, pages, migration
    branch, catalogs and a test that runs the conformance kit."""
    try:
        target = create_plugin(name, directory, title=title, title_es=title_es)
    except ScaffoldError as exc:
        raise click.BadParameter(str(exc), param_hint="NAME") from None
    click.echo(f"Plugin '{name}' created in {target}\n")
    click.echo("Next steps:")
    click.echo(f"  pip install -e {target}")
    click.echo(f"  add \"{name}\" to plugins in states/<slug>/tenant.toml")
    click.echo("  comun init            # runs the plugin's migration branch")
    click.echo(f"  cd {target} && python -m pytest")


@click.group()
def _main() -> None:
    """Común CMS plugin scaffolding."""


_main.add_command(new_cmd)


@_main.command("catalogs")
@click.argument("package", type=click.Path(exists=True, file_okay=False))
def catalogs_cmd(package: str) -> None:
    """Re-extract PACKAGE's msgids and update its es_MX and en catalogs (then translate)."""
    added = update_catalogs(package)
    for locale, count in added.items():
        click.echo(f"{locale}: {count} new msgid(s)")


if __name__ == "__main__":  # python -m comun_cms.scaffold new|catalogs ...
    _main()
