"""Who may use a route: every view declares it with one of these decorators.

``public``, ``login_required`` or ``roles_required(...)`` set ``view._access`` so a test can check that
every route declares its access and drive the role matrix. Browser sessions (Flask-Login) and personal
API tokens (``Authorization: Bearer …``, API paths only) both resolve to ``current_user``.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from functools import wraps
from typing import Any

from flask import g, redirect, request, url_for
from flask_login import current_user

from app.errors import PermissionDenied, wants_json


class Unauthenticated(PermissionDenied):
    status = 401
    code = "unauthorized"


def _declare(view: Callable, access: tuple[Any, ...]) -> Callable:
    view._access = access  # type: ignore[attr-defined]
    return view


def public(view: Callable) -> Callable:
    if inspect.ismethod(view):  # bound methods (e.g. flask-smorest's spec view) take no attributes
        bound = view

        @wraps(bound)
        def view(*args, **kwargs):
            return bound(*args, **kwargs)

    return _declare(view, ("public",))


def _require(roles: tuple[str, ...]) -> Callable[[Callable], Callable]:
    def decorator(view: Callable) -> Callable:
        @wraps(view)
        def wrapped(*args, **kwargs):
            if not current_user.is_authenticated:
                if wants_json():
                    from flask_babel import gettext as _

                    raise Unauthenticated(_("Please log in."))
                return redirect(url_for("accounts.login", next=request.full_path))
            if roles and not current_user.has_role(*roles):
                raise PermissionDenied()
            return view(*args, **kwargs)

        return _declare(wrapped, ("roles", roles) if roles else ("login",))

    return decorator


def login_required(view: Callable) -> Callable:
    return _require(())(view)


def roles_required(*roles: str) -> Callable[[Callable], Callable]:
    return _require(tuple(roles))


def authenticated_by_token() -> bool:
    return bool(g.get("api_token_id"))
