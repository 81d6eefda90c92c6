"""Competition setup API: create, edit, list, detail; who may do what; the OpenAPI document."""

from __future__ import annotations

import pytest

from competitions.models import Competition
from tests.competitions import setup_support
from tests.competitions.setup_support import MANAGERS, ROLES, problem_paths

setup = setup_support.setup

pytestmark = pytest.mark.usefixtures("app")


def test_organizer_creates_a_draft_with_default_rules(setup):
    cid = setup.create(appeal_window_minutes=90, conflict_same_chain=True, uses_module_codes=True,
                       board_freeze_at="2026-05-03T10:00:00+08:00")
    data = setup.get(f"/api/v1/competitions/{cid}").get_json()
    assert data["status"] == "draft"
    assert data["level"] == "city" and data["trade"]["id"] == setup.trade.id
    assert data["starts_on"] == "2026-05-01" and data["appeal_window_minutes"] == 90
    assert data["conflict_same_chain"] is True and data["uses_module_codes"] is True
    assert data["board_freeze_at"].startswith("2026-05-03T02:00:00")  # stored in UTC
    assert data["allowed_events"] == ["open_registration"]
    rules = setup.get(f"/api/v1/competitions/{cid}/rules").get_json()
    assert rules["tie_break"] == [["completion_time", "asc"], ["module_kind:practical", "desc"],
                                  ["module_kind:theory", "desc"]]
    assert rules["award_rules"] == [{"type": "proportional", "rounding": "floor", "at_least_one": True,
                                     "tiers": [["first_prize", "10"], ["second_prize", "20"], ["third_prize", "30"]]}]
    assert rules["promotion_bands"] == []
    created = setup.audit("competition_created", cid)
    assert len(created) == 1 and created[0].actor_id == setup.users["organizer"].id


@pytest.mark.parametrize("body, path", [
    ({"level": "city"}, "name"),
    ({"name": "  ", "level": "city"}, "name"),
    ({"name": "x", "level": "galactic"}, "level"),
    ({"name": "x", "level": "city", "appeal_window_minutes": -1}, "appeal_window_minutes"),
    ({"name": "x", "level": "city", "appeal_window_minutes": "60"}, "appeal_window_minutes"),
    ({"name": "x", "level": "city", "board_freeze_at": "2026-05-03T10:00:00"}, "board_freeze_at"),  # no offset
    ({"name": "x", "level": "city", "starts_on": "2026-05-03", "ends_on": "2026-05-01"}, "ends_on"),
    ({"name": "x", "level": "city", "trade_id": 999999}, "trade_id"),
    ({"name": "x", "level": "city", "colour": "red"}, "colour"),
])
def test_invalid_competition_fields_are_422_with_the_path(setup, body, path):
    before = Competition.query.count()
    resp = setup.post("/api/v1/competitions", body)
    assert resp.status_code == 422, resp.get_json()
    assert path in problem_paths(resp)
    assert Competition.query.count() == before


def test_patch_changes_fields_and_is_audited(setup):
    cid = setup.create()
    resp = setup.patch(f"/api/v1/competitions/{cid}", {"venue": "省技师学院", "appeal_window_minutes": 60})
    assert resp.status_code == 200, resp.get_json()
    assert resp.get_json()["venue"] == "省技师学院"
    entry = setup.audit("competition_updated", cid)[-1]
    assert entry.details["fields"] == ["appeal_window_minutes", "venue"]


def test_settings_fixed_once_running_and_everything_after_publication(setup):
    cid = setup.with_scheme()
    setup.run_to(cid, "running")
    assert setup.patch(f"/api/v1/competitions/{cid}", {"venue": "新场地"}).status_code == 200
    resp = setup.patch(f"/api/v1/competitions/{cid}", {"uses_module_codes": True})
    assert resp.status_code == 409 and resp.get_json()["error"]["code"] == "fixed_once_running"
    setup.competition(cid).status = "published"
    resp = setup.patch(f"/api/v1/competitions/{cid}", {"venue": "又一场地"})
    assert resp.status_code == 409 and resp.get_json()["error"]["code"] == "published"
    updates = len(setup.audit("competition_updated", cid))
    resp = setup.patch(f"/api/v1/competitions/{cid}", {"venue": "新场地", "uses_module_codes": False})  # as stored
    assert resp.status_code == 200 and resp.get_json()["venue"] == "新场地"
    assert len(setup.audit("competition_updated", cid)) == updates  # nothing changed, nothing recorded


def test_list_organizers_see_drafts_others_do_not(setup):
    draft = setup.create(name="草稿竞赛")
    open_ = setup.with_scheme(name="公开竞赛")
    setup.run_to(open_, "registration_open")
    for role in MANAGERS:
        names = {c["name"] for c in setup.get("/api/v1/competitions", role=role).get_json()["items"]}
        assert {"草稿竞赛", "公开竞赛"} <= names
    for role in ("hr", "judge", "worker"):
        resp = setup.get("/api/v1/competitions", role=role)
        assert resp.status_code == 200
        names = {c["name"] for c in resp.get_json()["items"]}
        assert "公开竞赛" in names and "草稿竞赛" not in names
        assert setup.get(f"/api/v1/competitions/{draft}", role=role).status_code == 404
        assert setup.get(f"/api/v1/competitions/{open_}", role=role).status_code == 200
        assert setup.get(f"/api/v1/competitions/{draft}/scheme", role=role).status_code == 404
        assert setup.get(f"/api/v1/competitions/{open_}/scheme", role=role).status_code == 200
    filtered = setup.get("/api/v1/competitions?status=draft&q=草稿").get_json()
    assert [c["name"] for c in filtered["items"]] == ["草稿竞赛"]


