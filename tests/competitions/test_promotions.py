"""Skill-level promotion decisions (竞赛晋级): the organizer confirms or declines the recommendations of the latest
published results version; nobody else may; declining needs a reason; nothing before publication; audited;
a decision made on an older version is shown as such; the review page shows the section and its buttons.

In the ``rw`` world (bands: rank 1 up one level + 全国技术能手, ranks 2–3 to level 3):
A101 rank 1, level 2 → 1 with the title; A102 rank 2, level 4 → 3; A103 rank 2 already at 3 (nothing to decide);
A104 rank 4 and A105 absent: no band.
"""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from app.accounts.models import Role
from app.audit.models import AuditEntry
from app.db import db
from competitions.models import PromotionDecision
from tests.competitions.results_fixtures import rw  # noqa: F401
from tests.conftest import csrf_token, login_as


def _publish(rw) -> None:  # noqa: F811
    rw.ready_to_publish()
    resp = rw.post("organizer", "/results/publish", {})
    assert resp.status_code == 201, resp.get_json()


def _decisions(rw) -> list[PromotionDecision]:  # noqa: F811
    db.session.expire_all()
    return list(db.session.scalars(select(PromotionDecision).where(
        PromotionDecision.competition_id == rw.competition.id).order_by(PromotionDecision.entry_id)))


def _audit_count() -> int:
    return db.session.scalar(select(func.count()).select_from(AuditEntry).where(
        AuditEntry.action == "promotion_decision"))


def _decide(rw, code: str, decision: str, note: str = "", role: str = "organizer"):  # noqa: F811
    return rw.post(role, f"/promotions/{rw.entries[code].id}", {"decision": decision, "note": note})


def test_list_shows_the_decidable_recommendations_of_the_latest_version(rw):  # noqa: F811
    _publish(rw)
    resp = rw.get("organizer", "/promotions")
    assert resp.status_code == 200, resp.get_json()
    data = resp.get_json()
    assert data["version"] == 1
    rows = {r["code"]: r for r in data["promotions"]}
    assert list(rows) == ["A101", "A102"]  # A103 is already at level 3: nothing to decide
    a101, a102 = rows["A101"], rows["A102"]
    assert (a101["name"], a101["rank"], a101["outcome"]) == ("张帅坤", 1, "promote")
    assert (a101["current_level"], a101["recommended_level"], a101["title"]) == (2, 1, "national_technical_expert")
    assert (a101["current_level_label"], a101["recommended_level_label"]) == ("二级/技师", "一级/高级技师")
    assert a101["title_label"] == "全国技术能手"
    assert (a102["name"], a102["recommended_level"], a102["recommended_level_label"]) == ("李建国", 3, "三级/高级工")
    assert a101["decision"] is None and a102["decision"] is None


def test_before_publication_nothing_to_list_and_deciding_is_409(rw):  # noqa: F811
    rw.ready_to_publish()  # decoded, scoring closed, not published
    resp = rw.get("organizer", "/promotions")
    assert resp.status_code == 200
    assert resp.get_json() == {"competition_id": rw.competition.id, "version": None, "promotions": []}
    resp = _decide(rw, "A101", "confirmed")
    assert resp.status_code == 409
    assert resp.get_json()["error"]["code"] == "results_not_published"
    assert _decisions(rw) == [] and _audit_count() == 0


@pytest.mark.parametrize("role", ["hr", "hr_other", "judge", "worker", "anonymous"])
def test_only_organizers_may_list_or_decide(rw, role, create_user, create_enterprise):  # noqa: F811
    from app.accounts.services import create_token

    _publish(rw)
    if role == "hr_other":
        other = create_user(Role.HR, enterprise=create_enterprise(name="己纺织厂"))
        rw.tokens["hr_other"] = create_token(other, "test").secret
        db.session.commit()
    expected = 401 if role == "anonymous" else 403
    resp = rw.get(role, "/promotions")
    assert resp.status_code == expected
    for secret in rw.secrets():
        assert secret not in resp.get_data(as_text=True)
    assert _decide(rw, "A101", "confirmed", role=role).status_code == expected
    assert _decide(rw, "A102", "declined", "不符合条件", role=role).status_code == expected
    assert _decisions(rw) == [] and _audit_count() == 0


