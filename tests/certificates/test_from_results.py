"""Certificates from a published competition result: award for awardees, participation for the rest, none for
the absent; one action, idempotent; organizers only; nothing before publication."""

from __future__ import annotations

import zipfile

from sqlalchemy import select

from app.db import db
from tests.competitions.results_fixtures import rw  # noqa: F401
from tests.conftest import _transaction, csrf_token  # noqa: F401  (database tests)


def _publish(rw) -> None:  # noqa: F811
    # one first prize only: A101 gets an award, A102–A104 take part without one, A105 is absent
    rw.competition.award_rules = [{"type": "fixed", "tiers": [["first_prize", 1]]}]
    db.session.commit()
    rw.ready_to_publish()
    assert rw.post("organizer", "/results/publish", {}).status_code == 201


def _certificates(competition_id):
    from certificates.models import Certificate

    return list(db.session.scalars(select(Certificate).where(Certificate.competition_id == competition_id)
                                   .order_by(Certificate.id)).unique())


def test_award_and_participation_in_one_action_and_idempotent(rw):  # noqa: F811
    from certificates.models import CertificateBatch
    from certificates.services import batches

    _publish(rw)
    client = rw.client
    from tests.conftest import login_as

    login_as(client, rw.users["organizer"])
    bulk = client.get("/certificates/batches").get_data(as_text=True)
    assert f'href="/certificates/competitions/{rw.competition.id}/issue"' in bulk  # reachable from the certificates pages
    page = client.get(f"/certificates/competitions/{rw.competition.id}/issue")
    assert page.status_code == 200
    assert "张帅坤".encode() in page.data
    resp = client.post(f"/certificates/competitions/{rw.competition.id}/issue", data={"csrf_token": csrf_token(client)})
    assert resp.status_code == 302, resp.data
    batch_id = resp.headers["Location"].rsplit("/", 1)[-1]
    batch = db.session.get(CertificateBatch, batch_id)
    db.session.refresh(batch)
    assert (batch.source, batch.status, batch.total, batch.done, batch.failed) == ("competition", "done", 4, 4, 0)

    certs = {c.holder_name: c for c in _certificates(rw.competition.id)}
    assert set(certs) == {"张帅坤", "李建国", "王秀英", "赵大力"}  # 钱多多 was absent: no certificate
    assert certs["张帅坤"].kind == "award" and certs["张帅坤"].achievement == "一等奖"
    assert certs["张帅坤"].serial.startswith("C")
    for name in ("李建国", "王秀英", "赵大力"):
        assert certs[name].kind == "participation" and certs[name].serial.startswith("P")
    assert certs["张帅坤"].subject_key == f"competition:{rw.competition.id}:entry:{rw.entries['A101'].id}"
    assert certs["张帅坤"].details["subject"] == "数控车工技能比武"
    with zipfile.ZipFile(batches.zip_path(batch_id)) as zf:
        assert len(zf.namelist()) == 4

    # the same action again: nothing new, the existing four are counted and zipped again
    api = client.application.test_client()  # tokens only: a session cookie would shadow the token
    again = api.post(f"/api/v1/competitions/{rw.competition.id}/certificates", json={},
                     headers=rw.headers("organizer"))
    assert again.status_code == 202, again.get_json()
    body = again.get_json()
    assert body["counts"]["issued"] == 4 and body["counts"]["new"] == 0
    assert body["done"] == 4 and body["status"] == "done"
    assert len(_certificates(rw.competition.id)) == 4


def test_before_publication_and_for_other_roles(rw):  # noqa: F811
    from tests.conftest import login_as

    client = rw.client.application.test_client()  # a browser of its own: rw.client stays token-only
    login_as(client, rw.users["organizer"])
    assert client.get(f"/certificates/competitions/{rw.competition.id}/issue").status_code == 404
    api = rw.client
    resp = api.post(f"/api/v1/competitions/{rw.competition.id}/certificates", json={},
                       headers=rw.headers("organizer"))
    assert resp.status_code == 404
    _publish(rw)
    for role in ("hr", "worker", "judge"):
        login_as(client, rw.users[role])
        assert client.get(f"/certificates/competitions/{rw.competition.id}/issue").status_code == 403, role
        assert api.post(f"/api/v1/competitions/{rw.competition.id}/certificates", json={},
                        headers=rw.headers(role)).status_code == 403, role
    assert _certificates(rw.competition.id) == []


def test_the_signed_words_do_not_depend_on_the_catalogues_or_the_issuers_language(rw, monkeypatch):  # noqa: F811
    """Found in use: without compiled catalogues the demo signed "荣获Second prize。" for ever. A certificate's words
    are stored Chinese terms (certificates.looks), whatever the translations and whoever issues."""
    from babel.support import NullTranslations

    from app import TranslationDomain
    from certificates.services.from_results import plan

    _publish(rw)
    monkeypatch.setattr(TranslationDomain, "get_translations", lambda self: NullTranslations())  # never compiled
    with rw.client.application.test_request_context(headers={"Accept-Language": "en"}):
        rows = plan(rw.users["organizer"], rw.competition.id)["rows"]
    words = {r["name"]: r["achievement"] for r in rows}
    assert words["张帅坤"] == "一等奖" and sorted(set(words.values())) == ["一等奖", "参赛"]
