"""Accounts: users, scoped roles, login and personal API tokens."""

from flask_babel import lazy_gettext as _l

from app.accounts.models import Role
from app.domains import Area, Domain

DOMAIN = Domain(
    name="accounts", package="app.accounts", position=10,
    models=("app.accounts.models",),
    blueprints=("app.accounts.views:bp",), api=("app.accounts.api:blp",),
    areas=(Area("accounts.users", _l("Users"), _l("Accounts and roles"), (Role.ADMIN,), position=900),),
    commands=("app.accounts.cli:users",),
)
