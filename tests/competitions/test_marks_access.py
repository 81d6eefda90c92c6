"""Every marks endpoint × every role: who is refused (401/403/404), who succeeds, and nothing is a 5xx.

Each case builds a fresh world and brings it into the state in which the endpoint can succeed for the role it
is meant for (marks filled, a divergence, a lock, a paper mark), so a refusal is about the role, not the state.
"""

from __future__ import annotations

import pytest

from tests.competitions import marks_fixtures
from tests.competitions.marks_fixtures import item

mw = marks_fixtures.mw

ROLES = ("anonymous", "admin", "organizer", "hr", "worker", "j1", "j2", "j5")


def _paper_mark(mw) -> int:
    resp = mw.post("admin", "/marks/paper", {"judge_id": mw.users["j2"].id, "marks": [item("K102", mw.a1.id, "2")]})
    return resp.get_json()["results"][0]["mark_id"]


def _prepare(mw, endpoint):
    """(method, url suffix, body) for the endpoint, with the world prepared."""
    m1 = mw.module1.id
    if endpoint == "own_marks":
        return "GET", "/marks", None
    if endpoint == "submit":
        return "POST", "/marks", [item("K102", mw.a1.id, "2")]
    if endpoint == "paper":
        return "POST", "/marks/paper", {"judge_id": mw.users["j2"].id, "marks": [item("K102", mw.a2.id, "5")]}
    if endpoint == "confirm":
        return "POST", f"/marks/{_paper_mark(mw)}/confirm", None
    if endpoint == "chief_change":
        mw.fill()
        assert mw.post("j1", f"/modules/{m1}/lock").status_code == 200
        return "PUT", "/marks/chief", {"code": "K102", "aspect_id": mw.a1.id, "judge_id": mw.users["j2"].id,
                                       "value": "3", "reason": "复核"}
    if endpoint == "sheet":
        mw.post("j2", "/marks", [item("K102", mw.a1.id, "2"), item("K102", mw.a2.id, "5")])
        return "POST", "/sheets", {"module_id": m1, "code": "K102"}
    if endpoint == "completeness":
        mw.fill()
        return "GET", f"/modules/{m1}/completeness", None
    if endpoint == "judge_stats":
        mw.fill()
        return "GET", f"/modules/{m1}/judge-stats", None
    if endpoint == "divergence":
        mw.fill({("j1", "K101", mw.a1.id): "0"})
        return "POST", "/divergences", {"code": "K101", "aspect_id": mw.a1.id, "decision": "accepted", "reason": "合议"}
    if endpoint == "lock":
        mw.fill()
        return "POST", f"/modules/{m1}/lock", None
    raise AssertionError(endpoint)


OK = 200
# endpoint → role → expected status (roles not listed: 403; anonymous: 401)
EXPECTED = {
    "own_marks": {"j1": OK, "j2": OK, "j5": OK},
    "submit": {"j1": OK, "j2": OK},
    "paper": {"admin": OK, "organizer": OK, "j1": OK},
    "confirm": {"organizer": OK, "j1": OK, "j2": OK, "admin": 409},  # admin typed it in
    "chief_change": {"j1": OK},
    "sheet": {"j2": OK, "j1": 409, "j5": 404},  # j1 has no marks yet; j5 is not on the panel
    "completeness": {"j1": OK, "organizer": OK, "admin": OK},
    "judge_stats": {"j1": OK, "organizer": OK, "admin": OK},
    "divergence": {"j1": OK},
    "lock": {"j1": OK},
}


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("endpoint", list(EXPECTED))
def test_role_matrix(mw, endpoint, role):
    method, suffix, body = _prepare(mw, endpoint)
    resp = mw.call(role, method, mw.url(suffix), json=body)
    expected = 401 if role == "anonymous" else EXPECTED[endpoint].get(role, 403)
    assert resp.status_code == expected, (endpoint, role, resp.get_data(as_text=True)[:300])
    if role in ("j1", "j2", "j5"):
        text = resp.get_data(as_text=True)
        for secret in mw.secrets():
            assert secret not in text


@pytest.mark.parametrize("endpoint", ["own_marks", "submit", "sheet"])
def test_judge_responses_have_no_identifying_fields(mw, endpoint):
    method, suffix, body = _prepare(mw, endpoint)
    mw.post("j2", "/marks", [item("K101", mw.a1.id, "1")])
    resp = mw.call("j2", method, mw.url(suffix), json=body)
    assert resp.status_code == 200
    mw.assert_blind(resp)


def test_unknown_competition_is_404(mw):
    for method, suffix, body in (("GET", "/marks", None), ("POST", "/marks", [item("K101", mw.a1.id, "1")]),
                                 ("GET", f"/modules/{mw.module1.id}/completeness", None),
                                 ("POST", f"/modules/{mw.module1.id}/lock", None)):
        resp = mw.call("j1", method, f"/api/v1/competitions/999999{suffix}", json=body)
        assert resp.status_code == 404, (method, suffix)
