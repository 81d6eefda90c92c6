"""Configuration: classes that read the environment; missing secrets are generated into instance/ on SQLite.

Secrets (session key, the HMAC key for ID numbers, the encryption key for ID copies, the HMAC key of the audit
log's chains) are generated once into ``instance/secrets.json`` with 0600 permissions when the environment does not
give them and the database is SQLite (one host), so a fresh checkout runs without set-up and nothing secret is ever
committed. With any other database (PostgreSQL) several hosts may serve the same data, and each would
generate keys of its own: there the environment must give all four, or the app refuses to start.
"""

from __future__ import annotations

import base64
import json
import os
import secrets
from contextlib import contextmanager
from pathlib import Path

import click

try:
    import fcntl
except ImportError:  # not on Windows
    fcntl = None  # type: ignore[assignment]

BASE_DIR = Path(__file__).resolve().parent.parent
DEFAULT_INSTANCE = BASE_DIR / "instance"

SECRET_NAMES = ("SECRET_KEY", "ID_HMAC_KEY", "ID_ENCRYPTION_KEY", "AUDIT_HMAC_KEY")


def _new_secret(name: str) -> str:
    if name == "ID_ENCRYPTION_KEY":
        # 256-bit AES-GCM key, urlsafe base64
        return base64.urlsafe_b64encode(secrets.token_bytes(32)).decode()
    return secrets.token_urlsafe(48)


def load_or_create_secrets(instance_path: Path) -> dict[str, str]:
    """Return the instance secrets, creating the file (0600) on first use.

    Several processes may start at once on a fresh instance (``gunicorn -w 4``): the first to take the lock file
    creates the secrets, the others read them. Without it each generated its own and wrote them in turn, and
    one failed to start or, worse, ran with keys that the file no longer held."""
    instance_path.mkdir(parents=True, exist_ok=True)
    path = instance_path / "secrets.json"
    data = _read_secrets(path)
    if any(n not in data for n in SECRET_NAMES):
        with exclusive(instance_path / "secrets.lock"):
            data = _read_secrets(path)  # written by another process while this one waited
            missing = [n for n in SECRET_NAMES if n not in data]
            if missing:
                for name in missing:
                    data[name] = _new_secret(name)
                tmp = path.with_name(f"secrets.{os.getpid()}.tmp")
                fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
                with os.fdopen(fd, "w", encoding="utf-8") as fh:
                    json.dump(data, fh)
                os.replace(tmp, path)
    os.chmod(path, 0o600)
    return data


def _read_secrets(path: Path) -> dict[str, str]:
    return json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}


@contextmanager
def exclusive(lock_path: Path):
    """An exclusive ``flock`` on ``lock_path`` (where the platform has none: nothing)."""
    if fcntl is None:
        yield
        return
    fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # (closing releases the lock)


def is_sqlite_url(url: str) -> bool:
    """True for SQLAlchemy URLs of SQLite (``sqlite://``, ``sqlite:///path``, ``sqlite+pysqlite://…``)."""
    return url.split(":", 1)[0].split("+", 1)[0] == "sqlite"


class MissingSecrets(click.ClickException):
    """The environment lacks secrets that a shared (non-SQLite) database needs.

    A ``ClickException``: ``flask …`` prints ``Error: <message>`` and exits 1 instead of a traceback; gunicorn
    logs it and stops (its workers fail to boot). Operators read it before any app (and so any locale) exists,
    like the other command-line messages: English."""

    def __init__(self, missing: list[str], instance_path: Path) -> None:
        self.missing = missing
        message = (
            f"{', '.join(missing)} must be set in the environment when the database is not SQLite: every host that "
            "serves the same database needs the same keys (ID numbers are matched and decrypted with them, the "
            "audit log is chained with them), so they are not generated. Set all of SECRET_KEY, ID_HMAC_KEY, "
            "ID_ENCRYPTION_KEY and AUDIT_HMAC_KEY (README, Configuration).")
        if (instance_path / "secrets.json").exists():
            message += (f" {instance_path / 'secrets.json'} holds keys generated earlier: if this database's ID "
                        "numbers were stored with them, set the variables to those values.")
        super().__init__(message)


