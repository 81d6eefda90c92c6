"""Appeals decided by the module's chief judge (裁判长), blind: the service, the JSON API and the chief judge's page.

The chief judge of module 1 (``judge_on``) lists and decides module 1's appeals by entrant code (the module code
with 二次加密) and never receives a worker or enterprise name, a worker or entry id, or who filed the appeal; the
chief judge of module 2, a plain panel judge, HR, a worker and anonymous visitors are refused (403/404/401) and
nothing is written; the organizer keeps the power to decide (arbitration); a second decision is 409; every
decision is audited with its actor.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from app.accounts.models import Role
from app.audit.models import AuditEntry
from app.db import db
from app.errors import Conflict, DomainError, NotFound, PermissionDenied
from competitions.models import Appeal, JudgeProfile, ModuleCode, PanelJudge, ResultVersion
from competitions.services import appeals as services
from competitions.services import judging
from tests.competitions import registration_judging_fixtures as fixtures
from tests.competitions.helpers import forbidden_keys
from tests.conftest import csrf_token, login_as

world = fixtures.world
T0 = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)
BLIND_KEYS = {"entry_id", "worker_id", "worker", "enterprise", "enterprise_id", "worker_name", "enterprise_name",
              "filed_by", "filed_by_id", "id_number", "mobile"}
HR_A_NAME = "甲电力公司领队老周"  # the team leader's name gives the enterprise away: never shown to a judge


@pytest.fixture
def chief(world, create_user):
    """Running; module 1 (chief ``judge_on``, plain panel judge ``judge_plain``) ended at T0; module 2 led by
    ``judge_off``; entries of A (001) and B (002) with module codes M1-xx (二次加密); one open appeal of each
    about module 1 and one of A about module 2."""
    from app.accounts.services import create_token

    w = world
    w.set_status("running")
    w.competition.uses_module_codes = True
    w.competition.appeal_window_minutes = 120
    w.module1.ends_at = T0
    w.module2.ends_at = T0
    w.users["hr_a"].display_name = HR_A_NAME
    plain = create_user(Role.JUDGE)
    panel1, panel2 = judging.get_panel(w.module1.id), judging.get_panel(w.module2.id)
    panel1.members.append(PanelJudge(judge_id=plain.id))
    panel2.chief_judge_id = w.users["judge_off"].id
    w.users["judge_plain"] = plain
    w.tokens["judge_plain"] = create_token(plain, "test").secret
    w.entry_a = w.entry(w.workers_a[0], status="approved", code="001")
    w.entry_b = w.entry(w.workers_b[0], status="approved", code="002")
    db.session.add_all([ModuleCode(entry_id=w.entry_a.id, module_id=w.module1.id, code="M1-17"),
                        ModuleCode(entry_id=w.entry_b.id, module_id=w.module1.id, code="M1-42"),
                        ModuleCode(entry_id=w.entry_a.id, module_id=w.module2.id, code="M2-05")])
    db.session.flush()
    now = T0 + timedelta(minutes=5)
    cid = w.competition.id
    w.appeal_a = services.file_appeal(w.users["hr_a"], cid, w.entry_a.id, w.module1.id, "第二项评分偏低，请复核。", now=now)
    w.appeal_b = services.file_appeal(w.users["hr_b"], cid, w.entry_b.id, w.module1.id, "计时有误。", now=now)
    w.appeal_a2 = services.file_appeal(w.users["hr_a"], cid, w.entry_a.id, w.module2.id, "模块二的申诉。", now=now)
    db.session.commit()
    return w


def _secrets(w) -> list[str]:
    return w.secrets() + [HR_A_NAME]


def _assert_blind(w, text: str, data=None) -> None:
    for secret in _secrets(w):
        assert secret not in text, f"{secret!r} leaked"
    if data is not None:
        assert forbidden_keys(data, BLIND_KEYS) == []


def _state(w) -> list[tuple[int, str, str, int | None]]:
    db.session.expire_all()
    return list(db.session.execute(select(Appeal.id, Appeal.status, Appeal.decision, Appeal.decided_by_id)
                                   .order_by(Appeal.id)).all())


def _audits() -> int:
    return db.session.scalar(select(func.count()).select_from(AuditEntry))


# --- service -----------------------------------------------------------------------------------------------


def test_chief_lists_the_modules_appeals_blind_by_module_code(chief):
    competition, views = services.list_appeals_for_chief(chief.users["judge_on"], chief.competition.id)
    assert competition.id == chief.competition.id
    assert {(v.id, v.code) for v in views} == {(chief.appeal_a.id, "M1-17"), (chief.appeal_b.id, "M1-42")}
    for v in views:
        assert isinstance(v, services.ChiefAppealView) and not hasattr(v, "entry") and not hasattr(v, "appeal")
        _assert_blind(chief, repr(v.as_dict()), v.as_dict())
    _c, other = services.list_appeals_for_chief(chief.users["judge_off"], chief.competition.id)
    assert [(v.id, v.code) for v in other] == [(chief.appeal_a2.id, "M2-05")]
    _c, one = services.list_appeals_for_chief(chief.users["judge_on"], chief.competition.id, module_id=chief.module1.id,
                                              status="open")
    assert len(one) == 2
    with pytest.raises(NotFound):  # a module the judge does not lead
        services.list_appeals_for_chief(chief.users["judge_on"], chief.competition.id, module_id=chief.module2.id)


def test_without_module_codes_the_entry_code_is_shown(chief):
    chief.competition.uses_module_codes = False
    db.session.flush()
    _c, views = services.list_appeals_for_chief(chief.users["judge_on"], chief.competition.id)
    assert {v.code for v in views} == {"001", "002"}


@pytest.mark.parametrize("role", ["judge_plain", "hr_a", "worker", "organizer"])
def test_only_chief_judges_get_the_blind_list(chief, role):
    with pytest.raises(PermissionDenied):
        services.list_appeals_for_chief(chief.users[role], chief.competition.id)


def test_chief_upholds_and_rejects_audited_with_the_actor(chief):
    judge = chief.users["judge_on"]
    up = services.decide_appeal(judge, chief.competition.id, chief.appeal_a.id, "uphold", "第二项由裁判长更正")
    assert isinstance(up, services.ChiefAppealView)
    assert (up.status, up.decision, up.decided_by, up.code) == ("upheld", "第二项由裁判长更正", judge.display_name, "M1-17")
    assert services.next_step(up, chief.competition) == "correct_marks"
    down = services.decide_appeal(judge, chief.competition.id, chief.appeal_b.id, "reject", "计时记录无误")
    assert (down.status, down.decision) == ("rejected", "计时记录无误")
    entries = list(db.session.scalars(select(AuditEntry).where(AuditEntry.action.in_(
        ["competition_appeal_upheld", "competition_appeal_rejected"])).order_by(AuditEntry.id)))
    assert [(e.action, e.actor_id, e.target_id, e.details["decided_as"]) for e in entries] == [
        ("competition_appeal_upheld", judge.id, str(chief.appeal_a.id), "chief_judge"),
        ("competition_appeal_rejected", judge.id, str(chief.appeal_b.id), "chief_judge")]
    with pytest.raises(Conflict) as exc:
        services.decide_appeal(judge, chief.competition.id, chief.appeal_a.id, "reject", "改主意")
    assert exc.value.code == "appeal_decided"


@pytest.mark.parametrize("role, error", [("judge_off", NotFound), ("judge_plain", PermissionDenied),
                                         ("hr_a", PermissionDenied), ("worker", PermissionDenied)])
def test_others_cannot_decide_and_nothing_is_written(chief, role, error):
    before, audits = _state(chief), _audits()
    with pytest.raises(error):
        services.decide_appeal(chief.users[role], chief.competition.id, chief.appeal_a.id, "uphold", "x")
    assert _state(chief) == before and _audits() == audits
    if role == "judge_off":
        with pytest.raises(NotFound):
            services.get_appeal_for_chief(chief.users[role], chief.competition.id, chief.appeal_a.id)


def test_bad_decisions_are_422_and_nothing_written(chief):
    before = _state(chief)
    for decision, note in (("uphold", "  "), ("reject", ""), ("maybe", "x")):
        with pytest.raises(DomainError) as exc:
            services.decide_appeal(chief.users["judge_on"], chief.competition.id, chief.appeal_a.id, decision, note)
        assert exc.value.status == 422
    assert _state(chief) == before


def test_the_organizer_still_decides_and_the_chief_then_gets_409(chief):
    org = chief.users["organizer"]
    view = services.decide_appeal(org, chief.competition.id, chief.appeal_a.id, "reject", "仲裁：维持原评分")
    assert isinstance(view, services.AppealView) and view.entry.worker.name == chief.workers_a[0].name
    with pytest.raises(Conflict):
        services.decide_appeal(chief.users["judge_on"], chief.competition.id, chief.appeal_a.id, "uphold", "x")
    services.decide_appeal(chief.users["judge_on"], chief.competition.id, chief.appeal_b.id, "uphold", "更正")
    with pytest.raises(Conflict):
        services.decide_appeal(org, chief.competition.id, chief.appeal_b.id, "reject", "x")
    audit = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "competition_appeal_rejected"))
    assert (audit.actor_id, audit.details["decided_as"]) == (org.id, "organizer")


def test_a_conflicted_chief_does_not_see_the_appeal_and_the_organizer_decides(chief):
    db.session.add(JudgeProfile(user_id=chief.users["judge_on"].id, enterprise_id=chief.ent_a.id))
    db.session.flush()
    _c, views = services.list_appeals_for_chief(chief.users["judge_on"], chief.competition.id)
    assert [v.id for v in views] == [chief.appeal_b.id]
    with pytest.raises(NotFound):
        services.decide_appeal(chief.users["judge_on"], chief.competition.id, chief.appeal_a.id, "uphold", "x")
    assert services.decide_appeal(chief.users["organizer"], chief.competition.id, chief.appeal_a.id, "uphold",
                                  "仲裁").status == "upheld"


def test_upheld_after_publication_asks_for_a_corrected_version(chief):
    db.session.add(ResultVersion(competition_id=chief.competition.id, version=1, published_at=T0 + timedelta(hours=3),
                                 published_by_id=chief.users["organizer"].id, snapshot={}))
    chief.set_status("published")
    view = services.decide_appeal(chief.users["judge_on"], chief.competition.id, chief.appeal_a.id, "uphold", "更正")
    assert services.next_step(view, chief.competition) == "publish_correction"


# --- API ---------------------------------------------------------------------------------------------------


def test_api_chief_lists_blind_and_decides(chief):
    url = chief.url("/appeals")
    resp = chief.get("judge_on", url)
    assert resp.status_code == 200
    _assert_blind(chief, resp.get_data(as_text=True), resp.json)
    assert {(i["id"], i["code"], i["status"]) for i in resp.json["items"]} == {
        (chief.appeal_a.id, "M1-17", "open"), (chief.appeal_b.id, "M1-42", "open")}
    one = chief.get("judge_on", chief.url(f"/appeals/{chief.appeal_a.id}"))
    assert one.status_code == 200 and one.json["text"] == "第二项评分偏低，请复核。"
    _assert_blind(chief, one.get_data(as_text=True), one.json)
    resp = chief.post("judge_on", chief.url(f"/appeals/{chief.appeal_a.id}/decision"),
                      {"decision": "uphold", "note": "第二项由裁判长更正"})
    assert resp.status_code == 200, resp.json
    _assert_blind(chief, resp.get_data(as_text=True), resp.json)
    assert (resp.json["status"], resp.json["next_step"], resp.json["code"]) == ("upheld", "correct_marks", "M1-17")
    resp = chief.post("judge_on", chief.url(f"/appeals/{chief.appeal_b.id}/decision"),
                      {"decision": "reject", "note": "计时记录无误"})
    assert resp.status_code == 200 and resp.json["status"] == "rejected" and resp.json["next_step"] is None
    resp = chief.post("judge_on", chief.url(f"/appeals/{chief.appeal_b.id}/decision"), {"decision": "uphold", "note": "x"})
    assert resp.status_code == 409 and resp.json["error"]["code"] == "appeal_decided"
    _assert_blind(chief, resp.get_data(as_text=True), resp.json)
    listed = chief.get("judge_on", url + "?status=upheld").json["items"]
    assert [i["id"] for i in listed] == [chief.appeal_a.id]


@pytest.mark.parametrize("role, list_status, item_status, decide_status", [
    ("judge_off", 200, 404, 404),   # chief judge of module 2: module 1's appeal is not found
    ("judge_plain", 403, 403, 403),  # on the panel of module 1 but not its chief
    ("hr_a", 200, 200, 403),
    ("worker", 403, 403, 403),
    ("anonymous", 401, 401, 401),
])
def test_api_refusals_write_nothing(chief, role, list_status, item_status, decide_status):
    before, audits = _state(chief), _audits()
    assert chief.get(role, chief.url("/appeals")).status_code == list_status
    assert chief.get(role, chief.url(f"/appeals/{chief.appeal_a.id}")).status_code == item_status
    resp = chief.post(role, chief.url(f"/appeals/{chief.appeal_a.id}/decision"), {"decision": "uphold", "note": "x"})
    assert resp.status_code == decide_status
    assert _state(chief) == before and _audits() == audits
    if role == "judge_off":
        items = chief.get(role, chief.url("/appeals")).json["items"]
        assert [i["id"] for i in items] == [chief.appeal_a2.id]
        _assert_blind(chief, resp.get_data(as_text=True), resp.json)


def test_api_bad_bodies_from_the_chief_are_422(chief):
    before = _state(chief)
    for body in ({}, {"decision": "maybe", "note": "x"}, {"decision": "uphold", "note": ""}):
        resp = chief.post("judge_on", chief.url(f"/appeals/{chief.appeal_a.id}/decision"), body)
        assert resp.status_code == 422
    assert _state(chief) == before


def test_api_organizer_and_hr_answers_are_unchanged(chief):
    org = chief.get("organizer", chief.url("/appeals")).json["items"]
    assert {i["worker"]["name"] for i in org} == {chief.workers_a[0].name, chief.workers_b[0].name}
    assert all("entry_id" in i and "filed_by" in i for i in org)
    resp = chief.post("organizer", chief.url(f"/appeals/{chief.appeal_a.id}/decision"),
                      {"decision": "reject", "note": "仲裁：维持原评分"})
    assert resp.status_code == 200 and resp.json["worker"]["name"] == chief.workers_a[0].name
    assert resp.json["enterprise"]["name"] == chief.ent_a.name and resp.json["entry_id"] == chief.entry_a.id
    hr = chief.get("hr_a", chief.url(f"/appeals/{chief.appeal_a.id}")).json
    assert hr["status"] == "rejected" and hr["decision"] == "仲裁：维持原评分" and hr["worker"]["name"]


def test_api_documents_the_blind_schema(chief):
    spec = chief.client.get("/api/v1/openapi.json").json
    decision = spec["paths"]["/api/v1/competitions/{competition_id}/appeals/{appeal_id}/decision"]["post"]
    assert "ChiefAppealSchema" in decision["responses"]["200"]["description"]
    assert {"403", "404", "409", "422"} <= set(decision["responses"])


# --- the chief judge's page ----------------------------------------------------------------------------------


def _browser(w, role):
    login_as(w.client, w.users[role])
    w.client.set_cookie("lang", "en")
    return csrf_token(w.client)


def _page_url(w, module=None) -> str:
    return f"/judging/competitions/{w.competition.id}/modules/{(module or w.module1).id}/chief"


def _decide_url(w, appeal_id: int, module=None) -> str:
    return f"{_page_url(w, module)}/appeals/{appeal_id}/decision"


def test_page_lists_by_code_and_decides(chief):
    token = _browser(chief, "judge_on")
    page = chief.client.get(_page_url(chief)).get_data(as_text=True)
    assert 'id="appeals"' in page and "M1-17" in page and "M1-42" in page and "第二项评分偏低" in page
    assert "模块二的申诉" not in page and "M2-05" not in page
    _assert_blind(chief, page)
    a, b = chief.appeal_a.id, chief.appeal_b.id
    assert f'name="a{a}-note"' in page and f'name="a{b}-decision"' in page
    resp = chief.client.post(_decide_url(chief, a), data={"csrf_token": token, f"a{a}-decision": "uphold",
                                                          f"a{a}-note": ""})
    assert resp.status_code == 422 and _state(chief)[0][1] == "open"
    _assert_blind(chief, resp.get_data(as_text=True))
    resp = chief.client.post(_decide_url(chief, a), data={"csrf_token": token, f"a{a}-decision": "uphold",
                                                          f"a{a}-note": "第二项由裁判长更正"})
    assert resp.status_code == 302 and resp.headers["Location"].endswith("#appeals")
    resp = chief.client.post(_decide_url(chief, b), data={"csrf_token": token, f"a{b}-decision": "reject",
                                                          f"a{b}-note": "计时记录无误"})
    assert resp.status_code == 302
    state = {row[0]: row[1:] for row in _state(chief)}
    judge_id = chief.users["judge_on"].id
    assert state[a] == ("upheld", "第二项由裁判长更正", judge_id) and state[b] == ("rejected", "计时记录无误", judge_id)
    page = chief.client.get(_page_url(chief)).get_data(as_text=True)
    assert "第二项由裁判长更正" in page and "计时记录无误" in page and f'name="a{a}-note"' not in page
    assert "correct the marks of this entrant" in page and "Upheld" in page and "Rejected" in page
    _assert_blind(chief, page)
    resp = chief.client.post(_decide_url(chief, a), data={"csrf_token": token, f"a{a}-decision": "reject",
                                                          f"a{a}-note": "再改"})
    assert resp.status_code == 409 and _state(chief) == [(k, *v) for k, v in state.items()]
    _assert_blind(chief, resp.get_data(as_text=True))


def test_page_without_csrf_is_refused(chief):
    _browser(chief, "judge_on")
    a = chief.appeal_a.id
    resp = chief.client.post(_decide_url(chief, a), data={f"a{a}-decision": "uphold", f"a{a}-note": "x"})
    assert resp.status_code == 400 and _state(chief)[0][1] == "open"


@pytest.mark.parametrize("role, module, status", [
    ("judge_off", 1, 404),     # chief of module 2, posting to module 1's page
    ("judge_off", 2, 404),     # … or to their own page with module 1's appeal
    ("judge_plain", 1, 403),   # on module 1's panel, not its chief
    ("hr_a", 1, 403), ("worker", 1, 403), ("organizer", 1, 403),
])
def test_page_refusals_write_nothing(chief, role, module, status):
    before, audits = _state(chief), _audits()
    token = _browser(chief, role)
    a = chief.appeal_a.id
    resp = chief.client.post(_decide_url(chief, a, chief.module1 if module == 1 else chief.module2),
                             data={"csrf_token": token, f"a{a}-decision": "uphold", f"a{a}-note": "x"})
    assert resp.status_code == status
    if role.startswith("judge"):
        _assert_blind(chief, resp.get_data(as_text=True))
    assert _state(chief) == before and _audits() == audits


def test_page_anonymous_goes_to_login(chief):
    token = csrf_token(chief.client)
    a = chief.appeal_a.id
    resp = chief.client.post(_decide_url(chief, a), data={"csrf_token": token, f"a{a}-decision": "uphold",
                                                          f"a{a}-note": "x"})
    assert resp.status_code == 302 and "/login" in resp.headers["Location"] and _state(chief)[0][1] == "open"


def test_page_other_chief_sees_only_their_module(chief):
    _browser(chief, "judge_off")
    page = chief.client.get(_page_url(chief, chief.module2)).get_data(as_text=True)
    assert "M2-05" in page and "模块二的申诉" in page and "第二项评分偏低" not in page
    _assert_blind(chief, page)


def test_page_organizer_gets_a_link_to_the_appeals_page(chief):
    _browser(chief, "organizer")
    page = chief.client.get(_page_url(chief)).get_data(as_text=True)
    assert f"/competitions/{chief.competition.id}/appeals" in page and "第二项评分偏低" not in page


def test_the_chief_list_does_not_grow_in_queries_with_appeals(chief):
    from sqlalchemy import event

    def count_queries() -> int:
        statements: list[str] = []

        def before(conn, cursor, statement, *args):
            statements.append(statement)

        db.session.expire_all()
        event.listen(db.engine, "before_cursor_execute", before)
        try:
            _c, views = services.list_appeals_for_chief(chief.users["judge_on"], chief.competition.id)
        finally:
            event.remove(db.engine, "before_cursor_execute", before)
        return len(views), len(statements)

    count_queries()  # the first read also loads what the session had not yet loaded
    few = count_queries()
    for i, worker in enumerate(chief.workers_a[1:] + chief.workers_b[1:]):
        entry = chief.entry(worker, status="approved", code=f"1{i:02d}")
        db.session.add(ModuleCode(entry_id=entry.id, module_id=chief.module1.id, code=f"M1-9{i}"))
        db.session.flush()
        for n in range(3):
            db.session.add(Appeal(entry_id=entry.id, module_id=chief.module1.id, filed_by_id=chief.users["hr_a"].id,
                                  text=f"申诉{i}-{n}", status="rejected" if n else "open"))
    db.session.flush()
    many = count_queries()
    assert many[0] == few[0] + 12 and many[1] == few[1]


def test_judging_index_counts_the_open_appeals_a_chief_judge_has_to_decide(chief):
    _browser(chief, "judge_on")
    page = chief.client.get("/judging").get_data(as_text=True)
    chief_url = f"/judging/competitions/{chief.competition.id}/modules/{chief.module1.id}/chief#appeals"
    assert "Appeals to decide: 2" in page and f'href="{chief_url}"' in page
    _assert_blind(chief, page)
    services.decide_appeal(chief.users["judge_on"], chief.competition.id, chief.appeal_b.id, "reject", "计时记录无误")
    db.session.commit()
    assert "Appeals to decide: 1" in chief.client.get("/judging").get_data(as_text=True)
    _browser(chief, "judge_plain")  # on the panel, not its chief: nothing to decide
    assert "Appeals to decide" not in chief.client.get("/judging").get_data(as_text=True)
