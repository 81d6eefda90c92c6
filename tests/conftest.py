"""Test fixtures: one app per run, each test inside a rolled-back transaction, factories.

``TEST_DATABASE_URL`` selects PostgreSQL; by default a SQLite file in a temp dir (a file, not
``:memory:``, so WAL and the pragmas are the real ones). ``JIANGXIN_REQUIRE_ALL=1`` turns a skip for a
missing service (PostgreSQL, Redis, Chromium) into a failure.
"""

from __future__ import annotations

import itertools
import os
from datetime import date

import pytest
from flask_login.utils import _create_identifier
from flask_sqlalchemy.session import _app_ctx_id
from sqlalchemy import event, text
from sqlalchemy.orm import scoped_session, sessionmaker

from app import create_app
from app.accounts.models import Role, User, UserRole
from app.config import TestingConfig
from app.crypto import id_cipher
from app.db import db
from app.people.domain import id_check_char, uscc_check_char

REQUIRE_ALL = os.environ.get("JIANGXIN_REQUIRE_ALL") == "1"
WORKER = os.environ.get("PYTEST_XDIST_WORKER")  # "gw0", "gw1", … in a pytest-xdist worker; None in a plain run


def _worker_database(url: str) -> str:
    """Under pytest-xdist each worker has a PostgreSQL database of its own: ``<db>_<worker>`` on the same server
    (made by the ``database_url`` fixture). The environment follows, so whatever reads TEST_DATABASE_URL (the
    tests' config, tests building their own engines) uses this worker's database."""
    if not url or not WORKER:
        return url
    from sqlalchemy.engine import make_url

    base = make_url(url)
    own = base.set(database=f"{base.database}_{WORKER}").render_as_string(hide_password=False)
    os.environ["TEST_DATABASE_URL"] = own
    return own


POSTGRES_URL = _worker_database(os.environ.get("TEST_DATABASE_URL", ""))


def require(condition: bool, reason: str) -> None:
    """Skip locally when a service is missing; fail in CI (JIANGXIN_REQUIRE_ALL=1)."""
    if condition:
        return
    if REQUIRE_ALL:
        pytest.fail(f"required in CI but missing: {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def database_url(tmp_path_factory):
    """SQLite: a file in this process's temp dir (each xdist worker has its own). PostgreSQL: TEST_DATABASE_URL's
    database, or under xdist the worker's own one, dropped and created afresh here and dropped at the end."""
    if not POSTGRES_URL:
        yield f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.db'}"
    elif not WORKER:
        yield POSTGRES_URL
    else:
        _recreate_database(POSTGRES_URL)
        yield POSTGRES_URL
        _recreate_database(POSTGRES_URL, create=False)


def _recreate_database(url: str, create: bool = True) -> None:
    """Drop the database of ``url`` (closing its connections) and create it empty, through the server's
    maintenance database ``postgres``."""
    import psycopg
    from psycopg import sql
    from sqlalchemy.engine import make_url

    target = make_url(url)
    maintenance = target.set(drivername="postgresql", database="postgres").render_as_string(hide_password=False)
    with psycopg.connect(maintenance, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(target.database)))
        if create:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(target.database)))


def _fresh_g() -> None:
    """Start every request like production does: an empty ``g`` and the test's own data committed.

    A test keeps one app context pushed (it holds the rolled-back session) and Flask reuses it for each
    request, so ``g`` would carry the previous request's user (Flask-Login) and locale (Flask-Babel)
    into the next one; in production each request has its own app context and so its own ``g``.
    Committing here only releases the test's savepoint (the outer transaction is still rolled back at
    the end), so a request that fails and rolls back undoes its own work, not the test's set-up.
    """
    from flask import g

    for key in list(vars(g)):
        delattr(g, key)
    db.session.commit()


@pytest.fixture(scope="session")
def app(database_url, tmp_path_factory):
    config = TestingConfig(SQLALCHEMY_DATABASE_URI=database_url, INSTANCE_PATH=tmp_path_factory.mktemp("instance"),
                        LOGIN_RATE_LIMIT="1000 per minute")
    app = create_app(config)
    app.before_request_funcs.setdefault(None, []).insert(0, _fresh_g)
    with app.app_context():
        if db.engine.dialect.name == "postgresql":
            with db.engine.begin() as conn:
                conn.execute(text("DROP SCHEMA public CASCADE"))
                conn.execute(text("CREATE SCHEMA public"))
        db.create_all()
    yield app
    with app.app_context():
        db.engine.dispose()


