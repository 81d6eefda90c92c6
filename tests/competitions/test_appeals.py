"""Appeals (申诉): the window rule and the decision table (pure), the service, the JSON API and the pages — for every
role, HR of another enterprise included; window boundaries to the microsecond; bad input → 4xx and nothing
written; every change audited."""

from __future__ import annotations

import html
from datetime import UTC, datetime, timedelta

import pytest
from flask_babel import force_locale
from sqlalchemy import func, select

from app.audit.models import AuditEntry
from app.db import db, utcnow
from app.errors import Conflict, DomainError, NotFound, PermissionDenied
from competitions.domain import DomainRuleError
from competitions.domain.appeals import AppealState, WindowAnchor, WindowState, appeal_transition, appeal_window
from competitions.models import Appeal, ResultVersion
from competitions.services import appeals as services
from tests.competitions import registration_judging_fixtures as fixtures
from tests.conftest import csrf_token, login_as

world = fixtures.world
T0 = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)
US = timedelta(microseconds=1)


# --- pure rules --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("now, state", [
    (T0 - US, WindowState.NOT_OPEN),
    (T0, WindowState.OPEN),
    (T0 + timedelta(minutes=119), WindowState.OPEN),
    (T0 + timedelta(minutes=120), WindowState.OPEN),  # the last moment is still on time
    (T0 + timedelta(minutes=120) + US, WindowState.CLOSED),
])
def test_window_from_the_module_end(now, state):
    w = appeal_window(T0, None, 120)
    assert (w.opens_at, w.closes_at, w.anchor) == (T0, T0 + timedelta(hours=2), WindowAnchor.MODULE_END)
    assert w.state(now) is state


def test_window_from_publication_when_the_module_has_no_end():
    w = appeal_window(None, T0, 30)
    assert w.anchor is WindowAnchor.PUBLICATION and w.closes_at == T0 + timedelta(minutes=30)
    assert appeal_window(T0 - timedelta(days=1), T0, 30).anchor is WindowAnchor.MODULE_END  # the end wins


def test_no_end_and_nothing_published_never_opens():
    w = appeal_window(None, None, 120)
    assert w.state(T0) is WindowState.NOT_OPEN and w.opens_at is None


def test_zero_minutes_is_one_instant_and_negative_is_refused():
    w = appeal_window(T0, None, 0)
    assert w.state(T0) is WindowState.OPEN and w.state(T0 + US) is WindowState.CLOSED
    with pytest.raises(ValueError):
        appeal_window(T0, None, -1)


@pytest.mark.parametrize("state, event, to", [("open", "uphold", AppealState.UPHELD), ("open", "reject", AppealState.REJECTED)])
def test_decision_table(state, event, to):
    assert appeal_transition(state, event) is to


@pytest.mark.parametrize("state, event, reason", [
    ("upheld", "reject", "already_decided"), ("rejected", "uphold", "already_decided"),
    ("upheld", "uphold", "already_decided"), ("open", "maybe", "unknown_event")])
def test_decision_table_refusals(state, event, reason):
    with pytest.raises(DomainRuleError) as exc:
        appeal_transition(state, event)
    assert (exc.value.code, exc.value.reason) == ("transition_not_allowed", reason)


# --- service -----------------------------------------------------------------------------------------------


def _appeals() -> int:
    return db.session.scalar(select(func.count()).select_from(Appeal))


def _actions() -> list[str]:
    return list(db.session.scalars(select(AuditEntry.action).order_by(AuditEntry.id)))


@pytest.fixture
def running(world):
    """The competition running, module 1 ended at T0 (window 120 min), approved entries of A and B."""
    world.set_status("running")
    world.module1.ends_at = T0
    world.competition.appeal_window_minutes = 120
    db.session.flush()
    world.entry_a = world.entry(world.workers_a[0], status="approved", code="001")
    world.entry_b = world.entry(world.workers_b[0], status="approved", code="002")
    return world


def _file(w, role="hr_a", entry=None, module=None, text="评分有误，请复核。", now=T0 + timedelta(minutes=5)):
    return services.file_appeal(w.users[role], w.competition.id, (entry or w.entry_a).id, (module or w.module1).id,
                                text, now=now)


