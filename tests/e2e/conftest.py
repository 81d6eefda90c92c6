"""A real Jiangxin server for the browser tests: a temp SQLite file, migrated, demo loaded, served by
werkzeug in a thread on a free port; and Debian's Chromium driven by Playwright (never downloaded)."""

from __future__ import annotations

import os
import threading

import pytest
from werkzeug.serving import make_server

from app import create_app
from app.config import TestingConfig
from app.db import db
from tests.conftest import require

CHROMIUM = "/usr/bin/chromium"
HERE = os.path.dirname(os.path.abspath(__file__))
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
    "--disable-sync", "--no-first-run",
]


def pytest_collection_modifyitems(config, items):
    """Under pytest-xdist (``--dist loadgroup``, as ``make test`` runs) every browser test goes to one worker: one
    live server with the demo loaded and one Chromium for all of them, instead of one per worker."""
    for item in items:
        if str(item.path).startswith(HERE + os.sep):
            item.add_marker(pytest.mark.xdist_group("browser"))


LIVE_APPS: list = []  # the live server's app (``live_app``)


@pytest.fixture
def live_app(live_server):
    """The Flask app the live server runs (to change its configuration within a test, e.g. with monkeypatch)."""
    return LIVE_APPS[-1]


@pytest.fixture(scope="session")
def live_server(app, tmp_path_factory):
    """(base_url, logins) of a running server; the session test app gets its limiter back afterwards."""
    from flask_migrate import upgrade

    from app.demo import demo_logins, load_demo
    from app.extensions import limiter

    base = tmp_path_factory.mktemp("e2e")
    config = TestingConfig(SQLALCHEMY_DATABASE_URI=f"sqlite:///{base / 'e2e.db'}", INSTANCE_PATH=base,
                           LOGIN_RATE_LIMIT="1000 per minute")
    server_app = create_app(config)
    migrations = os.path.join(os.path.dirname(__file__), "..", "..", "migrations")
    with server_app.app_context():
        upgrade(directory=migrations)
        load_demo()
        db.session.commit()
        logins = {role_user[1]: role_user for role_user in demo_logins()}
    LIVE_APPS.append(server_app)
    server = make_server("127.0.0.1", 0, server_app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="e2e-server", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}", logins
    finally:
        server.shutdown()
        thread.join(10)
        server.server_close()
        with server_app.app_context():
            db.engine.dispose()
        limiter.init_app(app)


@pytest.fixture(scope="session")
def browser():
    require(os.path.exists(CHROMIUM), f"{CHROMIUM} missing (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def page(browser):
    # A browser in China asks for Chinese; the app honours Accept-Language until the user picks a language.
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN")
    page = context.new_page()
    try:
        yield page
    finally:
        context.close()
