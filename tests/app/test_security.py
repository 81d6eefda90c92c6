"""The security baseline: headers, cookies, CSRF, argon2, size limits, error envelopes, no inline script.

The page crawl logs in as every demo role and follows every same-site link it finds, so a new page
with an inline script, an inline style or an outside host fails here without being listed.
"""

from __future__ import annotations

import json
import os
import re
import stat
from collections import deque
from html.parser import HTMLParser
from urllib.parse import urljoin, urlsplit

import pytest
from sqlalchemy import select
from werkzeug.routing import IntegerConverter

from app.accounts.models import User
from app.accounts.services import check_password, hash_password
from app.config import Config, DevelopmentConfig
from app.db import db
from tests.conftest import csrf_token

SAFE = {"GET", "HEAD", "OPTIONS"}


# --- headers -------------------------------------------------------------------------------------

@pytest.mark.parametrize("path", ["/login", "/healthz", "/api/v1/openapi.json", "/no-such-page", "/api/v1/nothing"])
def test_security_headers_on_every_kind_of_response(client, path):
    resp = client.get(path)
    csp = resp.headers["Content-Security-Policy"]
    directives = dict(d.strip().split(" ", 1) for d in csp.split(";") if d.strip())
    assert "'unsafe-inline'" not in csp and "'unsafe-eval'" not in csp
    assert directives["default-src"] == "'self'"
    assert directives["script-src"] == "'self'"
    assert directives["style-src"] == "'self'"
    assert directives["frame-ancestors"] == "'none'"
    assert directives["object-src"] == "'none'"
    assert "http" not in csp and "*" not in csp  # no outside host allowed
    assert resp.headers["X-Content-Type-Options"] == "nosniff"
    assert resp.headers["Referrer-Policy"] in {"same-origin", "strict-origin-when-cross-origin", "no-referrer"}
    assert resp.headers["X-Frame-Options"] == "DENY"


def test_html_is_not_cached(client, logged_in_admin):
    assert "no-store" in client.get("/account").headers["Cache-Control"]


@pytest.mark.no_transaction
def test_a_public_response_does_not_vary_on_the_session_and_never_sets_it(make_app, sqlite_url):
    from flask import make_response, session

    from app.auth import public

    app = make_app(sqlite_url)

    def publicly(text: str):
        resp = make_response(text)
        resp.headers["Cache-Control"] = "public, max-age=1"
        return resp

    @app.get("/test-public")
    @public
    def same_for_everyone():
        session.get("anything")  # looked at, as Flask-Login's hook does: not a reason to vary
        return publicly("same")

    @app.get("/test-public-with-cookie")
    @public
    def sets_a_cookie():
        session["seen"] = True
        return publicly("mine")

    visitor = app.test_client()
    visitor.get("/test-public-with-cookie")  # now with a session cookie
    for client in (app.test_client(), visitor):
        resp = client.get("/test-public")
        assert resp.headers["Cache-Control"] == "public, max-age=1"
        assert "Cookie" not in resp.headers.get("Vary", "") and "Set-Cookie" not in resp.headers
    resp = app.test_client().get("/test-public-with-cookie")
    assert "Set-Cookie" in resp.headers and "public" not in resp.headers["Cache-Control"]
    assert "private" in resp.headers["Cache-Control"]


@pytest.fixture
def logged_in_admin(client, login, create_user):
    user = create_user("admin")
    login(client, user)
    return user


# --- cookies -------------------------------------------------------------------------------------

def _set_cookies(resp) -> dict[str, str]:
    return {h.split("=", 1)[0]: h for h in resp.headers.getlist("Set-Cookie")}


def test_session_cookie_is_httponly_and_samesite_lax(client):
    cookie = _set_cookies(client.get("/login"))["session"]
    assert "HttpOnly" in cookie
    assert "SameSite=Lax" in cookie


