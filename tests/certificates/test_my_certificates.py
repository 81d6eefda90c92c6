"""My certificates (worker): only the worker's own, with the PDF, the verification page and a share link."""

from __future__ import annotations

import re

from app.db import db
from tests.conftest import _transaction  # noqa: F401  (database tests)


def _issue(organizer, worker, achievement, subject):
    from certificates.services.issuance import issue_certificate

    return issue_certificate(organizer, kind="award", worker_id=worker.id, achievement=achievement,
                             subject_key=subject, details={"subject": "2026年市职工职业技能大赛"}).certificate


def test_worker_sees_only_their_own_certificates(app_ctx, client, login, create_worker, create_user):
    me, other = create_worker(name="张帅坤"), create_worker(name="李娜")
    organizer = create_user("organizer")
    mine = _issue(organizer, me, "一等奖", "manual:me1")
    theirs = _issue(organizer, other, "特等奖", "manual:other1")
    db.session.commit()
    login(client, create_user("worker", worker=me))
    resp = client.get("/my/certificates")
    assert resp.status_code == 200
    html = resp.get_data(as_text=True)
    assert mine.serial in html and "一等奖" in html and "2026年市职工职业技能大赛" in html
    assert theirs.serial not in html and "特等奖" not in html and "李娜" not in html
    assert f'href="/certificates/{mine.id}.pdf"' in html
    # the holder's links carry the verification code: who shares one shows whose it is and what for
    assert f'href="/v/{mine.serial}?c={mine.verify_code}"' in html
    assert re.search(rf'data-url="http://localhost/v/{mine.serial}\?c={mine.verify_code}"', html)
    assert 'src="/static/js/share.js"' in html and "<script>" not in html  # no inline script (CSP)
    # the PDF of the own certificate downloads; another worker's does not
    own = client.get(f"/certificates/{mine.id}.pdf")
    assert own.status_code == 200 and own.data.startswith(b"%PDF")
    own.close()
    assert client.get(f"/certificates/{theirs.id}.pdf").status_code in (403, 404)


def test_revoked_certificate_is_listed_as_revoked_without_download(app_ctx, client, login, create_worker, create_user):
    from certificates.services.issuance import revoke_certificate

    me = create_worker(name="王磊")
    organizer = create_user("organizer")
    cert = _issue(organizer, me, "二等奖", "manual:rev1")
    revoke_certificate(organizer, cert.id, reason="成绩更正")
    db.session.commit()
    login(client, create_user("worker", worker=me))
    client.set_cookie("lang", "en")
    html = client.get("/my/certificates").get_data(as_text=True)
    assert cert.serial in html and "Revoked" in html
    assert f"/certificates/{cert.id}.pdf" not in html
    assert "Revoked on" in html and "成绩更正" in html, "the holder is told why (the public page is not)"


def test_account_without_worker_and_other_roles(app_ctx, client, login, create_user):
    login(client, create_user("worker"))
    client.set_cookie("lang", "en")
    resp = client.get("/my/certificates")
    assert resp.status_code == 200 and b"not linked to a worker" in resp.data
    login(client, create_user("organizer"))
    assert client.get("/my/certificates").status_code == 403
