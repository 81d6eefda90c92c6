"""Audit: the append-only, hash-chained log of logins, role changes, worker changes and imports."""

from flask_babel import lazy_gettext as _l

from app.accounts.models import Role
from app.domains import Area, Domain

DOMAIN = Domain(
    name="audit", package="app.audit", position=40,
    models=("app.audit.models",),
    blueprints=("app.audit.views:bp",), api=(),
    areas=(Area("audit.log", _l("Audit log"), _l("Every login, role change, worker change and import"), (Role.ADMIN,),
                position=910),),
    commands=("app.audit.cli:audit",),
)
