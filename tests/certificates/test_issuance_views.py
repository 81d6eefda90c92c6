# ruff: noqa: F811  (fixtures imported from certcore_world are used as test arguments)
"""The issuing pages: list with filters, issue one, detail, revoke, correct — for each role, including HR of
another enterprise and workers; form errors are translated 4xx with nothing written."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from app.db import db
from certificates.models import Certificate
from certificates.services.issuance import issue_certificate
from tests.certificates.certcore_world import _transaction, world  # noqa: F401


def _token(client, path: str) -> str:
    html = client.get(path).get_data(as_text=True)
    return re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html).group(1)


def _as(client, login, user):
    login(client, user)
    client.set_cookie("lang", "en")
    return client


def _cert(world, worker=None, **kw):
    kw.setdefault("kind", "award")
    kw.setdefault("achievement", "荣获一等奖")
    return issue_certificate(world.organizer, worker_id=(worker or world.worker_a).id, **kw).certificate


def test_list_filters_and_masks(client, login, world):
    a = _cert(world, achievement="荣获一等奖")
    b = _cert(world, world.worker_b, kind="participation", achievement="参赛")
    _as(client, login, world.organizer)
    html = client.get("/certificates").get_data(as_text=True)
    assert a.serial in html and b.serial in html and "张*坤" in html and "张帅坤" not in html
    html = client.get("/certificates?kind=participation").get_data(as_text=True)
    assert b.serial in html and a.serial not in html
    html = client.get(f"/certificates?q={a.serial[:10]}").get_data(as_text=True)
    assert a.serial in html
    html = client.get("/certificates?status=revoked").get_data(as_text=True)
    assert a.serial not in html and "No certificates found." in html
    assert client.get("/certificates?kind=bogus&page=x").status_code == 200


def test_hr_sees_only_own_enterprise(client, login, world):
    a = _cert(world)
    b = _cert(world, world.worker_b)
    _as(client, login, world.hr_b)
    html = client.get("/certificates").get_data(as_text=True)
    assert b.serial in html and a.serial not in html
    assert client.get(f"/certificates/{a.id}").status_code == 404
    token = _token(client, "/certificates/new")
    assert client.post(f"/certificates/{a.id}/revoke", data={"csrf_token": token, "reason": "x"}).status_code == 404
    assert client.post(f"/certificates/{a.id}/supersede",
                       data={"csrf_token": token, "reason": "x", "achievement": "y"}).status_code == 404
    db.session.refresh(a)
    assert a.status == "issued"
    # The worker list of the issue form holds only enterprise B's workers.
    html = client.get("/certificates/new").get_data(as_text=True)
    assert "李四" in html and "张帅坤" not in html


@pytest.mark.parametrize("role", ["worker_user_a", "judge"])
def test_workers_and_judges_are_refused(client, login, world, role):
    a = _cert(world)
    _as(client, login, getattr(world, role))
    assert client.get("/certificates").status_code == 403
    assert client.get("/certificates/new").status_code == 403
    assert client.get(f"/certificates/{a.id}").status_code == 403


def test_anonymous_is_sent_to_login(client, world):
    resp = client.get("/certificates")
    assert resp.status_code == 302 and "/login" in resp.headers["Location"]


def test_issue_one_through_the_form(client, login, world):
    _as(client, login, world.hr_a)
    token = _token(client, "/certificates/new")
    data = {"csrf_token": token, "worker_id": world.worker_a.id, "kind": "skill_level", "template_id": "",
            "achievement": "职业技能等级三级/高级工", "occupation": "车工", "level": "三级/高级工"}
    resp = client.post("/certificates/new", data=data)
    assert resp.status_code == 302
    cert = db.session.scalars(select(Certificate)).one()
    assert resp.headers["Location"].endswith(f"/certificates/{cert.id}")
    assert cert.details == {"occupation": "车工", "level": "三级/高级工"} and cert.issuer.enterprise_id == world.ent_a.id
    html = client.get(resp.headers["Location"]).get_data(as_text=True)
    assert f"Certificate {cert.serial} issued." in html and "张帅坤" in html and "车工" in html
    assert f"/v/{cert.serial}" in html
    # Sent again (a double click): nothing new, a warning.
    resp = client.post("/certificates/new", data=data, follow_redirects=True)
    assert "was already issued" in resp.get_data(as_text=True)
    assert db.session.query(Certificate).count() == 1


def test_issue_form_errors_are_field_errors(client, login, world, create_worker):
    from app.pdf import missing_glyphs

    _as(client, login, world.hr_a)
    token = _token(client, "/certificates/new")
    resp = client.post("/certificates/new", data={"csrf_token": token, "worker_id": world.worker_b.id, "kind": "award",
                                                  "achievement": "一等奖"})
    assert resp.status_code == 422 and "Please choose a worker of your enterprise." in resp.get_data(as_text=True)
    resp = client.post("/certificates/new", data={"csrf_token": token, "worker_id": world.worker_a.id, "kind": "award",
                                                  "achievement": ""})
    assert resp.status_code == 422 and "Please enter what the certificate certifies." in resp.get_data(as_text=True)
    if missing_glyphs("𠮷"):
        odd = create_worker(name="𠮷田", enterprise=world.ent_a)
        resp = client.post("/certificates/new", data={"csrf_token": token, "worker_id": odd.id, "kind": "award",
                                                      "achievement": "一等奖"})
        html = resp.get_data(as_text=True)
        assert resp.status_code == 422 and "The certificate font cannot print these characters: 𠮷" in html
    assert db.session.query(Certificate).count() == 0


def test_hr_sees_the_unions_certificate_but_cannot_revoke_it(client, login, world):
    union_cert = _cert(world)
    _as(client, login, world.hr_a)
    html = client.get(f"/certificates/{union_cert.id}").get_data(as_text=True)
    assert union_cert.serial in html and "Revoke" not in html
    token = _token(client, "/certificates/new")
    assert client.post(f"/certificates/{union_cert.id}/revoke", data={"csrf_token": token, "reason": "x"}).status_code == 403
    db.session.refresh(union_cert)
    assert union_cert.status == "issued"


def test_revoke_and_correct_through_the_detail_page(client, login, world):
    cert = issue_certificate(world.hr_a, kind="award", worker_id=world.worker_a.id, achievement="荣获二等奖",
                             details={"subject": "厂级技能比武", "rank": 2}).certificate
    _as(client, login, world.hr_a)
    token = _token(client, f"/certificates/{cert.id}")
    page = client.get(f"/certificates/{cert.id}").get_data(as_text=True)
    assert 'value="厂级技能比武"' in page and "Kept as they are:" in page and "Rank: 2" in page
    resp = client.post(f"/certificates/{cert.id}/supersede",
                       data={"csrf_token": token, "holder_name": "张帅坤", "achievement": "荣获一等奖", "reason": "奖项录错",
                             "subject": "厂级技能比武（车工）"})
    assert resp.status_code == 302
    new = db.session.scalars(select(Certificate).where(Certificate.supersedes_id == cert.id)).one()
    assert new.details == {"subject": "厂级技能比武（车工）", "rank": 2}  # the rank, not on the form, is kept
    html = client.get(resp.headers["Location"]).get_data(as_text=True)
    assert f"Certificate {cert.serial} was replaced by {new.serial}." in html
    assert cert.serial in html  # the history lists the old serial
    resp = client.post(f"/certificates/{new.id}/revoke", data={"csrf_token": token, "reason": ""})
    assert resp.status_code == 400
    resp = client.post(f"/certificates/{new.id}/revoke", data={"csrf_token": token, "reason": "作废"},
                       follow_redirects=True)
    assert f"Certificate {new.serial} revoked." in resp.get_data(as_text=True)
    db.session.refresh(new)
    assert new.status == "revoked" and new.revoked_reason == "作废"
    resp = client.post(f"/certificates/{new.id}/revoke", data={"csrf_token": token, "reason": "again"})
    assert resp.status_code == 409


def test_list_query_count_does_not_grow(client, login, world, create_worker):
    from sqlalchemy import event

    _as(client, login, world.organizer)

    def count_queries(n_certs: int) -> int:
        have = db.session.query(Certificate).count()
        for i in range(have, n_certs):
            w = create_worker(enterprise=world.ent_a)
            _cert(world, w, achievement=f"奖{i}")
        statements = []
        engine = db.session.get_bind()
        listener = lambda *args: statements.append(args[2])  # noqa: E731
        event.listen(engine, "before_cursor_execute", listener)
        try:
            assert client.get("/certificates").status_code == 200
        finally:
            event.remove(engine, "before_cursor_execute", listener)
        return len(statements)

    assert count_queries(3) == count_queries(20)
