"""Competitions: marking schemes, registration, blind live judging, results, awards and the live board.

HTML pages live in ``competitions/views/<area>.py`` (templates under ``templates/competitions/<area>/``),
the JSON API in ``competitions/api/<area>.py``; both call ``competitions/services/<area>.py``.
"""


from flask_babel import lazy_gettext as _l

from app.accounts.models import MANAGERS, Role
from app.domains import Area, Domain

DOMAIN = Domain(
    name="competitions", package="competitions", position=100,
    models=("competitions.models",),
    areas=(
        Area("competitions_setup.index", _l("Competitions"),
             _l("Competitions, marking schemes, judges, draws and published results"), MANAGERS, position=100),
        Area("competitions_registration.index", _l("Registrations"),
             _l("Register your workers for competitions, follow their entries, file appeals"), (Role.HR,),
             position=400),
        Area("competitions_judging.index", _l("Judging"),
             _l("The modules you judge: enter marks by entrant code, also offline; chief judges sign off"),
             (Role.JUDGE,), position=500),
        Area("competitions_board.index", _l("Live boards"),
             _l("Running totals during an event; results once published"), None, position=1000),
    ),
    demo="competitions.demo:load_competitions",
    requires=("accounts", "orgs", "people", "audit"),
)