@pytest.fixture(autouse=True)
def _transaction(request, app):
    """Every test runs in a transaction that is rolled back; requests commit to savepoints."""
    if "no_transaction" in request.keywords:
        yield
        return
    with app.app_context():
        conn = db.engine.connect()
        trans = conn.begin()
        original = db.session
        db.session = _SessionOfApp(app, scoped_session(
            sessionmaker(bind=conn, join_transaction_mode="create_savepoint"), scopefunc=_app_ctx_id
        ), original)
        try:
            yield
        finally:
            db.session.remove()
            db.session = original
            trans.rollback()
            conn.close()
            _forget_audit_anchor()
    from app.extensions import limiter

    limiter.reset()


class _SessionOfApp:
    """``db.session`` during a test: the test's app gets the session bound to the test's transaction; any other app
    keeps its own. ``db`` is one object for every app of the process, and a thread of another app may still run: a
    browser test's live-server board stream polls the database for up to a minute after its page closed. Given the
    test's connection, it used it from its own thread and its rollbacks undid the test's rows (seen in CI as an FK
    violation on user_role and as a trade that vanished between two requests of one test)."""

    def __init__(self, app, bound, original) -> None:
        self._app, self._bound, self._original = app, bound, original

    def _current(self):
        from flask import current_app, has_app_context

        if has_app_context() and current_app._get_current_object() is not self._app:
            return self._original
        return self._bound

    def __call__(self, *args, **kwargs):
        return self._current()(*args, **kwargs)

    def __getattr__(self, name):
        return getattr(self._current(), name)


def _forget_audit_anchor() -> None:
    """The audit anchor a test's ``audit verify`` wrote goes with the test's data (the instance directory is the
    run's)."""
    from app.audit.anchor import anchor_path

    anchor_path().unlink(missing_ok=True)


@pytest.fixture
def app_ctx(app):
    with app.app_context():
        yield


_seq = itertools.count(1)


def _uscc(n: int) -> str:
    body = f"91110000{n:09d}"[:17]
    return body + uscc_check_char(body)


def make_resident_id(n: int, born: date = date(1990, 1, 1)) -> str:
    body = f"110105{born:%Y%m%d}{n % 1000:03d}"
    return body + id_check_char(body)


@pytest.fixture
def create_enterprise(app):
    from app.orgs.models import Enterprise

    def make(**overrides):
        n = next(_seq)
        values = {"name": f"测试企业{n}", "uscc": _uscc(n), "region": "北京市"}
        values.update(overrides)
        ent = Enterprise(**values)
        db.session.add(ent)
        db.session.flush()
        return ent

    return make


@pytest.fixture
def create_trade(app):
    from app.people.models import Trade

    def make(**overrides):
        n = next(_seq)
        values = {"code": f"9-99-{n // 100:02d}-{n % 100:02d}", "name": f"测试工种{n}"}
        values.update(overrides)
        trade = Trade(**values)
        db.session.add(trade)
        db.session.flush()
        return trade

    return make


@pytest.fixture
def create_worker(app, create_enterprise):
    from app.people.models import Worker

    def make(**overrides):
        n = next(_seq)
        number = overrides.pop("id_number", None) or make_resident_id(n, date(1980 + n % 20, 1 + n % 12, 1 + n % 28))
        if "enterprise" not in overrides and "enterprise_id" not in overrides:
            overrides["enterprise"] = create_enterprise()
        cipher = id_cipher()
        values = {
            "name": f"工人{n}", "gender": "M", "birth_date": date(1990, 1, 1), "id_type": "resident",
            "id_hash": cipher.hash("resident", number), "id_last4": number[-4:], "id_encrypted": cipher.encrypt(number),
            "mobile": f"138{n:08d}"[:11],
        }
        values.update(overrides)
        worker = Worker(**values)
        db.session.add(worker)
        db.session.flush()
        return worker

    return make


FAST_HASH = None


@pytest.fixture
def create_user(app):
    """create_user("hr", enterprise=ent) / create_user("admin", "judge") / create_user("worker", worker=w)."""
    from argon2 import PasswordHasher

    global FAST_HASH
    if FAST_HASH is None:
        FAST_HASH = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1).hash("password-123")

    def make(*roles: str, enterprise=None, worker=None, username: str | None = None, password_hash: str | None = None):
        n = next(_seq)
        user = User(username=username or f"user{n}", display_name=f"用户{n}", password_hash=password_hash or FAST_HASH)
        for role in roles:
            user.roles.append(UserRole(role=role, enterprise_id=enterprise.id if role == Role.HR else None))
        if worker is not None:
            user.worker_id = worker.id
        db.session.add(user)
        db.session.flush()
        return user

    return make