def test_hr_files_within_the_window_and_it_is_audited(running):
    view = _file(running)
    assert view.status == "open" and view.appeal.filed_by_id == running.users["hr_a"].id
    assert view.appeal.text == "评分有误，请复核。" and view.code is None  # HR sees no code before decoding
    assert _actions()[-1] == "competition_appeal_filed"


@pytest.mark.parametrize("offset, code", [(-US, "appeal_window_not_open"), (timedelta(minutes=120) + US, "appeal_window_closed")])
def test_outside_the_window_is_refused_clearly(running, offset, code):
    with force_locale("en"), pytest.raises(Conflict) as exc:
        _file(running, now=T0 + offset)
    assert exc.value.code == code and exc.value.status == 409
    assert "模块一" in str(exc.value.message)
    assert exc.value.details["closes_at"] == T0 + timedelta(minutes=120)
    assert _appeals() == 0


def test_at_the_last_moment_it_is_on_time(running):
    assert _file(running, now=T0 + timedelta(minutes=120)).status == "open"


def test_module_without_end_opens_at_publication(running):
    with pytest.raises(Conflict) as exc:
        _file(running, module=running.module2)
    assert exc.value.code == "appeal_window_not_open" and exc.value.details["opens_at"] is None
    db.session.add(ResultVersion(competition_id=running.competition.id, version=1, published_at=T0 + timedelta(hours=5),
                                 published_by_id=running.users["organizer"].id, snapshot={}))
    running.set_status("published")
    view = _file(running, module=running.module2, now=T0 + timedelta(hours=6))
    assert view.module_id == running.module2.id
    with pytest.raises(Conflict):
        _file(running, entry=running.entry_a, module=running.module2, now=T0 + timedelta(hours=7, seconds=1))


def test_hr_of_another_enterprise_and_other_roles(running):
    with pytest.raises(NotFound):
        _file(running, role="hr_b")  # A's entry reads like an unknown one
    for role in ("organizer", "admin", "judge_on", "worker"):
        with pytest.raises(PermissionDenied):
            _file(running, role=role)
    assert _appeals() == 0


@pytest.mark.parametrize("text", ["", "   ", "x" * 5001, None])
def test_bad_text_is_422(running, text):
    with pytest.raises(DomainError) as exc:
        _file(running, text=text)
    assert exc.value.status == 422 and "text" in exc.value.details
    assert _appeals() == 0


def test_unknown_module_or_entry_of_another_competition(running):
    other = fixtures.make_competition("另一个比赛", status="running")
    other_module, _aspects = fixtures.make_module(other, 1, "别的模块")
    with pytest.raises(NotFound):
        _file(running, module=other_module)
    other_entry = running.entry(running.workers_a[1], status="approved", competition=other)
    with pytest.raises(NotFound):
        _file(running, entry=other_entry)
    assert _appeals() == 0


@pytest.mark.parametrize("status", ["registration_open", "registration_closed"])
def test_not_under_way_is_409(running, status):
    running.set_status(status)
    with pytest.raises(Conflict) as exc:
        _file(running)
    assert exc.value.code == "wrong_phase"


def test_entry_not_approved_is_409(running):
    withdrawn = running.entry(running.workers_a[1], status="withdrawn")
    with pytest.raises(Conflict) as exc:
        _file(running, entry=withdrawn)
    assert exc.value.code == "wrong_entry_status"


def test_one_open_appeal_per_entry_and_module(running):
    first = _file(running)
    with pytest.raises(Conflict) as exc:
        _file(running)
    assert exc.value.code == "appeal_open" and _appeals() == 1
    services.decide_appeal(running.users["organizer"], running.competition.id, first.id, "reject", "记录无误")
    assert _file(running).id != first.id  # decided: a new appeal may be filed while the window is open


