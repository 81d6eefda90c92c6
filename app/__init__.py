"""Jiangxin application factory. ``create_app`` has no side effects beyond building the app."""

from __future__ import annotations

import logging
import os
import re
import threading
from datetime import UTC, datetime

from babel import support
from flask import Flask, g, request
from flask.sessions import SecureCookieSessionInterface
from flask_babel import Domain, get_locale
from flask_babel import lazy_gettext as _l
from flask_login import AnonymousUserMixin
from sqlalchemy.exc import OperationalError

from app.config import Config, config_from_env
from app.db import sqlite_begin_mode, utcnow
from app.errors import retry_later
from app.extensions import babel, csrf, db, limiter, login_manager, migrate
from app.http import JiangxinFlask

__version__ = "0.1.0"


class TranslationDomain(Domain):
    """Finds translations/zh_CN for the zh_CN locale.

    Babel parses "zh_CN" into zh_Hans_CN (it adds the likely script), and gettext then looks only for
    translations/zh_Hans_CN and translations/zh, so the Chinese catalogue would silently never load.
    """

    def get_translations(self):
        from flask import has_app_context

        if not has_app_context():
            return support.NullTranslations()
        locale = get_locale()
        key = (str(locale), self.domain[0])
        if key not in self.cache:
            names = [str(locale)]
            if locale.territory:
                names.append(f"{locale.language}_{locale.territory}")
            names.append(locale.language)
            translations = support.Translations()
            for dirname in self.translation_directories:
                catalog = support.Translations.load(dirname, names, self.domain[0])
                translations.merge(catalog)
                if hasattr(catalog, "plural"):
                    translations.plural = catalog.plural
            self.cache[key] = translations
        return self.cache[key]


SOURCE_LANGUAGE = "en"  # the language of the messages in the code: it needs no catalogue


class CataloguesMissing(RuntimeError):
    """A language's compiled catalogue is missing: the app would silently speak English instead."""


def check_catalogues(directory: str, languages) -> None:
    """Stop the start when a language other than the source one has no compiled catalogue (``messages.mo``, made by
    ``make translations``): every page would fall back to English without a word."""
    missing = [lang for lang in languages if lang != SOURCE_LANGUAGE
               and not os.path.isfile(os.path.join(directory, lang, "LC_MESSAGES", "messages.mo"))]
    if missing:
        raise CataloguesMissing(
            f"the translations of {', '.join(missing)} are not compiled ({directory}/<language>/LC_MESSAGES/"
            "messages.mo is missing): run `make translations` (pybabel compile -d app/translations) first")


def select_locale() -> str:
    from flask import current_app, has_request_context

    languages = current_app.config["LANGUAGES"]
    if not has_request_context():  # CLI commands and jobs: services still build translated messages
        return current_app.config["BABEL_DEFAULT_LOCALE"]
    lang = request.cookies.get("lang")
    if lang in languages:
        return lang
    return request.accept_languages.best_match(languages) or current_app.config["BABEL_DEFAULT_LOCALE"]


def current_language() -> str:
    """The active entry of LANGUAGES ("zh_CN" or "en"), whatever script Babel added to the locale."""
    from flask import current_app
    from flask_babel import get_locale as babel_locale

    locale = babel_locale()
    for code in current_app.config["LANGUAGES"]:
        if code.split("_")[0] == locale.language:
            return code
    return current_app.config["BABEL_DEFAULT_LOCALE"]


def url_for_optional(endpoint: str, **values) -> str | None:
    """``url_for`` for a page that may not exist in this build (templates hide the link when None)."""
    from flask import url_for
    from werkzeug.routing import BuildError

    try:
        return url_for(endpoint, **values)
    except BuildError:
        return None


