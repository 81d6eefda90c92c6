"""Results API: blind until decoded, decode after every lock, publish / correct versions, public view per consent,
XLSX export and who may do what."""

from __future__ import annotations

import io

import pytest
from openpyxl import load_workbook

from app.db import db
from competitions.models import ResultVersion
from tests.competitions.results_fixtures import rw  # noqa: F401

ROLES = ("anonymous", "organizer", "admin", "hr", "judge", "worker")


def test_results_before_decoding_show_codes_only(rw):  # noqa: F811
    rw.fill()
    resp = rw.get("organizer", "/results")
    assert resp.status_code == 200
    rw.assert_blind(resp)
    data = resp.get_json()
    assert data["decoded"] is False
    assert [e["code"] for e in data["entries"]] == ["A101", "A102", "A103", "A104", "A105"]
    assert data["entries"][1]["total"] == "89.33" and data["entries"][1]["shared"] is True


def test_decode_refused_while_a_module_is_unlocked(rw):  # noqa: F811
    rw.fill()
    rw.theory.locked_at = rw.theory.locked_at or __import__("app.db", fromlist=["utcnow"]).utcnow()
    db.session.commit()
    resp = rw.post("organizer", "/decode")
    assert resp.status_code == 409
    assert resp.get_json()["error"]["code"] == "modules_not_locked"
    assert resp.get_json()["error"]["details"]["modules"] == [{"id": rw.practical.id, "name": "实操"}]
    db.session.refresh(rw.competition)
    assert rw.competition.is_decoded is False
    rw.assert_blind(rw.get("organizer", "/results"))


def test_decode_after_every_lock_shows_names_to_organizers_and_is_audited(rw):  # noqa: F811
    rw.fill()
    rw.lock_all()
    resp = rw.post("organizer", "/decode")
    assert resp.status_code == 200 and resp.get_json() == {"competition_id": rw.competition.id, "decoded": True}
    assert len(rw.audit("competition_decode")) == 1
    assert rw.post("organizer", "/decode").status_code == 409  # already decoded
    data = rw.get("organizer", "/results").get_json()
    first = data["entries"][0]
    assert (first["code"], first["name"], first["enterprise_name"]) == ("A101", "张帅坤", "甲机械厂")
    assert first["worker_id"] == rw.workers[0].id


def test_publish_requires_decoding_and_scoring_closed(rw):  # noqa: F811
    rw.fill()
    rw.lock_all()
    resp = rw.post("organizer", "/results/publish", {})
    assert resp.status_code == 409 and resp.get_json()["error"]["code"] == "not_decoded"
    assert rw.post("organizer", "/decode").status_code == 200
    resp = rw.post("organizer", "/results/publish", {})  # still running
    assert resp.status_code == 409 and resp.get_json()["error"]["code"] == "transition_not_allowed"
    assert db.session.query(ResultVersion).count() == 0


def test_publish_refuses_incomplete_marks(rw):  # noqa: F811
    rw.fill(("A101", "A102", "A103"))
    rw.mark("A104", rw.t1, "j1", 60)  # A104 has only its theory mark
    rw.lock_all()
    rw.set_status("scoring_closed")
    assert rw.post("organizer", "/decode").status_code == 200
    resp = rw.post("organizer", "/results/publish", {})
    assert resp.status_code == 409
    assert resp.get_json()["error"]["code"] == "results_incomplete"
    assert resp.get_json()["error"]["details"]["codes"] == ["A104"]


def test_publish_then_correction_keeps_versions_with_reasons(rw):  # noqa: F811
    rw.ready_to_publish()
    resp = rw.post("organizer", "/results/publish", {})
    assert resp.status_code == 201, resp.get_json()
    assert resp.get_json()["version"] == 1
    db.session.refresh(rw.competition)
    assert rw.competition.status == "published"
    # a correction without a reason is refused
    resp = rw.post("organizer", "/results/publish", {"reason": "  "})
    assert resp.status_code == 422 and resp.get_json()["error"]["code"] == "reason_required"
    # a mark corrected after an appeal, then a new version
    rw.mark("A104", rw.p2, "j1", 20)
    db.session.commit()
    resp = rw.post("admin", "/results/publish", {"reason": "申诉复核：A104 尺寸分更正"})
    assert resp.status_code == 201 and resp.get_json()["version"] == 2
    versions = rw.get("organizer", "/results/versions").get_json()["versions"]
    assert [(v["version"], v["reason"]) for v in versions] == [(2, "申诉复核：A104 尺寸分更正"), (1, "")]
    v1 = rw.get("organizer", "/results/versions/1").get_json()
    v2 = rw.get("organizer", "/results/versions/2").get_json()
    assert {e["code"]: e["total"] for e in v1["entries"]}["A104"] == "55.33"  # frozen
    assert {e["code"]: e["total"] for e in v2["entries"]}["A104"] == "78.67"
    assert rw.get("organizer", "/results/versions/3").status_code == 404
    published = rw.get("anonymous", "/results/published").get_json()
    assert published["version"] == 2 and published["corrected"] is True
    assert len(rw.audit("results_publish")) == 2


