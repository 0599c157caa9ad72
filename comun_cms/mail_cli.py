"""``comun mail`` commands: ``worker``, ``status``, ``retry``."""
from __future__ import annotations

import signal

import click
from flask.cli import with_appcontext

from comun_cms import mail, subscriptions

__all__ = ["mail_group"]


@click.group("mail")
def mail_group() -> None:
    """Outgoing e-mail (the outbox and its worker)."""


@mail_group.command("worker")
@click.option("--once", is_flag=True, help="Queue the subscription digests that are due, deliver what is due, and exit.")
@click.option("--interval", default=1.0, show_default=True, type=click.FloatRange(0.05, 60),
              help="Seconds between polls.")
@with_appcontext
def worker_cmd(once: bool, interval: float) -> None:
    """Deliver queued e-mail with retries, and queue subscription digests (started by `comun run`)."""
    if once:
        digests, _items = subscriptions.run_digest()
        sent = failed = 0
        while True:   # every batch that is due now (a batch is at most 100 messages)
            n, f = mail.deliver_due()
            sent, failed = sent + n, failed + f
            if n == 0:
                break
        click.echo(f"{sent} sent, {failed} failed attempt(s).")
        if digests:
            click.echo(f"{digests} subscription digest(s) queued.")
        return
    stopping = {"flag": False}

    def stop(*_):
        stopping["flag"] = True
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    mail.run_worker(interval=interval, stop=lambda: stopping["flag"], tick=subscriptions.digest_tick)


@mail_group.command("status")
@with_appcontext
def status_cmd() -> None:
    """Count the outbox's messages by status."""
    for status, n in mail.outbox_counts().items():
        click.echo(f"{status}: {n}")


@mail_group.command("retry")
@with_appcontext
def retry_cmd() -> None:
    """Queue again every message that failed after its last attempt."""
    click.echo(f"{mail.retry_failed()} message(s) queued again.")
