"""An aspect whose ``divergence_threshold`` is NULL is never flagged ("never", as the scheme editor and the API
say), on every path that reads it: the engine specs of setup and results, the marks API's completeness matrix and
its aspects, the divergence decision, the lock, judge statistics and the chief judge's page. Each test also shows
the same marks flagged once a threshold is set, so it fails if NULL is read as a default again."""

from __future__ import annotations

from decimal import Decimal

import pytest

from app.db import db
from competitions.models import Competition
from competitions.services import results as results_services
from competitions.services.specs import scheme_specs
from tests.competitions import marks_fixtures

mw = marks_fixtures.mw

SPLIT = {("j1", "K102", None): "0", ("j2", "K102", None): "3"}  # spread 3 on a 0–3 scale


def _fill_split(mw) -> None:
    mw.fill({(judge, code, mw.a1.id): value for (judge, code, _a), value in SPLIT.items()})


def _never(mw) -> None:
    mw.a1.divergence_threshold = None
    db.session.commit()


def _cell(body, code, aspect_id):
    row = next(r for r in body["entries"] if r["code"] == code)
    return next(c for c in row["cells"] if c["aspect_id"] == aspect_id)


def _completeness(mw):
    resp = mw.get("j1", f"/modules/{mw.module1.id}/completeness")
    assert resp.status_code == 200, resp.get_json()
    return resp.get_json()


@pytest.mark.parametrize("never", [True, False])
def test_the_completeness_matrix_and_the_lock(mw, never):
    if never:
        _never(mw)
    _fill_split(mw)
    body = _completeness(mw)
    aspect = next(a for a in body["aspects"] if a["id"] == mw.a1.id)
    assert aspect["divergence_threshold"] == (None if never else "1")
    flagged = _cell(body, "K102", mw.a1.id)["divergence"]
    assert (flagged is None) == never
    assert body["open_divergences"] == (0 if never else 1)
    assert body["can_lock"] is never
    lock = mw.post("j1", f"/modules/{mw.module1.id}/lock")
    assert lock.status_code == (200 if never else 409), lock.get_json()


@pytest.mark.parametrize("never", [True, False])
def test_a_divergence_decision_and_judge_statistics(mw, never):
    if never:
        _never(mw)
    _fill_split(mw)
    decision = mw.post("j1", "/divergences", {"code": "K102", "aspect_id": mw.a1.id, "decision": "remark", "reason": ""})
    assert decision.status_code == (409 if never else 200), decision.get_json()
    if never:
        assert decision.get_json()["error"]["code"] == "not_divergent"
    stats = mw.get("j1", f"/modules/{mw.module1.id}/judge-stats").get_json()
    assert sum(s["divergences"] for s in stats["judges"]) == (0 if never else 3)  # each of the cell's 3 marks


@pytest.mark.parametrize("never", [True, False])
def test_the_chief_judge_page_lists_no_divergence(mw, client, login, never):
    if never:
        _never(mw)
    _fill_split(mw)
    login(client, mw.users["j1"])
    page = client.get(f"/judging/competitions/{mw.competition.id}/modules/{mw.module1.id}/chief")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert (f'id="d-K102-{mw.a1.id}"' in html) is not never


def test_engine_specs_of_setup_and_results_keep_null(mw):
    _never(mw)
    competition = db.session.get(Competition, mw.competition.id)
    specs = {a.id: a for a in scheme_specs(competition).aspects}
    assert specs[mw.a1.id].divergence_threshold is None
    assert specs[mw.a2.id].divergence_threshold == Decimal(2)
    _modules, scheme = results_services._load_scheme(competition.id)
    assert {a.id: a.divergence_threshold for a in scheme.aspects}[mw.a1.id] is None