@pytest.mark.parametrize("role", ["organizer", "admin"])
def test_organizer_confirms_then_declines_with_audit(rw, role):  # noqa: F811
    _publish(rw)
    resp = _decide(rw, "A101", "confirmed", role=role)
    assert resp.status_code == 200, resp.get_json()
    body = resp.get_json()
    assert body["code"] == "A101" and body["decision"]["decision"] == "confirmed"
    assert body["decision"]["version"] == 1 and body["decision"]["stale"] is False
    [d] = _decisions(rw)
    assert (d.decision, d.version, d.outcome, d.recommended_level, d.title, d.note) == (
        "confirmed", 1, "promote", 1, "national_technical_expert", "")
    assert d.decided_by_id == rw.users[role].id
    first = rw.audit("promotion_decision")
    assert len(first) == 1 and first[0].details["decision"] == "confirmed" and first[0].details["previous"] is None
    assert first[0].actor_id == rw.users[role].id

    # the same decision again changes nothing
    assert _decide(rw, "A101", "confirmed", role=role).status_code == 200
    assert _audit_count() == 1

    # decided again: the row is updated and the audit keeps the previous decision
    resp = _decide(rw, "A101", "declined", "  材料不全  ", role=role)
    assert resp.status_code == 200, resp.get_json()
    [d] = _decisions(rw)
    assert (d.decision, d.note) == ("declined", "材料不全")
    entries = rw.audit("promotion_decision")
    assert len(entries) == 2
    assert entries[1].details["previous"]["decision"] == "confirmed"
    assert entries[1].details["note"] == "材料不全"
    listed = {r["code"]: r for r in rw.get(role, "/promotions").get_json()["promotions"]}
    assert listed["A101"]["decision"]["decision"] == "declined"
    assert listed["A101"]["decision"]["note"] == "材料不全"
    assert listed["A102"]["decision"] is None


@pytest.mark.parametrize("note", ["", "   "])
def test_decline_without_a_reason_is_422_and_writes_nothing(rw, note):  # noqa: F811
    _publish(rw)
    resp = _decide(rw, "A102", "declined", note)
    assert resp.status_code == 422
    error = resp.get_json()["error"]
    assert error["code"] == "validation_error" and "note" in error["details"]
    assert _decisions(rw) == [] and _audit_count() == 0


def test_invalid_body_and_entries_without_a_recommendation(rw):  # noqa: F811
    _publish(rw)
    assert _decide(rw, "A101", "maybe").status_code == 422
    assert rw.post("organizer", f"/promotions/{rw.entries['A101'].id}", {"note": "x"}).status_code == 422
    assert _decide(rw, "A101", "declined", "x" * 2001).status_code == 422
    for code in ("A103", "A104", "A105"):  # already at the level / outside the bands / absent
        resp = _decide(rw, code, "confirmed")
        assert resp.status_code == 404, code
        assert resp.get_json()["error"]["code"] == "no_recommendation"
    assert rw.post("organizer", "/promotions/999999", {"decision": "confirmed"}).status_code == 404
    resp = rw.client.post("/api/v1/competitions/999999/promotions/1", json={"decision": "confirmed"},
                          headers=rw.headers("organizer"))
    assert resp.status_code == 404
    assert _decisions(rw) == [] and _audit_count() == 0


def test_decision_on_an_older_version_is_shown_as_such_and_may_be_redecided(rw):  # noqa: F811
    _publish(rw)
    assert _decide(rw, "A101", "confirmed").status_code == 200
    assert _decide(rw, "A102", "confirmed").status_code == 200
    # a correction that lowers A102 out of the bands' recommendation: its level is now 3 already
    rw.workers[1].skill_level = 3
    db.session.commit()
    resp = rw.post("organizer", "/results/publish", {"reason": "职业等级更正"})
    assert resp.status_code == 201, resp.get_json()
    rows = {r["code"]: r for r in rw.get("organizer", "/promotions").get_json()["promotions"]}
    assert rows["A101"]["decision"]["stale"] is True and rows["A101"]["decision"]["changed"] is False
    assert "A102" not in rows  # nothing to decide any more
    resp = _decide(rw, "A101", "confirmed")
    assert resp.status_code == 200
    assert resp.get_json()["decision"]["stale"] is False and resp.get_json()["decision"]["version"] == 2
    assert _audit_count() == 3


# --- the review page --------------------------------------------------------------------------------------


