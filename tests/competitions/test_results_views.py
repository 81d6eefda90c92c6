"""The organizer's results pages: who may see them, completeness and the decode rule, blind before decoding,
publication of frozen versions (a correction needs a reason; old versions stay visible), XLSX and PDF exports."""

from __future__ import annotations

import io
import re

import pytest
from sqlalchemy import func, select

from app.db import db
from competitions.models import Competition, ResultVersion
from tests.competitions.results_fixtures import rw  # noqa: F401
from tests.conftest import csrf_token, login_as


class Browser:
    """A logged-in test client speaking English."""

    def __init__(self, rw, role):  # noqa: F811
        self.client = rw.client.application.test_client()
        if role != "anonymous":
            login_as(self.client, rw.users[role])
        self.client.set_cookie("lang", "en")
        self.base = f"/competitions/{rw.competition.id}/results"

    def get(self, suffix: str = ""):
        return self.client.get(self.base + suffix, buffered=True)

    def post(self, suffix: str, data: dict | None = None, *, csrf: bool = True, **kw):
        data = dict(data or {})
        if csrf:
            data["csrf_token"] = csrf_token(self.client)
        return self.client.post(self.base + suffix, data=data, **kw)


def versions(rw) -> int:  # noqa: F811
    db.session.expire_all()
    return db.session.scalar(select(func.count()).select_from(ResultVersion)
                             .where(ResultVersion.competition_id == rw.competition.id))


def decoded(rw) -> bool:  # noqa: F811
    db.session.expire_all()
    return db.session.get(Competition, rw.competition.id).is_decoded


@pytest.mark.parametrize("role, status", [("anonymous", 302), ("hr", 403), ("judge", 403), ("worker", 403),
                                          ("organizer", 200), ("admin", 200)])
def test_only_organizers_see_the_results_pages(rw, role, status):  # noqa: F811
    rw.fill()
    b = Browser(rw, role)
    for suffix in ("", "/export.xlsx"):
        resp = b.get(suffix)
        assert resp.status_code == status, suffix
        if status != 200:
            for secret in rw.secrets():
                assert secret not in resp.get_data(as_text=True)
    resp = b.post("/decode")
    assert resp.status_code == (302 if role == "anonymous" else 403 if status == 403 else 409)
    assert not decoded(rw)


def test_review_before_locking_shows_codes_totals_and_why_decoding_waits(rw):  # noqa: F811
    rw.fill()
    rw.theory.locked_at = db.func.now()
    db.session.commit()
    b = Browser(rw, "organizer")
    resp = b.get()
    html = resp.get_data(as_text=True)
    assert resp.status_code == 200
    for secret in rw.secrets():
        assert secret not in html, f"{secret!r} shown before decoding"
    assert "Codes can be decoded only after every module is locked. Not locked: 实操." in html
    assert "Waiting for the chief judges to lock: 实操." in html
    assert re.search(r'<button type="button" disabled>Decode codes</button>', html)
    assert "A101" in html and "90.00" in html and "89.33" in html
    assert "tie" in html, "A102 and A103 share rank 2"
    assert "First prize" in html and "Medallion for excellence" in html
    assert "Decode the codes before publishing the results." in html
    # the POST is refused by the service too, with the same reason; nothing changes
    resp = b.post("/decode", headers={"Referer": "http://localhost" + b.base})
    assert resp.status_code == 302
    assert not decoded(rw)
    follow = b.get()
    assert "Codes can be decoded only after every module is locked" in follow.get_data(as_text=True)


