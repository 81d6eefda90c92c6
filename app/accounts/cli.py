"""``flask --app wsgi users token USERNAME``: a personal API token for a script, made on the server by its operator
(who has the database anyway), so that no script scrapes the login form. The secret is printed once.

Operators read these before any page exists, like the other command-line messages: English.
"""

from __future__ import annotations

import click
from flask.cli import AppGroup

from app.accounts import services
from app.audit.services import record
from app.db import db

users = AppGroup("users", help="Accounts.")


@users.command("token")
@click.argument("username")
@click.option("--name", default="script", show_default=True, help="What the token is for (shown in its list).")
def token(username: str, name: str) -> None:
    """Create a personal API token for USERNAME and print its secret (shown once)."""
    user = services.user_by_username(username)
    if user is None or not user.is_enabled:
        raise click.ClickException(f"no enabled account named {username!r}")
    new = services.create_token(user, name)
    record("token_created_by_operator", new.token, {"name": new.token.name, "username": user.username})
    db.session.commit()
    click.echo(new.secret)
    click.echo(f"token {new.token.prefix}… for {user.username} ({new.token.name}); "
               "send it as 'Authorization: Bearer <token>'", err=True)
