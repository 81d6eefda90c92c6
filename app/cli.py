"""Flask CLI commands: ``demo`` (idempotent demo data) and ``audit verify``."""

from __future__ import annotations

import sys

import click
from flask import Flask
from flask.cli import AppGroup


def register_cli(app: Flask) -> None:
    @app.cli.command("demo")
    @click.option("--show-logins", is_flag=True, help="Only print the demo logins.")
    def demo(show_logins: bool) -> None:
        """Load the demo data set if the database is empty, and print the demo logins."""
        from app.db import db
        from app.demo import demo_logins, load_demo

        if not show_logins:
            created = load_demo()
            db.session.commit()
            click.echo("demo data loaded" if created else "demo data already present")
        logins = demo_logins()
        if not logins:
            click.echo("no demo data in this database", err=True)
            sys.exit(1)
        for role, username, password in logins:
            click.echo(f"login: {role} {username} {password}")

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

    app.cli.add_command(audit)

    from app.jobs import jobs_cli

    app.cli.add_command(jobs_cli)

    try:
        from certificates.cli import certs
    except ImportError:  # a build without the certificates package
        pass
    else:
        app.cli.add_command(certs)