class SessionInterface(SecureCookieSessionInterface):
    """Flask's signed-cookie sessions, without building a signer for a request that sends no session cookie (API
    scripts with a Bearer token, first visits) nor working out cookie settings to save a session that is empty and
    unchanged: same sessions, same cookies, same ``Vary: Cookie``.

    A response its view made public (``Cache-Control: public``: the live board) is the same for every visitor, so
    the session adds no ``Vary: Cookie`` to it (Flask marks the session accessed whenever anything looks at it, as
    Flask-Login's after-request hook does on every request); the view names what it varies on. Should such a
    response have to set the session cookie after all, it is made private: a shared cache never keeps a cookie."""

    def open_session(self, app, request):
        if app.secret_key and not request.cookies.get(self.get_cookie_name(app)):
            return self.session_class()
        return super().open_session(app, request)

    def save_session(self, app, session, response):
        public = _PUBLIC.search(response.headers.get("Cache-Control", "")) is not None
        if public:
            if not session.modified:
                return
            response.cache_control.public = False
            response.cache_control.private = True
        if not session and not session.modified:
            if session.accessed:
                response.vary.add("Cookie")
            return
        super().save_session(app, session, response)


_PUBLIC = re.compile(r"(?:^|,)\s*public\s*(?:,|$)", re.IGNORECASE)  # the "public" directive of a Cache-Control value


class Anonymous(AnonymousUserMixin):
    roles: list = []
    role_names: set = set()
    hr_enterprise_ids: set = set()
    worker_id = None

    def has_role(self, *roles: str) -> bool:
        return False


def create_app(config: Config | None = None) -> Flask:
    config = config or config_from_env()
    app = JiangxinFlask(__name__, instance_path=str(config.INSTANCE_PATH), instance_relative_config=False)
    app.config.from_object(config)
    app.session_interface = SessionInterface()
    if app.config.get("PROXY_FIX_X_FOR"):
        # Behind nginx: ``request.remote_addr`` is the client's address from X-Forwarded-For (as many hops as there
        # are trusted proxies), not the proxy's. It rewrites that one value; every request still goes to Flask.
        from werkzeug.middleware.proxy_fix import ProxyFix

        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=int(app.config["PROXY_FIX_X_FOR"]), x_proto=0)
    # JSON bodies carry Chinese as UTF-8 characters, not \uXXXX escapes: a third of the bytes for names and
    # messages, readable in logs and curl, and a test that looks for a name in a body sees what a reader sees.
    app.json.ensure_ascii = False

    from app.models import import_all_models

    import_all_models()
    db.init_app(app)
    migrate.init_app(app, db, directory=str(app.root_path + "/../migrations"), render_as_batch=True)
    csrf.init_app(app)
    babel.init_app(app, locale_selector=select_locale, default_translation_directories="translations")
    babel.domain_instance = TranslationDomain()
    app.config["BABEL_TRANSLATION_DIRECTORIES"] = app.root_path + "/translations"
    check_catalogues(app.config["BABEL_TRANSLATION_DIRECTORIES"], app.config["LANGUAGES"])
    limiter.init_app(app)
    _warn_of_a_per_process_limiter(app)
    _init_login(app)

    from app.errors import register_error_handlers
    from app.security import init_security_headers

    register_error_handlers(app)
    init_security_headers(app)
    _init_request_hooks(app)
    _register_blueprints(app)

    from app.cli import register_cli

    register_cli(app)
    logging.getLogger("jiangxin").setLevel(logging.INFO)
    return app


PER_PROCESS_LIMITER = (
    "The rate limiter keeps its counts in each process (RATELIMIT_STORAGE_URI %s) while several processes serve this "
    "app (wsgi.multiprocess, e.g. gunicorn -w 2): each process allows the whole LOGIN_RATE_LIMIT per address. Set "
    "REDIS_URL so that they share one count. (Guessing one account's password is throttled in the database "
    "regardless.)")


def _warn_of_a_per_process_limiter(app: Flask) -> None:
    """Log a warning when Flask-Limiter counts in memory and the server runs several processes of the app. Only the
    server knows how many there are, and it says so in each request's WSGI environment (``wsgi.multiprocess``:
    gunicorn sets it when it has more than one worker), so the first request of each process looks, once (a
    before-request hook: every request goes through Flask; after the first it only tests a flag)."""
    storage = str(app.config.get("RATELIMIT_STORAGE_URI") or "memory://")
    if not storage.startswith("memory://"):
        return
    looked = threading.Event()
    lock = threading.Lock()

    @app.before_request
    def _look_at_the_server_once() -> None:
        if looked.is_set():
            return
        with lock:
            if looked.is_set():
                return
            looked.set()
        if request.environ.get("wsgi.multiprocess"):
            app.logger.warning(PER_PROCESS_LIMITER, storage)