@pytest.fixture
def client(app):
    return app.test_client()


def login_as(client, user) -> None:
    """Log a test client in as ``user`` without a password round trip: a session opened as the login view opens it
    (``app.accounts.sessions.log_in``), its row in the test's transaction."""
    from importlib.metadata import version

    from app.accounts.sessions import SESSION_KEY, open_session

    werkzeug_version = version("werkzeug")

    environ = {"REMOTE_ADDR": "127.0.0.1", "HTTP_USER_AGENT": f"Werkzeug/{werkzeug_version}"}  # as the test client
    with client.application.test_request_context(environ_base=environ):
        ident = _create_identifier()
    key = open_session(user, client.application.permanent_session_lifetime)
    with client.session_transaction() as sess:
        sess["_user_id"] = user.get_id()
        sess["_fresh"] = True
        sess["_id"] = ident
        sess[SESSION_KEY] = key


@pytest.fixture
def login():
    return login_as


def statements_run(fn) -> list[str]:
    """The SQL statements the session's engine sent to the database while ``fn()`` ran (cursor events)."""
    seen: list[str] = []

    def listener(conn, cursor, statement, *args):
        seen.append(statement)

    engine = db.session.get_bind()
    event.listen(engine, "before_cursor_execute", listener)
    try:
        fn()
    finally:
        event.remove(engine, "before_cursor_execute", listener)
    return seen


def csrf_token(client) -> str:
    """Fetch a CSRF token bound to the client's session."""
    resp = client.get("/login")
    import re

    return re.search(rb'name="csrf-token" content="([^"]+)"', resp.data).group(1).decode()


@pytest.fixture
def make_app(app, tmp_path_factory):
    """Build extra apps (own database, own config) inside a test; mark such tests ``no_transaction``.

    Flask-Limiter keeps one storage per Limiter object and ``init_app`` replaces it, so the session app
    gets its own limiter storage back when the test ends.
    """
    from app.extensions import limiter

    made = []

    def make(database_url: str, config=None, **overrides):
        if config is None:
            overrides.setdefault("INSTANCE_PATH", tmp_path_factory.mktemp("instance"))
            overrides.setdefault("LOGIN_RATE_LIMIT", "1000 per minute")
            config = TestingConfig(SQLALCHEMY_DATABASE_URI=database_url, **overrides)
        extra = create_app(config)
        made.append(extra)
        return extra

    yield make
    for extra in made:
        with extra.app_context():
            db.engine.dispose()
    if made:
        limiter.init_app(app)


# --- throwaway databases for tests that need real commits and several connections -------------------

PG_SERVER_URL = os.environ.get("TEST_DATABASE_URL") or "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"


def _postgres_reachable(url) -> bool:
    import psycopg

    try:
        psycopg.connect(url.set(drivername="postgresql").render_as_string(hide_password=False), connect_timeout=3).close()
        return True
    except psycopg.Error:
        return False


@pytest.fixture
def sqlite_url(tmp_path) -> str:
    """A fresh SQLite file of this test's own."""
    return f"sqlite:///{tmp_path / 'own.db'}"


@pytest.fixture
def postgres_url():
    """A throwaway PostgreSQL database, created on the server of TEST_DATABASE_URL (or 127.0.0.1) and dropped."""
    import secrets

    import psycopg
    from sqlalchemy.engine import make_url

    server = make_url(PG_SERVER_URL)
    if not server.drivername.startswith("postgresql"):
        server = make_url("postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
    admin = server.set(database="postgres")
    require(_postgres_reachable(admin), f"PostgreSQL not reachable at {admin.render_as_string()}")
    name = f"test_own_{secrets.token_hex(4)}"
    dsn = admin.set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield server.set(database=name, drivername="postgresql+psycopg").render_as_string(hide_password=False)
    finally:
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def isolated_app(make_app, tmp_path):
    """An app on the run's backend but with its own tables (a schema of its own on PostgreSQL, a file on
    SQLite), for tests whose requests really commit; mark them ``no_transaction``."""
    import uuid

    schema = None
    if POSTGRES_URL:
        schema = f"iso_{uuid.uuid4().hex[:8]}"
        sep = "&" if "?" in POSTGRES_URL else "?"
        url = f"{POSTGRES_URL}{sep}options=-csearch_path%3D{schema}"
    else:
        url = f"sqlite:///{tmp_path / 'isolated.db'}"
    extra = make_app(url)
    with extra.app_context():
        if schema:
            with db.engine.begin() as conn:
                conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        db.create_all()
    yield extra
    if schema:
        with extra.app_context(), db.engine.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