def test_lists_are_scoped(running):
    a = _file(running)
    b = _file(running, role="hr_b", entry=running.entry_b)
    _c, hr_a = services.list_appeals(running.users["hr_a"], running.competition.id)
    _c, hr_b = services.list_appeals(running.users["hr_b"], running.competition.id)
    _c, org = services.list_appeals(running.users["organizer"], running.competition.id)
    assert [v.id for v in hr_a] == [a.id] and [v.id for v in hr_b] == [b.id] and {v.id for v in org} == {a.id, b.id}
    assert all(v.code for v in org)  # organizers may see codes (the pages show them only after decoding)
    with pytest.raises(NotFound):
        services.get_appeal(running.users["hr_b"], running.competition.id, a.id)
    for role in ("judge_on", "worker"):
        with pytest.raises(PermissionDenied):
            services.list_appeals(running.users[role], running.competition.id)


def test_decisions(running):
    a = _file(running)
    org = running.users["organizer"]
    with pytest.raises(PermissionDenied):
        services.decide_appeal(running.users["hr_a"], running.competition.id, a.id, "uphold", "x")
    with pytest.raises(DomainError) as exc:
        services.decide_appeal(org, running.competition.id, a.id, "uphold", "  ")
    assert exc.value.status == 422 and "note" in exc.value.details
    with pytest.raises(DomainError) as exc:
        services.decide_appeal(org, running.competition.id, a.id, "maybe", "x")
    assert exc.value.status == 422
    db.session.refresh(a.appeal)
    assert a.appeal.status == "open"
    done = services.decide_appeal(org, running.competition.id, a.id, "uphold", "第3号评分项重新评分")
    assert (done.status, done.appeal.decision, done.decided_by) == ("upheld", "第3号评分项重新评分", org.display_name)
    assert services.next_step(done, running.competition) == "correct_marks"
    assert _actions()[-1] == "competition_appeal_upheld"
    with pytest.raises(Conflict) as exc:
        services.decide_appeal(org, running.competition.id, a.id, "reject", "改主意")
    assert exc.value.code == "appeal_decided"
    with pytest.raises(NotFound):
        services.decide_appeal(org, running.competition.id, 10**9, "reject", "x")


def test_correction_needs_an_upheld_appeal_and_published_results(running):
    a = _file(running)
    org = running.users["organizer"]
    with pytest.raises(Conflict) as exc:
        services.publish_correction(org, running.competition.id, a.id)
    assert exc.value.code == "appeal_not_upheld"
    services.decide_appeal(org, running.competition.id, a.id, "uphold", "重新评分")
    with pytest.raises(Conflict) as exc:
        services.publish_correction(org, running.competition.id, a.id)
    assert exc.value.code == "not_published"


def test_options_show_which_pairs_can_be_appealed(running):
    _file(running)
    options = services.appeal_options(running.users["hr_a"], running.competition.id, now=T0 + timedelta(minutes=5))
    assert {(o.entry.id, o.module.id, o.state, o.can_file) for o in options} == {
        (running.entry_a.id, running.module1.id, WindowState.OPEN, False),  # already open
        (running.entry_a.id, running.module2.id, WindowState.NOT_OPEN, False)}


# --- API ---------------------------------------------------------------------------------------------------


def _recent(w, minutes_ago: float = 5) -> None:
    w.module1.ends_at = utcnow() - timedelta(minutes=minutes_ago)
    db.session.flush()


def test_api_file_read_decide(running):
    _recent(running)
    url = running.url("/appeals")
    resp = running.post("hr_a", url, {"entry_id": running.entry_a.id, "module_id": running.module1.id, "text": "请复核"})
    assert resp.status_code == 201, resp.json
    appeal_id = resp.json["id"]
    assert resp.json["worker"]["name"] == running.workers_a[0].name and resp.json["code"] is None
    assert running.get("hr_b", running.url(f"/appeals/{appeal_id}")).status_code == 404
    assert running.get("hr_b", url).json["items"] == []
    assert running.get("organizer", url).json["items"][0]["code"] == "001"
    assert running.get("judge_off", url).status_code == 403  # a judge who leads no module
    chief = running.get("judge_on", url)  # module 1's chief judge: the blind view (test_appeals_chief.py)
    assert chief.status_code == 200 and chief.json["items"][0]["code"] == "001" and "worker" not in chief.json["items"][0]
    resp = running.post("hr_a", running.url(f"/appeals/{appeal_id}/decision"), {"decision": "reject", "note": "x"})
    assert resp.status_code == 403, resp.json
    resp = running.post("organizer", running.url(f"/appeals/{appeal_id}/decision"), {"decision": "reject", "note": "记录无误"})
    assert resp.status_code == 200 and resp.json["status"] == "rejected" and resp.json["next_step"] is None
    resp = running.post("organizer", running.url(f"/appeals/{appeal_id}/decision"), {"decision": "uphold", "note": "x"})
    assert resp.status_code == 409 and resp.json["error"]["code"] == "appeal_decided"
    assert running.get("anonymous", url).status_code == 401  # last: it leaves a session cookie behind