def test_published_view_masks_names_without_consent(rw):  # noqa: F811
    assert rw.get("anonymous", "/results/published").status_code == 404
    rw.ready_to_publish()
    assert rw.post("organizer", "/results/publish", {}).status_code == 201
    for role in ROLES:
        resp = rw.get(role, "/results/published")
        assert resp.status_code == 200, role
    data = resp.get_json()
    rows = {e["code"]: e for e in data["entries"]}
    assert (rows["A101"]["name"], rows["A101"]["name_masked"], rows["A101"]["enterprise_name"]) == (
        "张帅坤", False, "甲机械厂")
    assert (rows["A102"]["name"], rows["A102"]["name_masked"], rows["A102"]["enterprise_name"]) == ("李*国", True, None)
    text = resp.get_data(as_text=True)
    for secret in ("李建国", "王秀英", "赵大力", "乙汽车厂", "丙钢铁厂", "丁电力厂"):
        assert secret not in text
    for key in ("worker_id", "entry_id", "enterprise_id", "publicity_consent", "total_exact", "promotion"):
        assert key not in text
    assert rows["A102"]["total"] == "89.33" and rows["A102"]["rank"] == 2
    # consent is read when the view is served: given after publication, it counts from then on
    from app.people.consents import record_consent

    record_consent(rw.workers[1], "publicity", True, actor_id=None)
    db.session.commit()
    rows = {e["code"]: e for e in rw.get("anonymous", "/results/published").get_json()["entries"]}
    assert (rows["A102"]["name"], rows["A102"]["name_masked"], rows["A102"]["enterprise_name"]) == (
        "李建国", False, "乙汽车厂")
    assert rows["A103"]["name_masked"] is True


def test_xlsx_export(rw):  # noqa: F811
    rw.fill()
    resp = rw.client.get(rw.url("/results.xlsx"), headers=rw.headers("organizer"))
    assert resp.status_code == 200
    sheet = load_workbook(io.BytesIO(resp.data)).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[1][:2] == (1, "A101") and "张帅坤" not in str(rows)  # not decoded yet
    rw.lock_all()
    rw.post("organizer", "/decode")
    sheet = load_workbook(io.BytesIO(rw.client.get(rw.url("/results.xlsx"), headers=rw.headers("organizer")).data)).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[1][:4] == (1, "A101", "张帅坤", "甲机械厂")
    assert str(rows[2][6]) == "89.33"


@pytest.mark.parametrize("prefix", ["=", "+", "-", "@", "\t", "\r"])
def test_xlsx_export_escapes_formula_cells(rw, prefix):  # noqa: F811
    rw.fill()
    rw.lock_all()
    rw.post("organizer", "/decode")
    rw.theory.name = prefix + "SUM(A1)"
    rw.enterprises[0].name = prefix + "cmd|' /C calc'!A0"
    db.session.commit()
    sheet = load_workbook(io.BytesIO(rw.client.get(rw.url("/results.xlsx"), headers=rw.headers("organizer")).data)).active
    cells = [c for row in sheet.iter_rows() for c in row]
    texts = [c.value for c in cells if isinstance(c.value, str)]
    assert all(c.data_type != "f" for c in cells)
    assert not any(t[0] in "=+-@\t\r" for t in texts)
    assert sum(1 for t in texts if t[0] == "'" and t[2:] in ("SUM(A1)", "cmd|' /C calc'!A0")) >= 2


@pytest.mark.parametrize("role", ROLES)
def test_permissions(rw, role):  # noqa: F811
    rw.fill()
    rw.lock_all()
    organizer = role in ("organizer", "admin")
    denied = 401 if role == "anonymous" else 403
    expect = 200 if organizer else denied
    assert rw.get(role, "/results").status_code == expect
    assert rw.get(role, "/results/versions").status_code == expect
    assert rw.get(role, "/results.xlsx").status_code == expect
    assert rw.get(role, "/board").status_code == 200
    assert rw.get(role, "/results/published").status_code == 404  # nothing published yet, for everyone
    resp = rw.post(role, "/decode")
    assert resp.status_code == expect
    if not organizer:
        db.session.refresh(rw.competition)
        assert rw.competition.is_decoded is False
        rw.competition.is_decoded = True
        db.session.commit()
    rw.set_status("scoring_closed")
    assert rw.post(role, "/results/publish", {}).status_code == (201 if organizer else denied)


def test_unknown_competition_is_404(rw):  # noqa: F811
    for suffix in ("/results", "/results/versions", "/results.xlsx"):
        resp = rw.client.get(f"/api/v1/competitions/999999{suffix}", headers=rw.headers("organizer"))
        assert resp.status_code == 404, suffix
    for suffix in ("/board", "/results/published", "/board/stream"):
        assert rw.client.get(f"/api/v1/competitions/999999{suffix}").status_code == 404, suffix