class Config:
    """Embedded default: SQLite under instance/, limiter in memory, jobs in-process.

    The environment is read when the config is instantiated (not at import), so a process (or a test)
    that sets ``DATABASE_URL``/``REDIS_URL`` before building an app gets what it asked for.
    """

    INSTANCE_PATH = DEFAULT_INSTANCE
    SQLALCHEMY_DATABASE_URI = f"sqlite:///{DEFAULT_INSTANCE / 'jiangxin.db'}"
    # The most recently used pooled connection first: SQLite empties a connection's page cache whenever another
    # connection wrote since its last transaction, so a process reusing one warm connection reads far fewer pages
    # than one cycling through its pool. As many pooled connections as a gunicorn process has threads
    # (gunicorn.conf.py): with SQLAlchemy's default of 5, a burst that busied 6–8 threads opened a connection for
    # each extra one and closed it on its return, so under load PostgreSQL kept starting fresh server processes
    # (cold caches, every statement prepared again): marks_open_loop's server opened 30 sessions in a run, now 17.
    SQLALCHEMY_ENGINE_OPTIONS: dict = {"pool_use_lifo": True, "pool_size": 8}
    REDIS_URL: str | None = None
    RATELIMIT_STORAGE_URI = "memory://"
    RATELIMIT_HEADERS_ENABLED = True
    # Login POSTs per client address (Flask-Limiter), against spraying many accounts from one address: a venue's 100
    # judges behind one NAT address log in within a minute. Guessing one account's password is stopped per account,
    # in the database, whatever the number of processes (app.accounts.throttle).
    LOGIN_RATE_LIMIT = "200 per minute"
    MAX_CONTENT_LENGTH = 10 * 1024 * 1024
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    SESSION_COOKIE_SECURE = True
    REMEMBER_COOKIE_HTTPONLY = True
    REMEMBER_COOKIE_SAMESITE = "Lax"
    REMEMBER_COOKIE_SECURE = True
    SESSION_PROTECTION = "strong"
    WTF_CSRF_TIME_LIMIT = None
    BABEL_DEFAULT_LOCALE = "zh_CN"
    BABEL_DEFAULT_TIMEZONE = "Asia/Shanghai"
    LANGUAGES = ("zh_CN", "en")
    PAGE_SIZE = 20
    API_TITLE = "Jiangxin API"
    API_VERSION = "v1"
    OPENAPI_VERSION = "3.0.3"
    OPENAPI_URL_PREFIX = "/api/v1"
    OPENAPI_JSON_PATH = "openapi.json"
    IMPORT_MAX_ROWS = 50_000
    # PDFs: a CJK TrueType font file to embed (".ttc#1" or PDF_CJK_FONT_INDEX picks a face of a
    # collection); None searches the system (app/pdf.py). PUBLIC_BASE_URL (e.g. https://jx.example.org)
    # makes the verification address in certificates' QR codes; None uses the request's host.
    PDF_CJK_FONT: str | None = None
    PDF_CJK_FONT_INDEX: int | None = None
    PUBLIC_BASE_URL: str | None = None
    # Background jobs (app.jobs): inline | thread | pool | rq; empty: rq with REDIS_URL, else pool.
    JOBS_BACKEND: str | None = None
    JOBS_WORKERS = 2
    JOBS_QUEUE = "jiangxin"
    JOBS_TIMEOUT = 3600
    # Behind a reverse proxy: how many proxies in front append to X-Forwarded-For (nginx alone: 1). The client
    # address (login rate limit, audit) is then the one the outermost trusted proxy saw. 0: the header is ignored
    # (serving clients directly, where anyone could write it).
    PROXY_FIX_X_FOR = 0
    # The signed heads of the audit log's streams, outside the database (app.audit.anchor); None:
    # INSTANCE_PATH/audit-anchor.json. Somewhere the web processes cannot write protects it from them too.
    AUDIT_ANCHOR_PATH: str | None = None
    # `flask backup create` writes here by default (app.backup); None: INSTANCE_PATH/backups.
    BACKUP_DIR: str | None = None
    # Strict-Transport-Security on responses served over TLS (request.is_secure): browsers then use only HTTPS for
    # this many seconds. 0 sends none.
    HSTS_MAX_AGE = 31_536_000
    # Public certificate verification, per client address (certificates.views.verify): every page or JSON answer by
    # serial (serials are sequential: nobody walks them at speed), and the lookup by serial + full name and the
    # ID/PDF check (guesses).
    VERIFY_PAGE_RATE_LIMIT = "60 per minute"
    VERIFY_RATE_LIMIT = "10 per minute"
    # The live board's event streams (competitions.services.board): a stream holds one of gunicorn's threads for up
    # to BOARD_STREAM_SECONDS. One process keeps at most BOARD_STREAMS_PER_PROCESS open, at most
    # BOARD_STREAMS_PER_CLIENT of them for one client address; a stream over either cap is refused at once (503 or
    # 429 with Retry-After) and the board page polls the board's JSON instead. Keep the first well under gunicorn's
    # threads per worker (8 in gunicorn.conf.py); 0 sends every screen to polling.
    BOARD_STREAM_SECONDS = 60
    BOARD_STREAMS_PER_PROCESS = 2
    BOARD_STREAMS_PER_CLIENT = 1
    TESTING = False

    def __init__(self) -> None:
        env = os.environ
        self.INSTANCE_PATH = Path(env.get("JIANGXIN_INSTANCE") or DEFAULT_INSTANCE)
        self.SQLALCHEMY_DATABASE_URI = env.get("DATABASE_URL") or f"sqlite:///{self.INSTANCE_PATH / 'jiangxin.db'}"
        self.REDIS_URL = env.get("REDIS_URL") or None
        # Several app processes must share one login counter, so Redis holds it when there is one.
        self.RATELIMIT_STORAGE_URI = self.REDIS_URL or "memory://"
        self.JOBS_BACKEND = env.get("JOBS_BACKEND") or ("rq" if self.REDIS_URL else "pool")
        self.JOBS_WORKERS = int(env.get("JOBS_WORKERS") or self.JOBS_WORKERS)
        self.JOBS_QUEUE = env.get("JOBS_QUEUE") or self.JOBS_QUEUE
        self.LOGIN_RATE_LIMIT = env.get("LOGIN_RATE_LIMIT") or self.LOGIN_RATE_LIMIT
        secure = env.get("SESSION_COOKIE_SECURE", "1" if self.SESSION_COOKIE_SECURE else "0") == "1"
        self.SESSION_COOKIE_SECURE = self.REMEMBER_COOKIE_SECURE = secure
        self.PDF_CJK_FONT = env.get("PDF_CJK_FONT") or None
        self.PDF_CJK_FONT_INDEX = int(env["PDF_CJK_FONT_INDEX"]) if env.get("PDF_CJK_FONT_INDEX") else None
        self.PUBLIC_BASE_URL = (env.get("PUBLIC_BASE_URL") or "").rstrip("/") or None
        self.PROXY_FIX_X_FOR = int(env.get("PROXY_FIX_X_FOR") or 0)
        self.AUDIT_ANCHOR_PATH = env.get("AUDIT_ANCHOR_PATH") or None
        self.BACKUP_DIR = env.get("BACKUP_DIR") or None
        self.HSTS_MAX_AGE = int(env.get("HSTS_MAX_AGE") or self.HSTS_MAX_AGE)
        for name in ("BOARD_STREAM_SECONDS", "BOARD_STREAMS_PER_PROCESS", "BOARD_STREAMS_PER_CLIENT"):
            if env.get(name, "").strip():  # (0 is a value: no streams)
                setattr(self, name, int(env[name]))
        given = {name: env[name] for name in SECRET_NAMES if env.get(name)}
        if len(given) < len(SECRET_NAMES) and not is_sqlite_url(self.SQLALCHEMY_DATABASE_URI):
            raise MissingSecrets([n for n in SECRET_NAMES if n not in given], self.INSTANCE_PATH)
        secrets_ = given if len(given) == len(SECRET_NAMES) else load_or_create_secrets(self.INSTANCE_PATH)
        for name in SECRET_NAMES:
            setattr(self, name, given.get(name) or secrets_[name])