def test_language_cookie_flags(client):
    resp = client.get("/lang/en")
    cookie = _set_cookies(resp)["lang"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert resp.status_code == 302


@pytest.mark.no_transaction
def test_production_config_sets_secure_cookies(monkeypatch, tmp_path, make_app):
    for name in ("SESSION_COOKIE_SECURE", "DATABASE_URL", "REDIS_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("JIANGXIN_INSTANCE", str(tmp_path))
    config = Config()
    assert config.SESSION_COOKIE_SECURE and config.REMEMBER_COOKIE_SECURE
    assert config.SQLALCHEMY_DATABASE_URI == f"sqlite:///{tmp_path / 'jiangxin.db'}"
    app = make_app("", config=config)
    resp = app.test_client().get("/login", base_url="https://localhost")
    cookie = _set_cookies(resp)["session"]
    assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert app.config["SESSION_PROTECTION"] == "strong"
    assert DevelopmentConfig().SESSION_COOKIE_SECURE is False  # `make run` serves plain http://127.0.0.1


def test_secrets_are_generated_once_into_instance_with_0600(monkeypatch, tmp_path):
    for name in ("SECRET_KEY", "ID_HMAC_KEY", "ID_ENCRYPTION_KEY", "AUDIT_HMAC_KEY", "DATABASE_URL"):  # SQLite: generated
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("JIANGXIN_INSTANCE", str(tmp_path))
    first = Config()
    path = tmp_path / "secrets.json"
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    second = Config()
    assert (first.SECRET_KEY, first.ID_HMAC_KEY, first.ID_ENCRYPTION_KEY, first.AUDIT_HMAC_KEY) == (
        second.SECRET_KEY, second.ID_HMAC_KEY, second.ID_ENCRYPTION_KEY, second.AUDIT_HMAC_KEY)
    assert len(first.SECRET_KEY) >= 32
    monkeypatch.setenv("SECRET_KEY", "from-the-environment")
    assert Config().SECRET_KEY == "from-the-environment"


def _secrets_in_a_process(instance: str, start, out) -> None:
    from pathlib import Path

    from app.config import load_or_create_secrets

    start.wait(10)
    try:
        out.put(("ok", load_or_create_secrets(Path(instance))))
    except BaseException as exc:  # noqa: BLE001 - reported to the test
        out.put(("error", repr(exc)))


def test_processes_starting_together_on_a_fresh_instance_share_one_set_of_secrets(tmp_path):
    """``gunicorn -w 4`` on a fresh checkout: every worker creates the instance secrets at the same moment. Each
    used to generate its own and write them in turn: a worker failed to boot (its temporary file already renamed
    by another) or kept keys that the file no longer held."""
    import multiprocessing

    ctx = multiprocessing.get_context("fork")
    start, out = ctx.Barrier(6), ctx.Queue()
    workers = [ctx.Process(target=_secrets_in_a_process, args=(str(tmp_path), start, out)) for _ in range(6)]
    for w in workers:
        w.start()
    answers = [out.get(timeout=30) for _ in workers]
    for w in workers:
        w.join(10)
    assert [kind for kind, _ in answers] == ["ok"] * 6, answers
    on_disk = json.loads((tmp_path / "secrets.json").read_text())
    assert all(data == on_disk for _, data in answers)
    assert sorted(on_disk) == ["AUDIT_HMAC_KEY", "ID_ENCRYPTION_KEY", "ID_HMAC_KEY", "SECRET_KEY"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["secrets.json", "secrets.lock"]  # no temporary file left


def test_session_protection_drops_a_session_used_from_another_browser(client, create_user):
    from tests.app.accounts.conftest import form_login

    user = create_user("judge")
    assert form_login(client, user.username).status_code == 302
    assert client.get("/").status_code == 200
    resp = client.get("/", headers={"User-Agent": "SomethingElse/1.0"})
    assert resp.status_code == 302


# --- CSRF ----------------------------------------------------------------------------------------

def _fill(rule) -> str:
    values = {arg: 1 if isinstance(rule._converters[arg], IntegerConverter) else "x" for arg in rule.arguments}
    return rule.build(values, append_unknown=False)[1]


def test_every_unsafe_route_requires_a_csrf_token_for_cookie_sessions(app, client, logged_in_admin):
    checked = 0
    for rule in app.url_map.iter_rules():
        for method in sorted((rule.methods or set()) - SAFE):
            url = _fill(rule)
            resp = client.open(url, method=method, data={"x": "1"})
            assert resp.status_code == 400, (method, url, resp.status_code)
            if url.startswith("/api/"):
                assert resp.json["error"]["code"] == "bad_request"
            checked += 1
    assert checked >= 10


def test_html_forms_carry_a_csrf_token(client, logged_in_admin):
    for path in ("/account", "/admin/users/new", f"/admin/users/{logged_in_admin.id}"):
        html = client.get(path).get_data(as_text=True)
        forms = re.findall(r"<form[^>]*method=\"post\"[^>]*>(.*?)</form>", html, flags=re.S | re.I)
        assert forms, path
        for form in forms:
            assert 'name="csrf_token"' in form, (path, form[:200])


# --- passwords -----------------------------------------------------------------------------------

def test_passwords_are_hashed_with_argon2id():
    hashed = hash_password("correct horse battery")
    assert hashed.startswith("$argon2id$")
    assert hashed != hash_password("correct horse battery")  # salted
    user = User(username="u", display_name="u", password_hash=hashed)
    assert check_password(user, "correct horse battery")
    assert not check_password(user, "correct horse battery!")
    assert not check_password(None, "correct horse battery")
    assert not check_password(User(username="v", display_name="v", password_hash="plain"), "plain")


def test_weak_hash_parameters_are_upgraded_at_login(client, create_user):
    from tests.app.accounts.conftest import form_login

    user = create_user("judge")  # hashed with deliberately tiny argon2 parameters
    old = user.password_hash
    assert form_login(client, user.username).status_code == 302
    db.session.refresh(user)
    assert user.password_hash != old and user.password_hash.startswith("$argon2id$")


# --- size limit and error envelopes --------------------------------------------------------------

def test_upload_over_the_limit_is_413_with_envelope_on_the_api(app, client, logged_in_admin):
    big = b"x" * (app.config["MAX_CONTENT_LENGTH"] + 1)
    resp = client.post("/api/v1/tokens", data=big, content_type="application/json",
                       headers={"X-CSRFToken": csrf_token(client)})
    assert resp.status_code == 413
    assert resp.json["error"]["code"] == "too_large"
    assert set(resp.json["error"]) == {"code", "message", "details"}


def test_upload_over_the_limit_is_413_on_html_forms(app, client):
    big = b"x" * (app.config["MAX_CONTENT_LENGTH"] + 1)
    resp = client.post("/login", data=big, content_type="application/x-www-form-urlencoded")
    assert resp.status_code == 413


def test_unknown_api_path_is_404_envelope(client):
    resp = client.get("/api/v1/does-not-exist")
    assert resp.status_code == 404
    assert resp.json == {"error": {"code": "not_found", "message": resp.json["error"]["message"], "details": {}}}
    assert resp.json["error"]["message"]


def test_wrong_method_on_api_is_405_envelope(client):
    resp = client.get("/api/v1/tokens/1")  # DELETE only
    assert resp.status_code == 405
    assert resp.json["error"]["code"] == "method_not_allowed"
    assert "Allow" in resp.headers


def test_unknown_html_path_is_a_404_page(client):
    resp = client.get("/does-not-exist")
    assert resp.status_code == 404
    assert resp.mimetype == "text/html"
    assert "<html" in resp.get_data(as_text=True)


def test_unexpected_errors_are_500_envelopes_without_internals(app):
    from flask import Blueprint

    from app.auth import public

    if "boom" not in app.blueprints:
        bp = Blueprint("boom", __name__)

        @bp.route("/api/v1/_boom")
        @public
        def boom():
            raise RuntimeError("secret internals")

        # registering after the first request is refused by Flask; build a fresh view map entry instead
        app.view_functions["boom.boom"] = boom
        app.url_map.add(app.url_rule_class("/api/v1/_boom", endpoint="boom.boom", methods=["GET"]))
    import logging

    logger = logging.getLogger("app")
    previous = logger.disabled
    logger.disabled = True  # the traceback is logged on purpose; keep the test output clean
    try:
        resp = app.test_client().get("/api/v1/_boom")
    finally:
        logger.disabled = previous
    assert resp.status_code == 500
    assert resp.json["error"]["code"] == "server_error"
    assert "secret internals" not in resp.get_data(as_text=True)


# --- every page: no inline script or style, no outside host --------------------------------------

class PageScan(HTMLParser):
    URL_ATTRS = {"href", "src", "action", "formaction", "srcset", "poster", "data"}

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.problems: list[str] = []
        self.links: list[str] = []
        self.html_lang: str | None = None

    def handle_starttag(self, tag, attrs):
        attrs_d = dict(attrs)
        if tag == "html":
            self.html_lang = attrs_d.get("lang")
        if tag == "script" and not attrs_d.get("src"):
            self.problems.append("inline <script>")
        if tag == "style":
            self.problems.append("<style> element")
        for name, value in attrs:
            if name == "style":
                self.problems.append(f"style attribute on <{tag}>")
            if name.startswith("on"):
                self.problems.append(f"event handler {name} on <{tag}>")
            if name in self.URL_ATTRS and value:
                parts = urlsplit(value.strip())
                if parts.scheme in ("javascript", "vbscript"):
                    self.problems.append(f"{parts.scheme}: URL in {name}")
                if (parts.netloc or parts.scheme in ("http", "https")) and parts.netloc != "localhost":
                    self.problems.append(f"outside host in {name}={value}")
        if tag == "a" and attrs_d.get("href"):
            self.links.append(attrs_d["href"])
        if tag == "link" and attrs_d.get("href"):
            self.links.append(attrs_d["href"])
        if tag == "script" and attrs_d.get("src"):
            self.links.append(attrs_d["src"])


def _crawl(client, limit: int = 250) -> dict[str, list[str]]:
    seen: set[str] = set()
    queue = deque(["/", "/login"])
    shapes: dict[str, int] = {}
    problems: dict[str, list[str]] = {}
    while queue and len(seen) < limit:
        url = queue.popleft()
        shape = re.sub(r"\d+", "N", url)
        if url in seen or shapes.get(shape, 0) >= 2:  # two pages of each kind are enough
            continue
        seen.add(url)
        shapes[shape] = shapes.get(shape, 0) + 1
        resp = client.get(url)
        try:
            if url.startswith("/static/"):
                assert resp.status_code == 200, url
                continue
            assert resp.status_code in (200, 302), (url, resp.status_code)
            if resp.status_code == 302 or resp.mimetype != "text/html":
                continue
            scan = PageScan()
            scan.feed(resp.get_data(as_text=True))
            if scan.problems:
                problems[url] = scan.problems
            for link in scan.links:
                target = urljoin(url, link)
                parts = urlsplit(target)
                if parts.netloc or not parts.path.startswith("/"):
                    continue
                path = parts.path + (f"?{parts.query}" if parts.query else "")
                if parts.path.startswith(("/lang/", "/logout")) or "export" in parts.path or "download" in parts.path:
                    continue
                queue.append(path)
        finally:
            resp.close()
    assert len(seen) > 1
    return problems


@pytest.fixture
def demo(app_ctx):
    from app.demo import load_demo

    load_demo()
    db.session.flush()


@pytest.mark.parametrize("username", [None, "admin", "organizer", "hr_steel", "judge1", "worker1"])
def test_every_page_has_no_inline_script_style_or_outside_host(client, login, demo, username):
    if username:
        login(client, db.session.scalar(select(User).where(User.username == username)))
    problems = _crawl(client)
    assert problems == {}


# --- language ------------------------------------------------------------------------------------

def _html_lang(resp) -> str | None:
    scan = PageScan()
    scan.feed(resp.get_data(as_text=True))
    return scan.html_lang


def test_chinese_by_default(client):
    assert _html_lang(client.get("/login")) == "zh-CN"


def test_english_with_the_lang_cookie(client):
    client.set_cookie("lang", "en")
    assert _html_lang(client.get("/login")) == "en"


def test_accept_language_is_honoured_and_the_cookie_wins(client):
    assert _html_lang(client.get("/login", headers={"Accept-Language": "en-US,en;q=0.9"})) == "en"
    client.set_cookie("lang", "zh_CN")
    assert _html_lang(client.get("/login", headers={"Accept-Language": "en-US,en;q=0.9"})) == "zh-CN"


def test_language_switch_sets_the_cookie_and_returns_to_the_page(client):
    resp = client.get("/lang/en", headers={"Referer": "http://localhost/login?x=1"})
    assert resp.headers["Location"] == "http://localhost/login?x=1"
    assert _html_lang(client.get("/login")) == "en"
    resp = client.get("/lang/zh_CN", headers={"Referer": "https://evil.example/"})
    assert resp.headers["Location"] == "/"  # never back to another site
    assert _html_lang(client.get("/login")) == "zh-CN"
    client.get("/lang/xx")  # unknown codes are ignored
    assert _html_lang(client.get("/login")) == "zh-CN"


def test_chinese_catalogue_is_found_for_zh_cn(app, tmp_path):
    """Babel turns zh_CN into zh_Hans_CN; the catalogue in translations/zh_CN must still be used."""
    from babel.messages.catalog import Catalog
    from babel.messages.mofile import write_mo
    from flask_babel import gettext, refresh

    from app import TranslationDomain

    for code, text in (("zh_CN", "登录"), ("en", "Sign in")):
        catalog = Catalog(locale=code)
        catalog.add("Log in", text)
        (tmp_path / code / "LC_MESSAGES").mkdir(parents=True)
        with open(tmp_path / code / "LC_MESSAGES" / "messages.mo", "wb") as fh:
            write_mo(fh, catalog)
    domain = TranslationDomain(translation_directories=str(tmp_path))
    for lang, expected in (("zh_CN", "登录"), ("en", "Sign in")):
        with app.test_request_context(headers={"Cookie": f"lang={lang}"}):
            refresh()
            domain.as_default()
            assert gettext("Log in") == expected


@pytest.mark.parametrize("message, status", [("database is locked", 503), ("no such table: x", 500)])
def test_a_busy_database_answers_503_to_send_again(client, create_user, monkeypatch, message, status):
    """SQLite's lock past its busy timeout (or PostgreSQL's lock timeout, deadlock, serialization failure) is no fault:
    nothing was stored, and the judge's page and scripts send the same marks again (same idempotency keys)."""
    import sqlite3

    from sqlalchemy.exc import OperationalError

    from app.accounts.models import Role
    from app.accounts.services import create_token
    from competitions.services import marks

    token = create_token(create_user(Role.JUDGE), "t").secret

    def busy(*args, **kwargs):
        raise OperationalError("INSERT …", {}, sqlite3.OperationalError(message))

    monkeypatch.setattr(marks, "submit_marks", busy)
    resp = client.post("/api/v1/competitions/1/marks", json=[{"code": "A", "aspect_id": 1, "value": "1",
                                                               "idempotency_key": "k"}],
                       headers={"Authorization": f"Bearer {token}"})
    assert resp.status_code == status
    assert resp.get_json()["error"]["code"] == ("busy" if status == 503 else "server_error")
    assert (resp.headers.get("Retry-After") == "1") is (status == 503)


# --- an unsafe API call without credentials, CSRF messages, HSTS ------------------------------------------------


@pytest.mark.parametrize("lang, message", [("zh-CN", "请先登录。"), ("en", "Please log in.")])
def test_an_anonymous_unsafe_api_call_is_401_in_the_envelope(app, client, lang, message):
    from app.orgs.models import Enterprise

    for method, path in (("POST", "/api/v1/enterprises"), ("PUT", "/api/v1/competitions/1/marks/chief"),
                         ("DELETE", "/api/v1/tokens/1")):
        resp = client.open(path, method=method, json={"name": "x"}, headers={"Accept-Language": lang})
        assert resp.status_code == 401, (method, path)
        assert resp.json["error"] == {"code": "unauthorized", "message": message, "details": {}}
    assert db.session.scalar(select(Enterprise).where(Enterprise.name == "x")) is None


def test_a_missing_csrf_token_is_explained_in_the_user_s_language(client, logged_in_admin):
    resp = client.post("/api/v1/tokens", json={"name": "x"}, headers={"Accept-Language": "zh-CN"})
    assert resp.status_code == 400
    assert resp.json["error"]["message"] == "表单的安全令牌缺失，请刷新页面后重试。"


@pytest.mark.no_transaction
def test_hsts_over_tls_only_and_configurable(client, make_app, sqlite_url):
    secure = client.get("/login", base_url="https://localhost")
    assert secure.headers["Strict-Transport-Security"] == "max-age=31536000"
    assert "Strict-Transport-Security" not in client.get("/login").headers
    other = make_app(sqlite_url, HSTS_MAX_AGE=600)
    assert other.test_client().get("/login", base_url="https://x").headers["Strict-Transport-Security"] == "max-age=600"
    off = make_app(sqlite_url, HSTS_MAX_AGE=0)
    assert "Strict-Transport-Security" not in off.test_client().get("/login", base_url="https://x").headers
