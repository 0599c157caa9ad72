"""Test helpers for plugin authors (part of the stable plugin API, like :mod:`comun_cms.toolkit`).

The pytest fixtures (``app``, ``client``, ``runner``, ``tenant``, ``make_user``, ``login_as``,
``register_plugin``, ``spanish``, ``page``/``browser`` for Playwright...) come from the pytest
plugin :mod:`comun_cms.testing`, which a plugin's ``conftest.py`` loads with
``pytest_plugins = ["comun_cms.testing"]`` (the repository's root conftest already does). This
module gives the functions a test calls:

* :func:`check_plugin` / :func:`enable_plugin`: the conformance kit (hooks, migrations,
  templates, publishing, tenant isolation, translations) and enabling a plugin for a test;
* :func:`get_tenant`, :data:`PASSWORD`, :func:`browser_login`, :func:`tab_to`,
  :func:`leave_page`: tenants, the fixtures' password, logging a Playwright page in, moving the
  focus with the keyboard only, leaving a page (did it warn of unsaved changes?);
* :func:`create_app`, :func:`get_pm`, :func:`initialize_plugins`, :func:`run_demo`,
  :func:`load_tenant`, :class:`TenantConfigError`, :func:`set_current_tenant`: building an
  application outside the fixtures, its plugin manager, ``comun init``'s plugin step, ``comun
  demo``, loading one ``tenant.toml``;
* :func:`public_form_token`: the time-trap token a test sends with a public form;
* :func:`dump_tenant`, :func:`save_snapshot`, :func:`training_reset`: a training tenant's rows, its
  scenario snapshot and ``comun training reset``.

Importing this module imports pytest.
"""
from __future__ import annotations

import time

from comun_cms.app import create_app
from comun_cms.conformance import ConformanceError, Report, check_plugin, enable_plugin
from comun_cms.demo import run_demo
from comun_cms.plugins import get_pm
from comun_cms.setup import initialize_plugins
from comun_cms.tenancy import TenantConfigError, load_tenant, set_current_tenant
from comun_cms.testing import PASSWORD, browser_login, get_tenant, leave_page, tab_to
from comun_cms.training import dump_tenant, reset as training_reset, save_snapshot
from comun_cms.views.public import make_form_token


def public_form_token(form_name: str, tenant_slug: str, age: float = 10) -> str:
    """The signed timestamp (field ``issued``) of a :class:`~comun_cms.toolkit.PublicForm` named
    ``form_name`` as if the form had been shown ``age`` seconds ago (default 10: older than the
    3-second "sent too quickly" trap, younger than the 2-hour expiry) in tenant ``tenant_slug``.
    Needs an application context (the token is signed with the app's secret key)."""
    return make_form_token(form_name, tenant_slug, time.time() - age)

__all__ = [
    "PASSWORD", "ConformanceError", "Report", "TenantConfigError", "browser_login", "check_plugin", "create_app",
    "dump_tenant", "enable_plugin", "get_pm", "get_tenant", "initialize_plugins", "leave_page", "load_tenant", "public_form_token", "run_demo",
    "save_snapshot", "set_current_tenant", "tab_to", "training_reset",
]
