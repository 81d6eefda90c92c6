"""The header's links and the start page's tiles: one list of areas, by role (app.navigation)."""

from __future__ import annotations

import re

import pytest

from app.accounts.models import Role
from app.domains import all_areas
from app.navigation import areas_for
from tests.conftest import login_as

_TILE = re.compile(r'<a class="tile" href="([^"]+)">')
_NAV = re.compile(r'<nav class="nav">(.*?)</nav>', re.S)
_HREF = re.compile(r'<a href="([^"]+)"')

ALWAYS = ["/boards", "/account"]  # every signed-in user's last two tiles


@pytest.mark.parametrize("roles, expected", [
    ((Role.ORGANIZER,), ["/competitions", "/enterprises", "/chains", "/trades", "/certificates"]),
    ((Role.HR,), ["/workers", "/workers/import", "/registrations", "/certificates"]),
    ((Role.JUDGE,), ["/judging"]),
    ((Role.WORKER,), ["/my/profile", "/my/certificates"]),
    ((Role.ADMIN,), ["/competitions", "/enterprises", "/chains", "/trades", "/certificates", "/admin/users", "/admin/audit"]),
    ((Role.ORGANIZER, Role.HR, Role.JUDGE),  # several roles: each area once, in the header's order
     ["/competitions", "/enterprises", "/chains", "/trades", "/workers", "/workers/import", "/registrations",
      "/judging", "/certificates"]),
])
def test_the_start_page_offers_each_area_of_the_users_roles_as_the_header_does(
        client, create_user, create_enterprise, create_worker, roles, expected):
    enterprise = create_enterprise()
    worker = create_worker(enterprise=enterprise) if Role.WORKER in roles else None
    login_as(client, create_user(*roles, enterprise=enterprise, worker=worker))
    html = client.get("/").get_data(as_text=True)
    tiles = _TILE.findall(html)
    assert [t.split("?")[0] for t in tiles] == expected + ALWAYS
    header = _HREF.findall(_NAV.search(html).group(1))
    assert [h for h in header if h in tiles] == expected + ["/account", "/boards"]  # the account: the user's name
    for url in expected:  # every tile leads to a page this user may open
        assert client.get(url).status_code == 200, url


def test_a_judges_start_page_leads_to_the_modules_they_judge(client, create_user):
    login_as(client, create_user(Role.JUDGE))
    html = client.get("/").get_data(as_text=True)
    assert '<a class="tile" href="/judging"><strong>执裁</strong>' in html
    assert "您负责的竞赛将显示在这里" not in html  # the old tile that linked nowhere
    client.set_cookie("lang", "en")
    html = client.get("/").get_data(as_text=True)
    assert "enter marks by entrant code, also offline" in html


def test_every_area_names_a_page_of_the_app(app):
    """An area whose endpoint was renamed would silently vanish from both places (url_for_optional)."""
    endpoints = {rule.endpoint for rule in app.url_map.iter_rules()}
    assert [a.endpoint for a in all_areas() if a.endpoint not in endpoints] == []


def test_no_areas_for_a_visitor(app):
    from flask_login import AnonymousUserMixin

    with app.test_request_context("/"):
        assert areas_for(AnonymousUserMixin()) == []
        assert areas_for(None) == []


def test_a_visitor_on_a_public_page_finds_the_way_to_log_in(client):
    header = _NAV.search(client.get("/boards").get_data(as_text=True)).group(1)
    assert _HREF.findall(header)[:2] == ["/login", "/boards"]
    login_header = _NAV.search(client.get("/login").get_data(as_text=True)).group(1)
    assert "/login" not in _HREF.findall(login_header)  # not on the login page itself
