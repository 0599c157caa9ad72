"""Start-up checks of a serving host: things that must hold before a host answers its first
request, when failing later would do harm (e.g. a host of a several-host deployment that finds no
shared notary key would otherwise make its own and fork the log).

Plugins register a check with :func:`register_startup_check` (toolkit), usually from a blueprint's
``record_once``; the WSGI entry point (:mod:`comun_cms.wsgi`, used by gunicorn and
``comun run``) calls :func:`run_startup_checks` right after ``create_app``, so a failing check
stops the host from starting. ``comun`` commands (``comun init``, ``comun notary keygen``...) do
not run them: they are how an operator fixes what the checks find.
"""
from __future__ import annotations

from typing import Callable

from flask import Flask

from comun_cms.config import ConfigError

__all__ = ["register_startup_check", "run_startup_checks"]

_KEY = "comun_startup_checks"


def register_startup_check(app: Flask, check: Callable[[Flask], None]) -> None:
    """Add ``check(app)`` to the checks a serving host runs before it starts.

    Args:
        app: the application being built.
        check: called inside an application context; raises any exception (its message
            naming the file or setting at fault) to stop the host.
    """
    app.extensions.setdefault(_KEY, []).append(check)


def run_startup_checks(app: Flask) -> None:
    """Run every registered check inside an application context.

    Raises:
        ConfigError: the first check that failed, with its message.
    """
    with app.app_context():
        for check in app.extensions.get(_KEY, []):
            try:
                check(app)
            except ConfigError:
                raise
            except Exception as exc:  # noqa: BLE001 - any failure stops the host, with its message
                raise ConfigError(str(exc)) from exc