def _browser(rw, role="organizer"):  # noqa: F811
    client = rw.client.application.test_client()
    login_as(client, rw.users[role])
    client.set_cookie("lang", "en")
    return client


def test_review_page_shows_the_section_and_decides(rw):  # noqa: F811
    client = _browser(rw)
    base = f"/competitions/{rw.competition.id}/results"
    rw.ready_to_publish()
    assert 'id="promotions"' not in client.get(base).get_data(as_text=True)  # not before publication
    resp = rw.post("organizer", "/results/publish", {})
    assert resp.status_code == 201
    html = client.get(base).get_data(as_text=True)
    assert 'id="promotions"' in html and "Promotion recommendations" in html
    a101, a102 = rw.entries["A101"].id, rw.entries["A102"].id
    for entry_id in (a101, a102):
        assert f'action="{base}/promotions/{entry_id}"' in html
    assert html.count('name="decision" value="confirmed"') == 2
    assert html.count('name="decision" value="declined"') == 2
    assert "Not decided" in html and "张帅坤" in html and "National technical expert" in html

    token = csrf_token(client)
    resp = client.post(f"{base}/promotions/{a101}", data={"csrf_token": token, "decision": "confirmed"})
    assert resp.status_code == 302
    # declining without a reason: flashed back, nothing written
    resp = client.post(f"{base}/promotions/{a102}", data={"csrf_token": token, "decision": "declined", "note": ""},
                       headers={"Referer": f"http://localhost{base}"})
    assert resp.status_code == 302
    page = client.get(base).get_data(as_text=True)
    assert "Give a reason for declining the promotion." in page
    assert [(d.entry_id, d.decision) for d in _decisions(rw)] == [(a101, "confirmed")]
    resp = client.post(f"{base}/promotions/{a102}", data={"csrf_token": token, "decision": "declined",
                                                          "note": "未满足工作年限"})
    assert resp.status_code == 302
    page = client.get(base).get_data(as_text=True)
    assert "Confirmed" in page and "Declined" in page and "未满足工作年限" in page
    assert [(d.entry_id, d.decision) for d in _decisions(rw)] == [(a101, "confirmed"), (a102, "declined")]
    # without the CSRF token: refused
    resp = client.post(f"{base}/promotions/{a102}", data={"decision": "confirmed"})
    assert resp.status_code == 400
    assert _decisions(rw)[1].decision == "declined"


@pytest.mark.parametrize("role", ["hr", "judge", "worker"])
def test_review_page_decisions_refused_for_other_roles(rw, role):  # noqa: F811
    _publish(rw)
    client = _browser(rw, role)
    resp = client.post(f"/competitions/{rw.competition.id}/results/promotions/{rw.entries['A101'].id}",
                       data={"csrf_token": csrf_token(client), "decision": "confirmed"})
    assert resp.status_code == 403
    assert _decisions(rw) == []


def test_openapi_documents_the_promotion_routes(client):
    doc = client.get("/api/v1/openapi.json").get_json()
    listed = doc["paths"]["/api/v1/competitions/{competition_id}/promotions"]["get"]
    decide = doc["paths"]["/api/v1/competitions/{competition_id}/promotions/{entry_id}"]["post"]
    assert "200" in listed["responses"] and "200" in decide["responses"]
    body = decide["requestBody"]["content"]["application/json"]["schema"]
    schema = doc["components"]["schemas"][body["$ref"].rsplit("/", 1)[-1]]
    assert schema["properties"]["decision"]["enum"] == ["confirmed", "declined"]
    assert "decision" in schema["required"]


def test_the_list_reads_a_fixed_number_of_queries_whatever_the_decisions(rw):  # noqa: F811
    from sqlalchemy import event

    from competitions.services.promotions import list_promotions

    _publish(rw)
    organizer = rw.users["organizer"]

    def count() -> int:
        seen = []

        def before(*_args, **_kw):
            seen.append(1)

        db.session.expire_all()
        event.listen(db.engine, "before_cursor_execute", before)
        try:
            rows = list_promotions(organizer, rw.competition.id)["promotions"]
        finally:
            event.remove(db.engine, "before_cursor_execute", before)
        assert len(rows) == 2
        return len(seen)

    undecided = count()
    _decide(rw, "A101", "confirmed")
    _decide(rw, "A102", "declined", "理由")
    db.session.commit()
    assert count() == undecided
