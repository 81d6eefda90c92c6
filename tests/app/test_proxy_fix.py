"""Behind a reverse proxy (PROXY_FIX_X_FOR): the client address is the one the trusted proxy saw, so the login rate
limit counts per client, not per proxy; without the setting X-Forwarded-For is ignored (anyone could write it)."""

from __future__ import annotations

import pytest
from flask import request

from app.config import Config
from tests.app.accounts.test_login import form_login

PROXY = {"REMOTE_ADDR": "127.0.0.1"}  # nginx on the same machine


def test_the_setting_comes_from_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("JIANGXIN_INSTANCE", str(tmp_path))
    monkeypatch.delenv("PROXY_FIX_X_FOR", raising=False)
    assert Config().PROXY_FIX_X_FOR == 0
    monkeypatch.setenv("PROXY_FIX_X_FOR", "1")
    assert Config().PROXY_FIX_X_FOR == 1


@pytest.mark.no_transaction
@pytest.mark.parametrize(("hops", "forwarded", "seen"), [
    (0, "203.0.113.7", "127.0.0.1"),  # off: the header is ignored
    (1, "203.0.113.7", "203.0.113.7"),
    (1, "198.51.100.1, 203.0.113.7", "203.0.113.7"),  # a client's own X-Forwarded-For entry is not believed
    (2, "198.51.100.1, 203.0.113.7", "198.51.100.1"),  # two trusted proxies
])
def test_remote_addr_is_the_client_seen_by_the_trusted_proxy(make_app, sqlite_url, hops, forwarded, seen):
    app = make_app(sqlite_url, PROXY_FIX_X_FOR=hops)
    with app.test_request_context("/", environ_base=PROXY, headers={"X-Forwarded-For": forwarded}):
        assert app.wsgi_app(request.environ, lambda *a: None) is not None  # (the chain still ends in Flask)
    seen_addr = {}

    def look(resp):
        seen_addr["addr"] = request.remote_addr
        return resp

    app.after_request_funcs.setdefault(None, []).insert(0, look)
    assert app.test_client().get("/healthz", environ_base=PROXY,
                                 headers={"X-Forwarded-For": forwarded}).status_code == 200
    assert seen_addr["addr"] == seen


@pytest.mark.no_transaction
@pytest.mark.parametrize(("hops", "second_client_limited"), [(1, False), (0, True)])
def test_the_login_limit_counts_per_client_behind_the_proxy(make_app, sqlite_url, hops, second_client_limited):
    from app.db import db

    app = make_app(sqlite_url, PROXY_FIX_X_FOR=hops, LOGIN_RATE_LIMIT="2 per minute")
    with app.app_context():
        db.create_all()
    first, second = app.test_client(), app.test_client()
    first.environ_base.update(PROXY, HTTP_X_FORWARDED_FOR="203.0.113.7")
    second.environ_base.update(PROXY, HTTP_X_FORWARDED_FOR="203.0.113.8")
    assert [form_login(first, "nobody", "wrong").status_code for _ in range(3)] == [200, 200, 429]
    assert (form_login(second, "nobody", "wrong").status_code == 429) is second_client_limited
