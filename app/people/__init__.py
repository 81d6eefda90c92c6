"""People: workers, employments, transfers between employers, trades, consents, masking, and the bulk import."""

from flask_babel import lazy_gettext as _l

from app.accounts.models import MANAGERS, Role
from app.domains import Area, Domain

DOMAIN = Domain(
    name="people", package="app.people", position=30,
    models=("app.people.models",),
    blueprints=("app.people.views:bp", "app.people.imports.views:bp", "app.people.transfers.views:bp"),
    api=("app.people.api:blp", "app.people.imports.api:blp", "app.people.transfers.api:blp"),
    areas=(
        Area("people.trades", _l("Trades"), _l("The occupational catalogue"), MANAGERS, position=300),
        Area("people.workers", _l("Workers"), _l("Workers of your enterprise"), (Role.HR,), position=310),
        Area("imports.upload", _l("Import"), _l("From XLSX or CSV, checked before anything is saved"), (Role.HR,),
             position=320, title=_l("Import workers")),
        Area("people.me", _l("My profile"), _l("Your data and what you allow to be public"), (Role.WORKER,),
             position=700),
    ),
    requires=("accounts", "orgs"),
)
