"""``flask --app wsgi audit verify``: check every stream's hash chain of the audit log."""

from __future__ import annotations

import sys

import click
from flask.cli import AppGroup

audit = AppGroup("audit", help="The audit log.")


@audit.command("verify")
def verify() -> None:
    """Verify every stream's hash chain of the audit log; exit 1 if any entry was altered or removed."""
    from app.audit.services import verify_chain

    count, problems = verify_chain()
    for p in problems:
        click.echo(f"stream {p.stream}, entry {p.seq}: {p.reason} mismatch", err=True)
    if problems:
        click.echo(f"audit chain BROKEN: {len(problems)} problem(s) in {count} entries", err=True)
        sys.exit(1)
    click.echo(f"audit chain OK: {count} entries")
