"""The published results ask ``app.people.consents`` about publicity in the competition's own scope: a consent
narrowed to this competition counts here, a withdrawal for this competition masks the name here."""

from __future__ import annotations

import json

from app.db import db
from app.people.consents import record_consent, scope_of
from competitions.services import board
from tests.competitions.results_fixtures import rw  # noqa: F401


def test_publication_reads_the_competition_scope(rw):  # noqa: F811
    here = scope_of("competition", rw.competition.id)
    record_consent(rw.workers[0], "publicity", False, actor_id=None, scope=here)  # consents in general, not here
    record_consent(rw.workers[1], "publicity", True, actor_id=None, scope=here)  # only here
    record_consent(rw.workers[2], "publicity", True, actor_id=None, scope=scope_of("competition", rw.competition.id + 1))
    db.session.commit()
    rw.ready_to_publish()
    assert rw.post("organizer", "/results/publish", {}).status_code == 201
    rows = {e["code"]: e for e in rw.get("anonymous", "/results/published").get_json()["entries"]}
    assert (rows["A101"]["name"], rows["A101"]["name_masked"]) == ("张*坤", True)
    assert (rows["A102"]["name"], rows["A102"]["name_masked"]) == ("李建国", False)
    assert rows["A103"]["name_masked"] is True  # a consent for another competition does not count here


# --- a withdrawal takes effect at once, on every public surface -------------------------------------------------

NAME, ENTERPRISE = "张帅坤", "甲机械厂"  # A101's worker, who consented before publication (results_fixtures)


def _pdf_text(data: bytes) -> str:
    import io

    import pypdf

    return "\n".join(page.extract_text() for page in pypdf.PdfReader(io.BytesIO(data)).pages)


def _stream_first_event(rw) -> str:  # noqa: F811
    resp = rw.anonymous_client.get(rw.url("/board/stream"), buffered=False)
    try:
        assert resp.status_code == 200
        return next(iter(resp.response)).decode()
    finally:
        resp.close()


def _public_surfaces(rw, organizer_client) -> dict[str, str]:  # noqa: F811
    """The text of every surface that shows published results to the public (and the organizer's printable sheet
    of the public view), as served now."""
    cid = rw.competition.id
    visitor = rw.anonymous_client

    def page(path: str) -> str:
        resp = visitor.get(path)
        assert resp.status_code == 200, path
        return resp.get_data(as_text=True)

    def pdf(client, path: str) -> str:
        resp = client.get(path)
        assert resp.status_code == 200 and resp.mimetype == "application/pdf", path
        assert "public" not in resp.headers["Cache-Control"] and "max-age" not in resp.headers["Cache-Control"]
        return _pdf_text(resp.data)

    return {
        "results JSON": rw.get("anonymous", "/results/published").get_data(as_text=True),
        "board JSON": rw.get("anonymous", "/board").get_data(as_text=True),
        "board stream": _stream_first_event(rw),
        "board page": page(f"/board/{cid}"),
        "big screen": page(f"/board/{cid}?screen=1"),
        "results page": page(f"/board/{cid}/results"),
        "results PDF": pdf(visitor, f"/board/{cid}/results.pdf"),
        "organizer's sheet PDF": pdf(organizer_client, f"/competitions/{cid}/results/versions/1/sheet.pdf?inline=1"),
    }


def test_a_withdrawn_publicity_consent_masks_the_name_on_every_public_surface_at_once(rw, app, login):  # noqa: F811
    from app.people.domain import mask_name

    organizer = app.test_client()
    login(organizer, rw.users["organizer"])
    rw.ready_to_publish()
    assert rw.post("organizer", "/results/publish", {}).status_code == 201
    before = _public_surfaces(rw, organizer)  # (and the board's cache now holds the name)
    for surface, text in before.items():
        assert NAME in text and ENTERPRISE in text, surface

    resp = rw.client.put("/api/v1/me/consents", json={"publicity": False}, headers=rw.headers("worker"))
    assert resp.status_code == 200 and resp.get_json()["publicity"]["granted"] is False

    after = _public_surfaces(rw, organizer)
    assert [s for s, text in after.items() if NAME in text or ENTERPRISE in text] == [], "still showing the worker"
    assert [s for s, text in after.items() if mask_name(NAME) not in text] == []


def test_a_consent_of_this_competition_only_is_read_when_served(rw):  # noqa: F811
    rw.ready_to_publish()
    assert rw.post("organizer", "/results/publish", {}).status_code == 201
    assert NAME in rw.get("anonymous", "/board").get_data(as_text=True)
    record_consent(rw.workers[0], "publicity", False, actor_id=None, scope=scope_of("competition", rw.competition.id))
    db.session.commit()
    rows = {e["code"]: e for e in rw.get("anonymous", "/board").get_json()["entries"]}
    assert (rows["A101"]["name"], rows["A101"]["name_masked"], rows["A101"]["enterprise_name"]) == ("张*坤", True, None)
    record_consent(rw.workers[0], "publicity", True, actor_id=None, scope=scope_of("competition", rw.competition.id + 1))
    db.session.commit()  # a consent for another competition changes nothing here
    assert rw.get("anonymous", "/results/published").get_json()["entries"][0]["name_masked"] is True


def test_an_open_stream_sends_the_masked_board_when_consent_is_withdrawn(rw):  # noqa: F811
    from app.people.consents import set_consent

    rw.ready_to_publish()
    assert rw.post("organizer", "/results/publish", {}).status_code == 201

    def withdraw():
        set_consent(rw.users["worker"], rw.workers[0], "publicity", False)
        db.session.commit()

    clock = [0.0]

    def sleep(seconds):
        clock[0] += seconds
        if clock[0] == 1.0:
            withdraw()

    events = list(board.stream(rw.competition.id, lifetime=2, poll=0.5, clock=lambda: clock[0], sleep=sleep))
    names = [{e["code"]: e["name"] for e in json.loads(ev.split(b"data: ", 1)[1])["entries"]}["A101"]
             for ev in events]
    assert names == [NAME, "张*坤"]


def test_the_public_view_asks_for_the_consents_of_all_its_entrants_in_one_query(rw, app):  # noqa: F811
    from competitions.services.results import published_results
    from tests.conftest import statements_run

    rw.ready_to_publish()
    assert rw.post("organizer", "/results/publish", {}).status_code == 201
    seen = statements_run(lambda: published_results(rw.competition.id))
    assert len([s for s in seen if "consent" in s.lower()]) == 1, seen
    queries = [s for s in seen if s.lstrip().upper().startswith("SELECT")]
    assert len(queries) == 3, queries  # the competition, its latest version, the consents of all its entrants
