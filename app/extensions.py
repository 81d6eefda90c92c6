"""Flask extension singletons, initialised in create_app."""

from collections.abc import Callable

from flask import current_app, request
from flask_babel import Babel
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_wtf.csrf import CSRFProtect

from app.db import db

migrate = Migrate()
login_manager = LoginManager()
csrf = CSRFProtect()
babel = Babel()

_SAFE = frozenset({"GET", "HEAD"})


def unlimited_read(view: Callable) -> Callable:
    """Mark a public, cached read (e.g. the live board every venue screen polls every 1–2 s) as exempt from rate
    limiting: its GET/HEAD requests skip the limiter's per-request bookkeeping. Writes are never exempt."""
    view._unlimited_read = True  # type: ignore[attr-defined]
    return view


def is_unlimited_read() -> bool:
    """Whether the current request is a GET/HEAD of a view marked ``unlimited_read``."""
    if request.method not in _SAFE:
        return False
    view = current_app.view_functions.get(request.endpoint or "")
    view_class = getattr(view, "view_class", None)  # flask-smorest / MethodView routes
    if view_class is not None:
        view = getattr(view_class, "get", None)
    return bool(getattr(view, "_unlimited_read", False))


class AppLimiter(Limiter):
    """Flask-Limiter whose per-request check (a before_request hook, ~0.1 ms even with no limit to apply) is
    skipped for ``unlimited_read`` views; limits declared on a view are still checked by their decorator."""

    def _check_request_limit(self, callable_name: str | None = None, in_middleware: bool = True) -> None:
        if in_middleware and is_unlimited_read():
            return
        super()._check_request_limit(callable_name, in_middleware)


limiter = AppLimiter(key_func=get_remote_address, default_limits=[])


def configured_limit(name: str) -> Callable[[], str]:
    """A limit read from the app's configuration ``name`` when a request is checked (so a test or an installation
    can change it): ``@limiter.limit(configured_limit("LOGIN_RATE_LIMIT"))``."""

    def limit() -> str:
        return current_app.config[name]

    limit.__name__ = f"configured_limit_{name.lower()}"
    return limit

__all__ = ["db", "migrate", "login_manager", "csrf", "babel", "limiter", "configured_limit", "unlimited_read"]
