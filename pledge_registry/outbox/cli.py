"""`flask outbox deliver` and `flask outbox status`."""

from __future__ import annotations

import signal
import time
from types import FrameType

import click
from flask import current_app
from flask.cli import AppGroup

from ..extensions import db

outbox_cli = AppGroup("outbox", help="Deliver queued text messages and e-mails.")


@outbox_cli.command("deliver")
@click.option("--once", "mode", flag_value="once", default=True,
              help="Deliver what is due now, then exit (the default; for cron).")
@click.option("--loop", "mode", flag_value="loop", help="Keep delivering until stopped (for a service).")
@click.option("--interval", type=click.FloatRange(min=0.5), default=10.0, show_default=True,
              help="Seconds to wait in --loop mode when nothing is due.")
@click.option("--retry-failed", is_flag=True,
              help="First put messages that failed for good back in the queue.")
def deliver(mode: str, interval: float, retry_failed: bool) -> None:
    """Send due outbox messages through OUTBOX_BACKEND, with retries and backoff."""
    from .backends import from_config
    from .delivery import deliver_due
    from .delivery import retry_failed as requeue

    try:
        backend = from_config(current_app.config)
    except ValueError as err:
        raise click.ClickException(str(err)) from err
    if retry_failed:
        click.echo(f"{requeue()} failed message(s) queued again.")
    stopping = False

    def _stop(_signum: int, _frame: FrameType | None) -> None:
        nonlocal stopping
        stopping = True

    if mode == "loop":
        signal.signal(signal.SIGTERM, _stop)
        signal.signal(signal.SIGINT, _stop)
    total_sent = total_failed = 0
    while True:
        report = deliver_due(backend)
        db.session.remove()
        total_sent += report.sent
        total_failed += report.failed
        if report.retrying or report.failed:
            click.echo(f"{report.sent} sent, {report.retrying} to retry, {report.failed} failed.", err=True)
        if stopping:
            break
        if report.claimed:
            continue  # more may be due: take the next batch at once
        if mode == "once":
            break
        slept = 0.0
        while slept < interval and not stopping:
            time.sleep(0.5)
            slept += 0.5
        if stopping:
            break
    click.echo(f"{total_sent} message(s) sent, {total_failed} failed for good.")


@outbox_cli.command("status")
def status() -> None:
    """How many messages are pending, sent and failed."""
    from .delivery import counts

    found = counts()
    for name in ("pending", "sent", "failed"):
        click.echo(f"{name:8} {found.get(name, 0)}")
