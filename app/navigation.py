"""The signed-in user's areas of the app: the header's links and the start page's tiles, from one list.

Why one list: the start page had its own copy of the header's links, and it fell behind as the app grew. An
organizer's start page offered enterprises, chains and trades but not competitions or certificates. A judge's
offered a tile that said "your competitions will appear here" and linked nowhere. A new area is added here, with
the roles that see it, and shows in both places.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask_babel import lazy_gettext as _l

from app.accounts.models import Role


@dataclass(frozen=True)
class Area:
    endpoint: str
    label: str  # the header's link
    blurb: str  # the start page's tile: what is there
    roles: tuple[str, ...]  # who sees it (any of them)
    title: str | None = None  # the tile's heading, where the header's short label is not enough

    @property
    def heading(self) -> str:
        return self.title or self.label


_MANAGERS = (Role.ORGANIZER, Role.ADMIN)

AREAS: tuple[Area, ...] = (
    Area("competitions_setup.index", _l("Competitions"),
         _l("Competitions, marking schemes, judges, draws and published results"), _MANAGERS),
    Area("orgs.enterprises", _l("Enterprises"), _l("Register enterprises with their credit code"), _MANAGERS),
    Area("orgs.chains", _l("Industry chains"), _l("Chains and their member enterprises"), _MANAGERS),
    Area("people.trades", _l("Trades"), _l("The occupational catalogue"), _MANAGERS),
    Area("people.workers", _l("Workers"), _l("Workers of your enterprise"), (Role.HR,)),
    Area("imports.upload", _l("Import"), _l("From XLSX or CSV, checked before anything is saved"), (Role.HR,),
         title=_l("Import workers")),
    Area("competitions_registration.index", _l("Registrations"),
         _l("Register your workers for competitions, follow their entries, file appeals"), (Role.HR,)),
    Area("competitions_judging.index", _l("Judging"),
         _l("The modules you judge: enter marks by entrant code, also offline; chief judges sign off"), (Role.JUDGE,)),
    Area("certificates_issue.index", _l("Certificates"),
         _l("Issue certificates one by one or from a file, and revoke them"), (*_MANAGERS, Role.HR)),
    Area("people.me", _l("My profile"), _l("Your data and what you allow to be public"), (Role.WORKER,)),
    Area("certificates_my.index", _l("My certificates"),
         _l("Download your certificates; anyone can check them by their verification link"), (Role.WORKER,)),
    Area("accounts.users", _l("Users"), _l("Accounts and roles"), (Role.ADMIN,)),
    Area("audit.log", _l("Audit log"), _l("Every login, role change, worker change and import"), (Role.ADMIN,)),
)


def areas_for(user) -> list[tuple[Area, str]]:
    """The areas ``user`` sees, in the header's order, with their addresses (an area whose page this build does
    not have is left out)."""
    from app import url_for_optional

    if user is None or not user.is_authenticated:
        return []
    found = []
    for area in AREAS:
        if user.has_role(*area.roles):
            url = url_for_optional(area.endpoint)
            if url is not None:
                found.append((area, url))
    return found
