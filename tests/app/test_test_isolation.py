"""The suite's own isolation: a test's transaction belongs to the test's app. Another app's thread still running
during a test — a browser test's live-server board stream polls the database for up to a minute after its page
closed — gets a session of its own app, so it can neither read through nor roll back the test's rows (before, two
PostgreSQL runs in CI lost rows mid-test that way)."""

from __future__ import annotations

import threading

from sqlalchemy import select

from app.db import db
from app.orgs.models import Enterprise


def test_another_apps_thread_neither_sees_nor_undoes_the_tests_rows(app, make_app, sqlite_url, create_enterprise):
    other = make_app(sqlite_url)
    with other.app_context():
        db.create_all()
    mine = create_enterprise(name="本测试的企业")
    db.session.flush()
    seen: list = []

    def live_server_thread() -> None:
        with other.app_context():
            seen.append(db.session.scalar(select(Enterprise.id).where(Enterprise.name == "本测试的企业")))
            db.session.rollback()  # what a board stream does after every poll
            db.session.remove()

    thread = threading.Thread(target=live_server_thread)
    thread.start()
    thread.join(10)
    assert seen == [None], "the other app reads its own database"
    assert db.session.scalar(select(Enterprise.id).where(Enterprise.name == "本测试的企业")) == mine.id
