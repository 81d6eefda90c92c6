"""Competitions: marking schemes, registration, blind live judging, results, awards and the live board."""


def register(app, api) -> None:
    import importlib

    from app.extensions import csrf
    from competitions.api import AREAS

    for area in AREAS:
        blp = importlib.import_module(f"competitions.api.{area}").blp
        csrf.exempt(blp)
        api.register_blueprint(blp)
