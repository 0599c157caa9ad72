"""Prometheus metrics (``GET /metrics``), through the official client ``prometheus_client``.

Metrics:

* ``comun_http_requests_total{method, endpoint, status}``: requests answered, by Flask endpoint
  (``public.record``, ``portal.index``…; never the raw path, so ids and queries make no new
  series), ``<unmatched>`` for addresses no route matches, ``ops.*`` for the probes themselves;
* ``comun_http_request_duration_seconds{method, endpoint}``: a histogram of the time the
  application took (from the request entering the WSGI stack to the response being returned);
* ``comun_page_cache_requests_total{result}``: anonymous pages served from the page cache
  (``hit``) or rendered and stored (``miss``), read from the ``X-Page-Cache`` header that
  :mod:`comun_cms.pagecache` sets;
* ``comun_outbox_backlog{outbox}``, ``comun_outbox_due{outbox}``,
  ``comun_outbox_oldest_due_age_seconds{outbox}`` and ``comun_mail_failed``: the mail and search
  outboxes (:func:`comun_cms.health.outbox_stats`), read from the database at scrape time;
  ``comun_database_up`` is 0 when that read failed.

**Several worker processes.** gunicorn's workers are separate processes, each counting its own
requests. When ``PROMETHEUS_MULTIPROC_DIR`` names a folder in the environment of the workers
(``comun run`` sets it to ``<instance>/prometheus`` and empties that folder at start), the client
keeps its values in files there and each scrape adds up every worker's (the client's multiprocess
mode). The variable must be set before the process imports this module.

**Access.** ``/metrics`` answers only when ``METRICS_TOKEN`` or ``METRICS_ALLOWED_NETWORKS`` is
set (else 404): with a token, the request must carry ``Authorization: Bearer <token>`` (401
otherwise; compared in constant time); with networks (a list of CIDRs, or one string separated by
commas), the client address (after ``PROXY_FIX``) must be in one of them (403 otherwise). With
both, both apply.
"""
from __future__ import annotations

import hmac
import ipaddress
import logging
import os
import time

from flask import Flask
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest, multiprocess
from prometheus_client.core import GaugeMetricFamily

__all__ = ["ENDPOINT_KEY", "MetricsMiddleware", "check_access", "init_app", "metrics_networks", "render"]

log = logging.getLogger(__name__)

#: ``environ`` key where the application leaves the endpoint that served the request.
ENDPOINT_KEY = "comun.endpoint"
_METHODS = {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"}

REQUESTS = Counter("comun_http_requests", "HTTP requests answered, by Flask endpoint.",
                   ["method", "endpoint", "status"], registry=None)
LATENCY = Histogram("comun_http_request_duration_seconds", "Time to answer a request, by Flask endpoint (seconds).",
                    ["method", "endpoint"], registry=None,
                    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0))
PAGE_CACHE = Counter("comun_page_cache_requests", "Anonymous pages answered from the page cache (hit) or "
                     "rendered and stored (miss).", ["result"], registry=None)


def _multiprocess_dir() -> str | None:
    return os.environ.get("PROMETHEUS_MULTIPROC_DIR") or None


def metrics_networks(config) -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    """The parsed ``METRICS_ALLOWED_NETWORKS`` (list of CIDRs or one comma-separated string).

    Raises:
        comun_cms.config.ConfigError: an entry is not an address or a network, named.
    """
    from comun_cms.config import ConfigError

    value = config.get("METRICS_ALLOWED_NETWORKS") or []
    if isinstance(value, str):
        value = [v for v in (p.strip() for p in value.split(",")) if v]
    networks = []
    for entry in value:
        try:
            networks.append(ipaddress.ip_network(str(entry), strict=False))
        except ValueError:
            raise ConfigError(f"METRICS_ALLOWED_NETWORKS: '{entry}' is not an IP address or network "
                              "(e.g. 10.0.0.0/8)") from None
    return networks