def test_detail_has_no_entrant_data(setup):
    cid = setup.with_scheme()
    setup.run_to(cid, "running")
    worker_name = setup.users["worker"].worker.name
    for role in ("hr", "judge", "worker"):
        for suffix in ("", "/scheme", "/rules"):
            resp = setup.get(f"/api/v1/competitions/{cid}{suffix}", role=role)
            assert resp.status_code == 200
            assert worker_name not in resp.get_data(as_text=True)
            assert setup.ent_a.name not in resp.get_data(as_text=True)


def test_module_end_times(setup):
    cid = setup.with_scheme()
    other = setup.with_scheme(name="另一场")
    modules = setup.get(f"/api/v1/competitions/{cid}/modules").get_json()
    assert [(m["name"], m["kind"], m["weight"], m["ends_at"], m["locked_at"]) for m in modules] == [
        ("理论知识", "theory", "30", None, None), ("实际操作", "practical", "70", None, None)]
    setup.run_to(cid, "running")  # the scheme is fixed now; the timing is not
    url = f"/api/v1/competitions/{cid}/modules/{modules[0]['id']}"
    resp = setup.patch(url, {"ends_at": "2026-05-02T11:30:00+08:00"})
    assert resp.status_code == 200, resp.get_json()
    assert resp.get_json()["ends_at"].startswith("2026-05-02T03:30:00")
    assert setup.get(f"/api/v1/competitions/{cid}/modules", role="hr").get_json()[0]["ends_at"].startswith("2026-05-02T03")
    assert setup.audit("module_end_set")[-1].details["competition_id"] == cid
    assert setup.patch(url, {"ends_at": "2026-05-02T11:30:00"}).status_code == 422  # no offset
    foreign = setup.get(f"/api/v1/competitions/{other}/modules").get_json()[0]["id"]
    assert setup.patch(f"/api/v1/competitions/{cid}/modules/{foreign}", {"ends_at": None}).status_code == 404
    assert setup.patch(url, {"ends_at": None}).get_json()["ends_at"] is None


# --- permissions: every role on every endpoint ----------------------------------------------------------------

# (method, suffix, body): organizer-only writes and reads
MANAGE = [
    ("POST", "", {"name": "x", "level": "city"}),
    ("PATCH", "/{cid}", {"venue": "x"}),
    ("POST", "/{cid}/transitions", {"event": "open_registration"}),
    ("GET", "/{cid}/transitions", None),
    ("PUT", "/{cid}/scheme", {"modules": []}),
    ("GET", "/{cid}/scheme/check", None),
    ("POST", "/{cid}/scheme.xlsx", None),
    ("GET", "/{cid}/difficulty", None),
    ("PUT", "/{cid}/difficulty", []),
    ("PUT", "/{cid}/rules", {}),
    ("PATCH", "/{cid}/modules/{mid}", {"ends_at": None}),
]
READ = ["", "/{cid}", "/{cid}/scheme", "/{cid}/scheme.xlsx", "/{cid}/rules", "/{cid}/modules"]


@pytest.mark.parametrize("role", ROLES)
def test_role_matrix(setup, role):
    cid = setup.with_scheme()
    setup.run_to(cid, "registration_open")
    mid = setup.get(f"/api/v1/competitions/{cid}/modules").get_json()[0]["id"]
    for method, suffix, body in MANAGE:
        url = "/api/v1/competitions" + suffix.format(cid=cid, mid=mid)
        resp = setup.call(role, method, url, body)
        where = f"{role} {method} {url} -> {resp.status_code}"
        if role == "anonymous":
            assert resp.status_code == 401, where
        elif role in MANAGERS:
            assert resp.status_code not in (401, 403) and resp.status_code < 500, where
        else:
            assert resp.status_code == 403, where
    for suffix in READ:
        url = "/api/v1/competitions" + suffix.format(cid=cid)
        resp = setup.call(role, "GET", url)
        expected = 401 if role == "anonymous" else 200
        assert resp.status_code == expected, f"{role} GET {url} -> {resp.status_code}"


def test_cookie_clients_need_the_csrf_token(setup, client, login):
    login(client, setup.users["organizer"])
    resp = client.post("/api/v1/competitions", json={"name": "x", "level": "city"})
    assert resp.status_code == 400
    from tests.conftest import csrf_token

    resp = client.post("/api/v1/competitions", json={"name": "x", "level": "city"},
                       headers={"X-CSRFToken": csrf_token(client)})
    assert resp.status_code == 201


def test_openapi_lists_the_setup_endpoints(client):
    doc = client.get("/api/v1/openapi.json").get_json()
    paths = doc["paths"]
    expected = {
        "/api/v1/competitions": {"get", "post"},
        "/api/v1/competitions/{competition_id}": {"get", "patch"},
        "/api/v1/competitions/{competition_id}/transitions": {"get", "post"},
        "/api/v1/competitions/{competition_id}/scheme": {"get", "put"},
        "/api/v1/competitions/{competition_id}/scheme/check": {"get"},
        "/api/v1/competitions/{competition_id}/scheme.xlsx": {"get", "post"},
        "/api/v1/competitions/{competition_id}/difficulty": {"get", "put"},
        "/api/v1/competitions/{competition_id}/rules": {"get", "put"},
        "/api/v1/competitions/{competition_id}/modules": {"get"},
        "/api/v1/competitions/{competition_id}/modules/{module_id}": {"patch"},
    }
    for path, methods in expected.items():
        assert path in paths, path
        assert methods <= set(paths[path]), (path, set(paths[path]))
    scheme = doc["components"]["schemas"]["SetupSchemeDoc"]
    assert "modules" in scheme["properties"]
