"""The conflict rules as a registry: the employment history feeds "own enterprise" (the judge's current employment,
the entrant's current employer) and "former enterprise" (left within a year), and a rule another domain registers
applies where panels are shown and when a mark arrives, without editing the judging code and without another
query."""

from __future__ import annotations

from datetime import timedelta

import pytest
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import aliased

from app.accounts.models import Role, User
from app.db import db, local_date
from app.people import employment
from app.people.models import Employment, Worker
from competitions import conflicts
from competitions.models import JudgeProfile
from competitions.services import judging
from tests.competitions import registration_judging_fixtures as fixtures
from tests.competitions.marks_fixtures import item, mw  # noqa: F401
from tests.conftest import statements_run

world = fixtures.world


@pytest.fixture
def field(world):
    """Approved, coded entries: one of A, one of B."""
    return {"a1": world.entry(world.workers_a[0], code="017"), "b1": world.entry(world.workers_b[0], code="011")}


@pytest.fixture
def namesake():
    """A rule as another domain would register it: a judge may not mark an entrant who bears the judge's name."""

    @conflicts.rule("namesake", rank=15, message=_l("Namesake"), label=_l("Namesakes"))
    def _namesake(pair):
        user, worker = aliased(User), aliased(Worker)
        return conflicts.any_row(user, worker, where=(user.id == pair.judge, worker.id == pair.worker,
                                                      worker.name == user.display_name))

    yield
    conflicts.unregister("namesake")


def _judge_of(create_user, create_worker, enterprise) -> User:
    """A judge whose account is linked to a worker record of ``enterprise``."""
    return create_user(Role.JUDGE, worker=create_worker(enterprise=enterprise))


def test_the_entrants_current_employer_counts_too(world, field, create_user):
    judge = create_user(Role.JUDGE)
    db.session.add(JudgeProfile(user_id=judge.id, enterprise_id=world.ent_b.id))
    db.session.flush()
    assert judging.conflicted(judge.id, field["a1"]) is None
    employment.move(world.workers_a[0], world.ent_b.id)  # the entrant now works for the judge's enterprise
    assert field["a1"].enterprise_id == world.ent_a.id  # the entry keeps the enterprise it was registered for
    assert judging.conflicted(judge.id, field["a1"]) == "own_enterprise"


def test_the_judges_own_enterprise_is_their_current_employment(world, field, create_user, create_worker):
    judge = _judge_of(create_user, create_worker, world.ent_a)
    assert (judging.conflicted(judge.id, field["a1"]), judging.conflicted(judge.id, field["b1"])) == (
        "own_enterprise", None)
    employment.move(judge.worker, world.ent_b.id)
    assert (judging.conflicted(judge.id, field["a1"]), judging.conflicted(judge.id, field["b1"])) == (
        "former_enterprise", "own_enterprise")


@pytest.mark.parametrize(("left_days_ago", "expected"), [(0, "former_enterprise"), (364, "former_enterprise"),
                                                         (365, None), (400, None)])
def test_a_judge_who_left_the_entrants_enterprise_within_a_year(world, field, create_user, create_worker,
                                                              left_days_ago, expected):
    judge = _judge_of(create_user, create_worker, world.ent_c)
    today = local_date()
    db.session.add(Employment(worker_id=judge.worker_id, enterprise_id=world.ent_a.id,
                              started_on=today - timedelta(days=2000), ended_on=today - timedelta(days=left_days_ago)))
    db.session.flush()
    assert judging.conflicted(judge.id, field["a1"]) == expected
    assert judging.conflicted(judge.id, field["b1"]) is None
    module3, _aspects = fixtures.make_module(world.competition, 3, "模块三")
    fixtures.set_panel(module3, [judge])
    assert (field["a1"].id in {e.id for e in judging.assignable_entries(judge.id, module3.id)}) == (expected is None)


def test_a_registered_rule_applies_to_the_panel_and_the_organizers_page(world, field, create_user, namesake):
    judge = create_user(Role.JUDGE)
    judge.display_name = world.workers_b[0].name
    db.session.flush()
    assert judging.conflicted(judge.id, field["b1"]) == "namesake"
    assert judging.describe_conflict("namesake") == "Namesake"
    module3, _aspects = fixtures.make_module(world.competition, 3, "模块三")
    fixtures.set_panel(module3, [judge])
    assert [e.code for e in judging.assignable_entries(judge.id, module3.id)] == ["017"]
    assert judging.conflict_counts(judge.id, world.competition) == {"namesake": 1}
    assert ("namesake", "Namesakes") in judging.conflict_labels(world.competition)


def test_the_judges_page_counts_by_rule(world, field, client, login, create_user, create_worker):
    judge = _judge_of(create_user, create_worker, world.ent_a)
    login(client, world.users["organizer"])
    client.set_cookie("lang", "en")
    page = client.get(f"/competitions/{world.competition.id}/judges").get_data(as_text=True)
    assert "Entrants of their own enterprise: 1" in page
    employment.move(judge.worker, world.ent_b.id)
    page = client.get(f"/competitions/{world.competition.id}/judges").get_data(as_text=True)
    assert "Entrants of an enterprise they left within the last year: 1" in page


def _selects(statements: list[str]) -> list[str]:
    return [s for s in statements if s.lstrip().upper().startswith("SELECT")]


def test_a_registered_rule_is_checked_when_the_mark_arrives_without_another_query(mw, request):  # noqa: F811
    batch = [item(code, mw.a1.id, "2") for code in ("K102", "K103")]
    without = statements_run(lambda: mw.post("j2", "/marks", batch))
    request.getfixturevalue("namesake")
    mw.users["j2"].display_name = mw.workers[0].name  # K101's entrant
    db.session.commit()
    resp = mw.mark("j2", "K101", mw.a1, "2")
    assert resp.status_code == 404 and resp.get_json()["error"]["code"] == "not_assigned"
    again = [item(code, mw.a2.id, "2") for code in ("K102", "K103")]
    responses = []
    with_rule = statements_run(lambda: responses.append(mw.post("j2", "/marks", again)))
    assert responses[0].status_code == 200, responses[0].get_json()
    assert len(_selects(with_rule)) == len(_selects(without))