def test_decode_then_publish_then_correct(rw):  # noqa: F811
    rw.fill()
    rw.lock_all()
    rw.set_status("scoring_closed")
    b = Browser(rw, "organizer")
    html = b.get().get_data(as_text=True)
    assert "Every module is locked by its chief judge." in html and "Decode codes" in html
    assert "张帅坤" not in html
    resp = b.post("/decode")
    assert resp.status_code == 302 and decoded(rw)
    html = b.get().get_data(as_text=True)
    assert "张帅坤" in html and "甲机械厂" in html and "李建国" in html, "organizers see every name once decoded"
    assert "Promote to" in html and "National technical expert" in html
    assert rw.audit("competition_decode")

    # the organizer confirms the award counts shown beside the button; without the tick nothing is published
    awards = html[html.index('id="awards"'):html.index('id="publish"')]
    assert "First prize 1 entries" in awards and "Medallion for excellence" in awards, awards
    assert 'name="awards_checked"' in html and "I have checked the award counts: First prize 1" in html
    resp = b.post("/publish")
    assert resp.status_code == 422 and versions(rw) == 0
    resp = b.post("/publish", {"awards_checked": "y"})
    assert resp.status_code == 302
    assert resp.headers["Location"].endswith(f"/competitions/{rw.competition.id}/results/versions/1")
    assert versions(rw) == 1
    html = b.get("/versions/1").get_data(as_text=True)
    assert "Results version 1" in html and "张帅坤" in html and "superseded" not in html
    issue = f"/certificates/competitions/{rw.competition.id}/issue"
    assert f'href="{issue}"' in b.get().get_data(as_text=True), "the results page leads on to the certificates"
    setup_home = b.client.get(f"/competitions/{rw.competition.id}").get_data(as_text=True)
    assert f'href="{issue}"' in setup_home and f'href="{b.base}"' in setup_home

    # a correction without a reason is refused and writes nothing
    rw.mark("A104", rw.p2, "j1", 20)
    db.session.commit()
    resp = b.post("/publish", {"reason": "  ", "awards_checked": "y"})
    assert resp.status_code == 422
    assert versions(rw) == 1
    resp = b.post("/publish", {"reason": "x" * 2001, "awards_checked": "y"})
    assert resp.status_code == 422 and versions(rw) == 1
    html = b.get().get_data(as_text=True)
    assert "Publish a correction" in html and 'name="reason"' in html

    resp = b.post("/publish", {"reason": "申诉复核改判", "awards_checked": "y"})
    assert resp.status_code == 302 and versions(rw) == 2
    v1 = b.get("/versions/1").get_data(as_text=True)
    assert "This version is superseded by version 2" in v1 and "55.33" in v1
    v2 = b.get("/versions/2").get_data(as_text=True)
    assert "申诉复核改判" in v2 and "78.67" in v2
    review = b.get().get_data(as_text=True)
    assert "superseded" in review and "current" in review and "申诉复核改判" in review
    assert b.get("/versions/3").status_code == 404


def test_publish_is_refused_with_reasons_when_not_ready(rw):  # noqa: F811
    rw.fill(("A101", "A102", "A103"))
    rw.mark("A104", rw.t1, "j1", 50)  # A104 has theory only: incomplete
    db.session.commit()
    rw.lock_all()
    b = Browser(rw, "organizer")
    html = b.get().get_data(as_text=True)
    assert "Close scoring first" in html
    assert "Some marks are missing" in html and "Some entries lack marks: A104." in html
    resp = b.post("/publish", {"awards_checked": "y"})
    assert resp.status_code == 409
    assert versions(rw) == 0


def test_forms_without_csrf_write_nothing(rw):  # noqa: F811
    rw.fill()
    rw.lock_all()
    b = Browser(rw, "organizer")
    assert b.post("/decode", csrf=False).status_code == 400
    assert not decoded(rw)


def test_xlsx_export_blind_before_decoding_named_after(rw):  # noqa: F811
    from openpyxl import load_workbook

    rw.fill()
    b = Browser(rw, "organizer")
    resp = b.get("/export.xlsx")
    assert resp.status_code == 200 and resp.mimetype.endswith("spreadsheetml.sheet")
    rows = list(load_workbook(io.BytesIO(resp.data)).active.iter_rows(values_only=True))
    flat = " ".join(str(c) for r in rows for c in r if c is not None)
    assert "A101" in flat and all(s not in flat for s in rw.secrets())
    rw.lock_all()
    b.post("/decode")
    rows = list(load_workbook(io.BytesIO(b.get("/export.xlsx").data)).active.iter_rows(values_only=True))
    assert "Full name" in rows[0] and any("张帅坤" in r for r in rows)


def test_pdf_sheet_of_each_version(rw):  # noqa: F811
    rw.ready_to_publish()
    b = Browser(rw, "organizer")
    assert b.get("/versions/1/sheet.pdf").status_code == 404  # nothing published yet
    b.post("/publish", {"awards_checked": "y"})
    resp = b.get("/versions/1/sheet.pdf")
    assert resp.status_code == 200 and resp.mimetype == "application/pdf" and resp.data.startswith(b"%PDF")
    assert "attachment" in resp.headers["Content-Disposition"]
    assert f"results-{rw.competition.id}-v1.pdf" in resp.headers["Content-Disposition"]
    for role in ("hr", "judge", "worker"):
        assert Browser(rw, role).get("/versions/1/sheet.pdf").status_code == 403


