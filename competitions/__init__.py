"""Competitions: marking schemes, registration, blind live judging, results, awards and the live board.

HTML pages live in ``competitions/views/<area>.py`` (templates under ``templates/competitions/<area>/``),
the JSON API in ``competitions/api/<area>.py``; both call ``competitions/services/<area>.py``.
"""


def register(app, api) -> None:
    from app.blueprints import register_domain

    register_domain(app, api, "competitions")