@pytest.mark.parametrize("body", [
    {},
    {"entry_id": "1", "module_id": 1, "text": "x"},
    {"entry_id": 1, "module_id": 1, "text": ""},
    {"entry_id": 1, "module_id": 1, "text": "x" * 5001},
    {"entry_id": 1, "module_id": 1},
])
def test_api_bad_bodies_are_422_and_nothing_written(running, body):
    _recent(running)
    resp = running.post("hr_a", running.url("/appeals"), body)
    assert resp.status_code == 422 and _appeals() == 0


def test_api_window_closed_is_409_with_the_times(running):
    _recent(running, minutes_ago=121)
    resp = running.post("hr_a", running.url("/appeals"),
                        {"entry_id": running.entry_a.id, "module_id": running.module1.id, "text": "晚了"})
    assert resp.status_code == 409 and resp.json["error"]["code"] == "appeal_window_closed"
    assert resp.json["error"]["details"]["closes_at"] and _appeals() == 0


def test_api_other_enterprise_entry_is_404_without_data(running):
    _recent(running)
    resp = running.post("hr_b", running.url("/appeals"),
                        {"entry_id": running.entry_a.id, "module_id": running.module1.id, "text": "试试"})
    assert resp.status_code == 404 and running.workers_a[0].name not in resp.get_data(as_text=True)
    assert _appeals() == 0


def test_api_decision_bad_input(running):
    _recent(running)
    appeal = _file(running, now=utcnow())
    for body in ({}, {"decision": "maybe", "note": "x"}, {"decision": "uphold", "note": ""}):
        resp = running.post("organizer", running.url(f"/appeals/{appeal.id}/decision"), body)
        assert resp.status_code == 422
    db.session.refresh(appeal.appeal)
    assert appeal.appeal.status == "open"
    assert running.post("organizer", running.url("/appeals/999999/decision"), {"decision": "reject", "note": "x"}
                        ).status_code == 404


def test_api_appeals_are_in_the_openapi_document(running):
    spec = running.client.get("/api/v1/openapi.json").json
    paths = spec["paths"]
    assert "/api/v1/competitions/{competition_id}/appeals" in paths
    assert "/api/v1/competitions/{competition_id}/appeals/{appeal_id}/decision" in paths


# --- pages -------------------------------------------------------------------------------------------------


def _browser(w, role):
    login_as(w.client, w.users[role])
    w.client.set_cookie("lang", "en")
    return csrf_token(w.client)


