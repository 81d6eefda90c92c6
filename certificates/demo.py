"""Demo certificates for a newcomer (called by ``app.demo.load_demo`` after the demo competitions).

The union's default templates (one per kind) and, for the **published** demo competition, the certificates
the organizer would issue from its results — award certificates for the awardees, participation certificates
for the others — issued through the same rows as "issue certificates for this competition"
(``certificates.services.from_results.plan``) and ``issue_certificate``, as the demo organizer. They are issued
directly, not through a background batch, so ``flask --app wsgi demo`` stays fast and all-or-nothing; the PDFs
are rendered on first download. A newcomer logs in as ``worker1`` (张帅坤, an entrant), opens "My certificates",
downloads the PDF and opens its verification page at once.

Idempotent like the rest of the demo: ``load_demo`` calls this only when it creates the demo data, and issuing
is idempotent anyway (one live certificate per holder, subject and kind).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import select

from app.accounts.models import User
from app.db import db

if TYPE_CHECKING:
    from app.demo import DemoContext


def load_certificates(context: DemoContext) -> int:
    """Default templates + the published competition's certificates; returns how many were issued."""
    from certificates.services.from_results import plan
    from certificates.services.issuance import issue_certificate
    from certificates.services.templates import ensure_default_templates
    from competitions.demo import WELDING, acting_as
    from competitions.models import Competition

    ensure_default_templates()
    organizer = db.session.scalars(select(User).where(User.username == "organizer")).first()
    competition_id = db.session.scalar(select(Competition.id).where(Competition.name == WELDING,
                                                                    Competition.status == "published"))
    if organizer is None or competition_id is None:
        return 0
    created = 0
    with acting_as(organizer):
        for row in plan(organizer, competition_id)["rows"]:
            if row["state"] != "ok":
                continue
            result = issue_certificate(
                organizer, kind=row["kind"], worker_id=row["worker_id"], subject_key=row["subject_key"],
                achievement=row["achievement"], details=row["details"], competition_id=competition_id,
            )
            created += int(result.created)
    return created