class DevelopmentConfig(Config):
    """`make run`: plain HTTP on localhost, so the session cookie must not require TLS."""

    SESSION_COOKIE_SECURE = False
    REMEMBER_COOKIE_SECURE = False


class TestingConfig(Config):
    """One app per test run; TEST_DATABASE_URL selects PostgreSQL. Never touches instance/."""

    TESTING = True
    SESSION_COOKIE_SECURE = False
    REMEMBER_COOKIE_SECURE = False
    RATELIMIT_STORAGE_URI = "memory://"
    JOBS_BACKEND = "inline"  # jobs run in the test's own transaction

    def __init__(self, **overrides) -> None:
        self.SQLALCHEMY_DATABASE_URI = os.environ.get("TEST_DATABASE_URL") or "sqlite://"
        for name in SECRET_NAMES:
            setattr(self, name, overrides.pop(name, None) or _test_secret(name))
        for key, value in overrides.items():
            setattr(self, key, value)


def _test_secret(name: str) -> str:
    if name == "ID_ENCRYPTION_KEY":
        return base64.urlsafe_b64encode(b"k" * 32).decode()
    return f"test-{name.lower()}"


def config_from_env() -> Config:
    name = os.environ.get("JIANGXIN_CONFIG", "production")
    return DevelopmentConfig() if name == "development" else Config()
