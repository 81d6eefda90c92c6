"""Organizations: enterprises (with 统一社会信用代码) and industry chains."""

from flask_babel import lazy_gettext as _l

from app.accounts.models import MANAGERS
from app.domains import Area, Domain

DOMAIN = Domain(
    name="orgs", package="app.orgs", position=20,
    models=("app.orgs.models",),
    blueprints=("app.orgs.views:bp",), api=("app.orgs.api:blp",),
    areas=(
        Area("orgs.enterprises", _l("Enterprises"), _l("Register enterprises with their credit code"), MANAGERS,
             position=200),
        Area("orgs.chains", _l("Industry chains"), _l("Chains and their member enterprises"), MANAGERS, position=210),
    ),
    requires=("accounts",),
)
