"""The ``comun`` console script: Flask's CLI group building the application.

``comun`` (and ``python -m comun_cms.cli``, which ``comun run`` uses to start the search
worker) runs :func:`main`, a :class:`flask.cli.FlaskGroup` whose application comes from
:func:`comun_cms.app.create_app`, so every command has an application context. The commands
themselves live in :mod:`comun_cms.commands` (core) and in the plugins.
"""
from __future__ import annotations

import os
import sys

import click
from flask import Flask
from flask.cli import FlaskGroup

from comun_cms.app import create_app
from comun_cms.config import ConfigError
from comun_cms.private_files import PRIVATE_UMASK
from comun_cms.tenancy import TenantConfigError

__all__ = ["main"]


def _app_factory() -> Flask:
    return create_app()


def main() -> None:
    """Console-script entry point ``comun``: run the command line; a bad ``tenant.toml`` or
    ``instance/config.toml`` ends with its message and exit status 2.

    Sets the process umask to 0077 first (:data:`~comun_cms.private_files.PRIVATE_UMASK`): every
    file the command, gunicorn and the search worker it starts create (the SQLite database, the
    search index, uploads...) is readable by its owner only."""
    os.umask(PRIVATE_UMASK)
    cli = FlaskGroup(create_app=_app_factory, add_default_commands=False, add_version_option=False,
                     help="Común CMS command line.")
    try:
        cli.main(prog_name="comun")
    except (TenantConfigError, ConfigError) as exc:
        click.echo(f"Error: {exc}", err=True)
        sys.exit(2)


if __name__ == "__main__":  # `python -m comun_cms.cli` (used by `comun run` for the worker)
    main()