def check_access(app: Flask, environ: dict) -> int:
    """The status a ``/metrics`` request gets before any metric is read: 200 (allowed), 401 (no
    or wrong token), 403 (address not allowed) or 404 (metrics not enabled). See the module
    docstring."""
    token = app.config.get("METRICS_TOKEN")
    networks = metrics_networks(app.config)
    if not token and not networks:
        return 404
    if networks:
        try:
            address = ipaddress.ip_address(environ.get("REMOTE_ADDR", ""))
        except ValueError:
            return 403
        if not any(address in net for net in networks):
            return 403
    if token:
        scheme, _, given = environ.get("HTTP_AUTHORIZATION", "").partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(given.strip().encode(), str(token).encode()):
            return 401
    return 200


class _OutboxCollector:
    """Reads the outboxes' figures from the database at scrape time (one process answers the
    scrape: these are not per-worker values)."""

    def __init__(self, app: Flask):
        self.app = app

    def collect(self):
        from comun_cms.extensions import db
        from comun_cms.health import outbox_stats

        up = GaugeMetricFamily("comun_database_up", "1 if the database answered the outbox queries of this scrape.")
        try:
            with self.app.app_context():
                stats = outbox_stats(self.app)
                db.session.remove()
        except Exception as exc:
            log.warning("metrics: outbox figures unavailable: %s", exc)
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up
        backlog = GaugeMetricFamily("comun_outbox_backlog", "Rows waiting in an outbox.", labels=["outbox"])
        due = GaugeMetricFamily("comun_outbox_due", "Rows of an outbox that are due now.", labels=["outbox"])
        age = GaugeMetricFamily("comun_outbox_oldest_due_age_seconds", "Seconds the oldest due row has waited.",
                                labels=["outbox"])
        for s in stats:
            backlog.add_metric([s.name], s.backlog)
            due.add_metric([s.name], s.due)
            age.add_metric([s.name], s.oldest_due_age)
        failed = GaugeMetricFamily("comun_mail_failed", "Mail messages given up after their last attempt.")
        failed.add_metric([], stats[0].failed)
        yield from (backlog, due, age, failed)


def render(app: Flask) -> tuple[bytes, str]:
    """The metrics in Prometheus's text exposition format: ``(body, content type)``. In
    multiprocess mode the request metrics of every worker are added up."""
    registry = CollectorRegistry()
    folder = _multiprocess_dir()
    if folder:
        multiprocess.MultiProcessCollector(registry, path=folder)
    else:
        for metric in (REQUESTS, LATENCY, PAGE_CACHE):
            registry.register(metric)
    registry.register(_OutboxCollector(app))
    return generate_latest(registry), CONTENT_TYPE_LATEST


class MetricsMiddleware:
    """WSGI middleware that counts and times every request (see the module docstring). The
    endpoint label is what the application left in ``environ[ENDPOINT_KEY]``."""

    def __init__(self, wsgi_app):
        self.wsgi_app = wsgi_app

    def __call__(self, environ, start_response):
        start = time.perf_counter()
        seen: dict[str, str] = {}

        def _start_response(status, headers, exc_info=None):
            seen["status"] = status.split(" ", 1)[0]
            for name, value in headers:
                if name.lower() == "x-page-cache":
                    seen["cache"] = value
            return start_response(status, headers, exc_info)

        try:
            return self.wsgi_app(environ, _start_response)
        except BaseException:
            seen.setdefault("status", "500")
            raise
        finally:
            method = environ.get("REQUEST_METHOD", "GET").upper()
            method = method if method in _METHODS else "other"
            endpoint = environ.get(ENDPOINT_KEY) or "<unmatched>"
            REQUESTS.labels(method, endpoint, seen.get("status", "500")).inc()
            LATENCY.labels(method, endpoint).observe(time.perf_counter() - start)
            if seen.get("cache") in ("hit", "miss"):
                PAGE_CACHE.labels(seen["cache"]).inc()


def init_app(app: Flask) -> None:
    """Check the metrics settings (:func:`metrics_networks`) and make every request leave its
    endpoint in ``environ[ENDPOINT_KEY]`` for :class:`MetricsMiddleware`."""
    from flask import request

    metrics_networks(app.config)

    @app.teardown_request
    def _note_endpoint(exc):
        request.environ[ENDPOINT_KEY] = request.endpoint or "<unmatched>"
