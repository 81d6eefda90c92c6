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
    from app.extensions import csrf

    for module in _modules(f"{package}.views"):
        bp = getattr(module, "bp", None)
        if bp is not None:
            app.register_blueprint(bp)
    for module in _modules(f"{package}.api"):
        blp = getattr(module, "blp", None)
        if blp is not None:
            csrf.exempt(blp)  # the API checks CSRF itself for cookie clients (app.api)
            api.register_blueprint(blp)
