"""In a real browser: log in as the demo admin, Chinese by default, switch to English, log out; the phone
layout collapses the menu behind a toggle. No request leaves 127.0.0.1 and the CSP reports nothing."""

from __future__ import annotations

import re

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.no_transaction]


@pytest.fixture
def watched(page, live_server):
    """The page, plus lists of outside requests and console errors (CSP violations show up there)."""
    base, _ = live_server
    outside: list[str] = []
    errors: list[str] = []
    page.on("request", lambda req: outside.append(req.url) if not req.url.startswith(base) else None)
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    yield page, outside, errors
    assert outside == [], "the app must not contact any outside host"
    assert errors == [], errors


def _log_in(page, base: str, username: str, password: str) -> None:
    page.goto(f"{base}/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.locator("main button[type=submit]").click()
    page.wait_for_load_state()


def test_admin_logs_in_switches_language_and_logs_out(watched, live_server):
    page, _, _ = watched
    base, logins = live_server
    _, username, password = logins["admin"]

    page.goto(f"{base}/")
    assert page.url.startswith(f"{base}/login")
    assert page.locator("html").get_attribute("lang") == "zh-CN"

    _log_in(page, base, username, password)
    assert page.url == f"{base}/"
    assert page.locator("html").get_attribute("lang") == "zh-CN"
    assert page.get_by_text("系统管理员").first.is_visible()  # the admin's display name in the menu
    assert page.locator("a[aria-current]").inner_text() == "中文"

    page.get_by_role("link", name="English").click()
    page.wait_for_load_state()
    assert page.url == f"{base}/"
    assert page.locator("html").get_attribute("lang") == "en"
    assert page.locator("a[aria-current]").inner_text() == "English"
    assert page.get_by_role("button", name="Log out").is_visible()

    page.goto(f"{base}/admin/audit")
    assert page.locator("table code", has_text="login").first.is_visible()

    page.get_by_role("button", name="Log out").click()
    page.wait_for_load_state()
    assert page.url.startswith(f"{base}/login")
    page.goto(f"{base}/account")
    assert re.match(rf"{re.escape(base)}/login\?next=", page.url)


def test_wrong_password_stays_on_the_login_page(watched, live_server):
    page, _, _ = watched
    base, logins = live_server
    _log_in(page, base, logins["admin"][1], "not-the-password")
    assert page.url.startswith(f"{base}/login")
    assert page.locator(".flash-error").is_visible()


def test_phone_viewport_shows_the_menu_toggle(browser, live_server):
    base, logins = live_server
    context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True, locale="zh-CN")
    try:
        page = context.new_page()
        _log_in(page, base, logins["hr_steel"][1], logins["hr_steel"][2])
        toggle = page.locator(".nav-toggle-label")
        nav = page.locator("nav.nav")
        assert toggle.is_visible()
        assert not nav.is_visible()
        toggle.click()
        assert nav.is_visible()
        # nothing overflows the phone's width
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
    finally:
        context.close()


def test_desktop_viewport_shows_the_menu_without_toggle(page, live_server):
    base, logins = live_server
    _log_in(page, base, logins["organizer"][1], logins["organizer"][2])
    assert page.locator("nav.nav").is_visible()
    assert not page.locator(".nav-toggle-label").is_visible()