def test_hr_of_any_enterprise_cannot_read_results_pages(rw, create_enterprise, create_user):  # noqa: F811
    from app.accounts.models import Role

    rw.ready_to_publish()
    rw.post("organizer", "/results/publish")
    other = create_user(Role.HR, enterprise=create_enterprise(name="别的企业"))
    db.session.commit()
    client = rw.client.application.test_client()
    login_as(client, other)
    for suffix in ("", "/versions/1", "/versions/1/sheet.pdf", "/export.xlsx"):
        resp = client.get(f"/competitions/{rw.competition.id}/results{suffix}", buffered=True)
        assert resp.status_code == 403
        assert "张帅坤" not in resp.get_data(as_text=True)


def test_unknown_competition_is_404(rw):  # noqa: F811
    client = rw.client.application.test_client()
    login_as(client, rw.users["organizer"])
    assert client.get("/competitions/999999/results").status_code == 404


def _more_entries(rw, create_worker, n: int) -> None:  # noqa: F811
    from competitions.models import Entry

    for i in range(n):
        worker = create_worker(enterprise=rw.enterprises[i % len(rw.enterprises)], name=f"加{i}")
        code = f"C{i:03d}"
        entry = Entry(competition_id=rw.competition.id, worker_id=worker.id, enterprise_id=worker.enterprise_id,
                      status="approved", code=code)
        db.session.add(entry)
        db.session.flush()
        rw.entries[code] = entry
        rw.mark(code, rw.t1, "j1", 50 + i % 40)
        for judge in ("j1", "j2", "j3"):
            rw.mark(code, rw.p1, judge, 5)
        rw.mark(code, rw.p2, "j1", 10)
    db.session.commit()


def test_results_pages_query_count_does_not_grow_with_entries(rw, create_worker):  # noqa: F811
    from tests.app.people.test_queries import count_queries

    rw.ready_to_publish()
    rw.post("organizer", "/results/publish")
    b = Browser(rw, "organizer")

    def counts() -> tuple[int, int]:
        b.get()  # warm: session and user loading
        with count_queries() as review:
            assert b.get().status_code == 200
        with count_queries() as version:
            assert b.get("/versions/1").status_code == 200
        return review["n"], version["n"]

    small = counts()
    _more_entries(rw, create_worker, 30)
    assert counts() == small


def test_review_explains_an_invalid_scheme_instead_of_failing(rw):  # noqa: F811
    from decimal import Decimal

    rw.fill()
    rw.theory.weight = Decimal(50)
    db.session.commit()
    resp = Browser(rw, "organizer").get()
    html = resp.get_data(as_text=True)
    assert resp.status_code == 200
    assert "The marking scheme is invalid; results cannot be computed." in html
    assert "Completeness" in html and "Not locked" in html


def test_the_page_warns_of_an_award_tier_nobody_gets(rw):  # noqa: F811
    """Found in use: strict shares of a small field leave 一等奖 empty; the page says so before publishing."""
    rw.ready_to_publish()
    rw.competition.award_rules = [{"type": "proportional", "tiers": [["first_prize", "10"], ["second_prize", "20"],
                                                                     ["third_prize", "30"]], "at_least_one": False}]
    db.session.commit()
    html = Browser(rw, "organizer").get().get_data(as_text=True)
    awards = html[html.index('id="awards"'):html.index('id="publish"')]
    assert "Nobody gets First prize" in awards and "Nobody gets Second prize" in awards
    assert "Nobody gets Third prize" not in awards and "Third prize 1 entries" in awards
    rw.competition.award_rules = [{"type": "proportional", "tiers": [["first_prize", "10"], ["second_prize", "20"],
                                                                     ["third_prize", "30"]]}]
    db.session.commit()
    html = Browser(rw, "organizer").get().get_data(as_text=True)
    awards = html[html.index('id="awards"'):html.index('id="publish"')]
    # the default gives each tier one place (1 / 1 / 1): A101 first, A102 and A103 tied second take the second
    # tier's place and the third's boundary (rank 3); A104 is rank 4, so the third tier is empty, and said so
    assert "First prize 1 entries" in awards and "Second prize 2 entries" in awards
    assert "Nobody gets Third prize" in awards and "Nobody gets First prize" not in awards