def test_page_hr_files_and_organizer_decides(running):
    _recent(running)
    page_url = f"/competitions/{running.competition.id}/appeals"
    token = _browser(running, "hr_a")
    page = running.client.get(page_url).get_data(as_text=True)
    assert "File an appeal" in page and f'value="{running.entry_a.id}:{running.module1.id}"' in page
    assert "by entrant code only: do not name the entrant" in html.unescape(page)  # the chief judge reads it blind
    # module 2 has no window yet (match the option's value: a bare "1:2" also matches a clock time on the page)
    assert f'value="{running.entry_a.id}:{running.module2.id}"' not in page
    resp = running.client.post(page_url, data={"csrf_token": token, "target": f"{running.entry_a.id}:{running.module1.id}",
                                               "text": "第二项评分偏低"})
    assert resp.status_code == 302 and _appeals() == 1
    appeal = db.session.scalar(select(Appeal))
    token = _browser(running, "hr_b")
    page = running.client.get(page_url).get_data(as_text=True)
    assert "第二项评分偏低" not in page and running.workers_a[0].name not in page
    token = _browser(running, "organizer")
    page = running.client.get(page_url).get_data(as_text=True)
    assert "第二项评分偏低" in page and running.workers_a[0].name in page and "001" not in page  # sealed code
    resp = running.client.post(f"{page_url}/{appeal.id}/decision",
                               data={"csrf_token": token, f"a{appeal.id}-decision": "uphold", f"a{appeal.id}-note": ""})
    assert resp.status_code == 422
    db.session.refresh(appeal)
    assert appeal.status == "open"
    resp = running.client.post(f"{page_url}/{appeal.id}/decision", data={
        "csrf_token": token, f"a{appeal.id}-decision": "uphold", f"a{appeal.id}-note": "重新评分"})
    assert resp.status_code == 302
    db.session.refresh(appeal)
    assert (appeal.status, appeal.decision) == ("upheld", "重新评分")
    assert "correct the marks" in running.client.get(page_url).get_data(as_text=True)


@pytest.mark.parametrize("target, status", [("", 422), ("x:y", 422), ("999999:1", 404)])
def test_page_bad_targets(running, target, status):
    _recent(running)
    token = _browser(running, "hr_a")
    resp = running.client.post(f"/competitions/{running.competition.id}/appeals",
                               data={"csrf_token": token, "target": target, "text": "x"})
    assert resp.status_code == status and _appeals() == 0


def test_page_window_closed_is_409(running):
    _recent(running, minutes_ago=24 * 60)  # module 1 ended a day ago
    token = _browser(running, "hr_a")
    page = running.client.get(f"/competitions/{running.competition.id}/appeals").get_data(as_text=True)
    assert "No appeal can be filed now" in page
    resp = running.client.post(f"/competitions/{running.competition.id}/appeals", data={
        "csrf_token": token, "target": f"{running.entry_a.id}:{running.module1.id}", "text": "x"})
    assert resp.status_code == 409 and "closed at" in resp.get_data(as_text=True) and _appeals() == 0


@pytest.mark.parametrize("role, status", [("organizer", 200), ("admin", 200), ("hr_a", 200), ("hr_b", 200),
                                          ("judge_on", 403), ("worker", 403)])
def test_page_access(running, role, status):
    _browser(running, role)
    assert running.client.get(f"/competitions/{running.competition.id}/appeals").status_code == status


def test_page_draft_competition_is_404_for_hr(world):
    world.set_status("draft")
    _browser(world, "hr_a")
    assert world.client.get(f"/competitions/{world.competition.id}/appeals").status_code == 404


def test_page_shows_the_correction_published_after_upholding(running):
    _recent(running)
    appeal = _file(running, now=utcnow())
    org = running.users["organizer"]
    services.decide_appeal(org, running.competition.id, appeal.id, "uphold", "更正第一项")
    running.set_status("published")
    db.session.add(ResultVersion(competition_id=running.competition.id, version=1, published_at=utcnow() - timedelta(hours=1),
                                 published_by_id=org.id, snapshot={}))
    db.session.flush()
    _browser(running, "organizer")
    page = running.client.get(f"/competitions/{running.competition.id}/appeals").get_data(as_text=True)
    assert "Publish the corrected results" in page  # only version 1, older than the decision
    db.session.add(ResultVersion(competition_id=running.competition.id, version=2, published_at=utcnow(),
                                 published_by_id=org.id, reason="申诉更正", snapshot={}))
    db.session.flush()
    page = running.client.get(f"/competitions/{running.competition.id}/appeals").get_data(as_text=True)
    assert "Corrected results version 2 was published" in page and "Publish the corrected results" not in page
    _browser(running, "hr_a")
    assert "Corrected results version 2 was published" in running.client.get(
        f"/competitions/{running.competition.id}/appeals").get_data(as_text=True)
