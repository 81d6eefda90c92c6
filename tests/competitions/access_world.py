"""Objects and URL arguments of competition routes for the route × role matrix (tests/app/test_access_matrix.py).

``extend(world)`` gets the matrix's world (users, ent_a, worker_a, competition, module, entry, aspect, args)
and adds what competition routes need; arguments in ``SCOPED_ARGS`` are objects of enterprise A, so HR of
enterprise B must get 403/404 on them.
"""

from __future__ import annotations

from app.db import db

SCOPED_ARGS: tuple[str, ...] = ("appeal_id",)


def extend(world: dict) -> None:
    from competitions.models import Appeal

    # An open appeal of enterprise A's entry (filed by A's HR) for the appeal routes.
    appeal = Appeal(entry_id=world["entry"].id, module_id=world["module"].id, filed_by_id=world["users"]["hr_a"].id,
                    text="评分有误，请复核。")
    db.session.add(appeal)
    db.session.flush()
    world["appeal"] = appeal
    world["args"]["appeal_id"] = appeal.id
