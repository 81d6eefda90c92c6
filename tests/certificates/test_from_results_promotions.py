"""Certificates from a published result: confirmed skill-level promotions (竞赛晋级) get a skill-level certificate
(the level as 三级/高级工, the skill-level template's details), declined or undecided ones none; issued once even
when the action runs twice; the competition's issue page counts them."""

from __future__ import annotations

from sqlalchemy import select

from app.db import db
from tests.competitions.results_fixtures import rw  # noqa: F401
from tests.conftest import _transaction, csrf_token, login_as  # noqa: F401  (database tests)


def _publish(rw) -> None:  # noqa: F811
    rw.competition.award_rules = [{"type": "fixed", "tiers": [["first_prize", 1]]}]
    rw.competition.organizer_name = "市总工会"
    db.session.commit()
    rw.ready_to_publish()
    assert rw.post("organizer", "/results/publish", {}).status_code == 201


def _decide(rw, code, decision, note=""):  # noqa: F811
    resp = rw.post("organizer", f"/promotions/{rw.entries[code].id}", {"decision": decision, "note": note})
    assert resp.status_code == 200, resp.get_json()


def _certificates(competition_id, kind=None):
    from certificates.models import Certificate

    stmt = select(Certificate).where(Certificate.competition_id == competition_id).order_by(Certificate.id)
    if kind:
        stmt = stmt.where(Certificate.kind == kind)
    return list(db.session.scalars(stmt).unique())


def test_plan_has_a_skill_level_row_per_confirmed_promotion(rw, create_trade):  # noqa: F811
    from certificates.services import from_results

    trade = create_trade(name="数控车工")
    rw.competition.trade_id = trade.id
    _publish(rw)
    organizer = rw.users["organizer"]
    assert from_results.plan(organizer, rw.competition.id)["skill_level"] == 0  # nothing confirmed yet
    _decide(rw, "A101", "confirmed")
    _decide(rw, "A102", "declined", "不符合申报条件")
    staged = from_results.plan(organizer, rw.competition.id)
    assert (staged["award"], staged["participation"], staged["skill_level"]) == (1, 3, 1)
    [row] = [r for r in staged["rows"] if r["kind"] == "skill_level"]
    assert row["name"] == "张帅坤" and row["achievement"] == "一级/高级技师"
    assert row["subject_key"] == f"competition:{rw.competition.id}:entry:{rw.entries['A101'].id}:promotion"
    assert row["details"]["skill_level"] == "一级/高级技师"
    assert row["details"]["occupation"] == "数控车工" and row["details"]["evaluator"] == "市总工会"

    # the decision changes: the plan follows
    _decide(rw, "A102", "confirmed")
    _decide(rw, "A101", "declined", "另行评定")
    [row] = [r for r in from_results.plan(organizer, rw.competition.id)["rows"] if r["kind"] == "skill_level"]
    assert row["name"] == "李建国" and row["achievement"] == "三级/高级工"


def test_confirmed_promotions_issued_once_even_when_the_action_runs_twice(rw):  # noqa: F811
    _publish(rw)
    _decide(rw, "A101", "confirmed")
    _decide(rw, "A102", "confirmed")
    client = rw.client.application.test_client()
    login_as(client, rw.users["organizer"])
    url = f"/certificates/competitions/{rw.competition.id}/issue"
    client.set_cookie("lang", "en")
    page = client.get(url).get_data(as_text=True)
    assert "Skill-level certificates (confirmed promotions)</dt><dd>2</dd>" in page
    resp = client.post(url, data={"csrf_token": csrf_token(client)})
    assert resp.status_code == 302, resp.data
    skill = {c.holder_name: c for c in _certificates(rw.competition.id, "skill_level")}
    assert set(skill) == {"张帅坤", "李建国"}
    assert skill["张帅坤"].achievement == "一级/高级技师" and skill["李建国"].achievement == "三级/高级工"
    assert skill["李建国"].serial.startswith("S")
    assert skill["李建国"].details["skill_level"] == "三级/高级工"
    assert len(_certificates(rw.competition.id)) == 6  # 4 award/participation + 2 skill level

    api = client.application.test_client()
    again = api.post(f"/api/v1/competitions/{rw.competition.id}/certificates", json={},
                     headers=rw.headers("organizer"))
    assert again.status_code == 202, again.get_json()
    assert again.get_json()["counts"]["new"] == 0 and again.get_json()["counts"]["issued"] == 6
    assert len(_certificates(rw.competition.id)) == 6


def test_title_only_and_undecided_give_no_skill_level_certificate(rw):  # noqa: F811
    from certificates.services import from_results

    rw.workers[0].skill_level = 1  # A101 already at the top: the band gives the title only
    db.session.commit()
    _publish(rw)
    _decide(rw, "A101", "confirmed")
    staged = from_results.plan(rw.users["organizer"], rw.competition.id)
    assert staged["skill_level"] == 0  # A101: title only; A102: not decided