def _init_login(app: Flask) -> None:
    from app.accounts.services import token_login
    from app.accounts.sessions import load_user

    login_manager.init_app(app)
    login_manager.login_view = "accounts.login"
    login_manager.login_message = _l("Please log in.")
    login_manager.session_protection = app.config["SESSION_PROTECTION"]
    login_manager.anonymous_user = Anonymous

    login_manager.user_loader(load_user)  # a session holds until its logout, its user's generation, 31 days

    @login_manager.request_loader
    def load_from_token(req):
        # Personal API tokens act on /api/ paths only (a page never takes one).
        if not req.path.startswith("/api/"):
            return None
        found = token_login(req.headers.get("Authorization"))
        if found is None:
            return None
        g.api_token_id = found.token_id
        if found.note_use:
            g.api_token_use = found.token_id  # noted after the request's commit (``_note_token_use``), once an hour
        return found.user


SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def _init_request_hooks(app: Flask) -> None:
    @app.before_request
    def _begin_mode():
        # Reads never take SQLite's write lock; writes take it up front (see app.db).
        g._begin_token = sqlite_begin_mode.set("DEFERRED" if request.method in SAFE_METHODS else "IMMEDIATE")

    @app.teardown_request
    def _reset_begin_mode(exc):
        token = g.pop("_begin_token", None)
        if token is not None:
            sqlite_begin_mode.reset(token)

    @app.after_request
    def _note_token_use(resp):
        # Runs after ``_commit`` (after_request hooks run last-registered first), in a transaction of its own: a
        # token's "last used" (at most once an hour per token, see ``load_from_token``). Never fails the request.
        token_id = g.pop("api_token_use", None)
        if token_id is None or resp.status_code >= 400:
            return resp
        from app.accounts.services import note_token_use

        mode = sqlite_begin_mode.set("IMMEDIATE")
        try:
            note_token_use([token_id], utcnow())
            db.session.commit()
        except Exception:  # noqa: BLE001 - a note about a token is not worth a failed request
            db.session.rollback()
            app.logger.warning("could not note the use of API token %s", token_id, exc_info=True)
        finally:
            sqlite_begin_mode.reset(mode)
        return resp

    @app.after_request
    def _commit(resp):
        # One commit per request: services only flush. Failed responses roll back — unless the view marked its
        # refusal as a fact to keep (``app.errors.keep_refusal``: a wrong password's audited, counted failure). A
        # request that never used the session (e.g. a cached public read) or has nothing open skips it: no session
        # is made just to end.
        if not db.session.registry.has():
            return resp
        session = db.session()
        if resp.status_code >= 400 and not g.get("keep_refusal"):
            session.rollback()
        elif session.in_transaction() or session.new or session.dirty or session.deleted:
            try:
                session.commit()
            except OperationalError as exc:  # the database went away (or was busy) at the COMMIT itself
                refused = retry_later(exc)
                if refused is None:
                    raise
                return app.make_response(refused)
        return resp

    from app.navigation import areas_for, public_areas

    @app.context_processor
    def _globals():
        return {"current_locale": current_language(), "now_year": datetime.now(UTC).year,
                "url_for_optional": url_for_optional, "nav_areas": areas_for, "public_areas": public_areas}


def _register_blueprints(app: Flask) -> None:
    from app.api import init_api
    from app.auth import public
    from app.domains import domains
    from app.views import bp as core_bp

    api = init_api(app)
    app.register_blueprint(core_bp)
    app.view_functions["static"] = public(app.view_functions["static"])
    for domain in domains():  # the shell names no domain: each registers itself (app.domains)
        domain.register(app, api)
