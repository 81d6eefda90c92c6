"""The published results ask ``app.people.consents`` about publicity in the competition's own scope: a consent
narrowed to this competition counts here, a withdrawal for this competition masks the name here."""

from __future__ import annotations

from app.db import db
from app.people.consents import record_consent, scope_of
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
