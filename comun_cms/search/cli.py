"""``comun search`` commands: ``reindex``, ``worker``, ``check``."""
from __future__ import annotations

import signal

import click
from flask.cli import with_appcontext

from comun_cms.cli_options import tenant_option
from comun_cms.search.service import get_search
from comun_cms.tenancy import Tenant

__all__ = ["search_group"]


@click.group("search")
def search_group() -> None:
    """Full-text search index."""


@search_group.command("reindex")
@tenant_option(help="Only this tenant's documents.")
@click.option("--quiet", is_flag=True, help="No progress output.")
@with_appcontext
def reindex_cmd(tenant: Tenant | None, quiet: bool) -> None:
    """Rebuild the index from the database (built aside and swapped in atomically)."""
    tenants = [tenant] if tenant is not None else None
    service = get_search()
    if quiet:
        n = service.reindex(tenants)
    else:
        with click.progressbar(length=0, label="Indexing", show_pos=True) as bar:
            def progress(count: int) -> None:
                bar.length = max(bar.length or 0, count)
                bar.update(1)
            n = service.reindex(tenants, progress=progress)
    if not quiet:
        click.echo(f"{n} documents indexed.")


@search_group.command("worker")
@click.option("--once", is_flag=True, help="Drain the outbox once and exit.")
@click.option("--interval", default=0.5, show_default=True, type=click.FloatRange(0.05, 60), help="Seconds between polls.")
@with_appcontext
def worker_cmd(once: bool, interval: float) -> None:
    """Run the single search indexer: apply queued publications to the index."""
    service = get_search()
    if once:
        click.echo(f"{service.drain_outbox()} change(s) applied.")
        return
    stopping = {"flag": False}

    def stop(*_):
        stopping["flag"] = True
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    service.ensure_ready()
    service.run_worker(interval=interval, stop=lambda: stopping["flag"])


@search_group.command("check")
@with_appcontext
def check_cmd() -> None:
    """Compare the index with the database; exit 1 if they differ."""
    report = get_search().check()
    for line in report.lines():
        click.echo(line)
    raise SystemExit(0 if report.ok else 1)
