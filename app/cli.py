"""The shell's Flask CLI commands: ``demo`` (idempotent demo data), ``jobs`` and ``backup``. Domains add their own
commands (``app.domains``: ``audit verify``, ``certs …``)."""

from __future__ import annotations

import sys

import click
from flask import Flask


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

    from app.backup import backup_cli
    from app.jobs import jobs_cli

    app.cli.add_command(jobs_cli)
    app.cli.add_command(backup_cli)
