"""Registers the blueprints of a domain package's ``views`` and ``api`` sub-packages.

Each module of ``<package>.views`` that defines ``bp`` (an HTML blueprint) and each module of
``<package>.api`` that defines ``blp`` (a flask-smorest blueprint) is registered, so adding a feature
area means adding one file, not editing a shared list.
"""

from __future__ import annotations

import importlib
import pkgutil


def _modules(package_name: str):
    try:
        package = importlib.import_module(package_name)
    except ModuleNotFoundError:
        return []
    return [importlib.import_module(f"{package_name}.{info.name}")
            for info in sorted(pkgutil.iter_modules(package.__path__), key=lambda i: i.name)]


def register_domain(app, api, package: str) -> None:
    """Every ``bp`` of ``<package>.views`` and every ``blp`` of ``<package>.api``, by module name."""
    register_listed(app, api, [m.bp for m in _modules(f"{package}.views") if getattr(m, "bp", None) is not None],
                    [m.blp for m in _modules(f"{package}.api") if getattr(m, "blp", None) is not None])


def register_listed(app, api, blueprints, api_blueprints) -> None:
    """Register the given HTML blueprints and flask-smorest API blueprints (a domain that lists its own)."""
    from app.extensions import csrf

    for bp in blueprints:
        app.register_blueprint(bp)
    for blp in api_blueprints:
        csrf.exempt(blp)  # the API checks CSRF itself for cookie clients (app.api)
        api.register_blueprint(blp)
