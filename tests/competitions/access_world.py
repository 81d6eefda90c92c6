"""Objects and URL arguments of competition routes for the route × role matrix (tests/app/test_access_matrix.py).

``extend(world)`` gets the matrix's world (users, ent_a, worker_a, competition, module, entry, aspect, args)
and adds what competition routes need; arguments in ``SCOPED_ARGS`` are objects of enterprise A, so HR of
enterprise B must get 403/404 on them.
"""

from __future__ import annotations

SCOPED_ARGS: tuple[str, ...] = ()


def extend(world: dict) -> None:
    pass
