"""In a real browser: a judge scores the demo's running competition on a phone, loses the network, keeps
entering marks, reloads the page without a network, gets the network back — and the server ends with exactly
the intended marks (read from the server's database: none lost, none stored twice). And a response lost on the
way back makes the page resend the same idempotency key, which stores nothing twice."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.no_transaction]

ELECTRICIAN = "2026年高端装备制造产业链 电工技能比武"
DEADLINE_S = 30


def _wait(predicate, what: str, deadline_s: float = DEADLINE_S):
    """Poll ``predicate`` until it returns something truthy, or fail after the deadline (no fixed sleeps)."""
    end = time.monotonic() + deadline_s
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > end:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.1)


@pytest.fixture
def server_db(live_server, tmp_path_factory):
    """A read-only connection to the live server's SQLite database (the conftest puts it in an ``e2e*`` dir)."""
    found = sorted(Path(tmp_path_factory.getbasetemp()).glob("e2e*/e2e.db"))
    assert found, "the live server's database"
    conn = sqlite3.connect(f"file:{found[-1]}?mode=ro", uri=True)
    try:
        yield conn
    finally:
        conn.close()


def _marks(conn, username: str, code: str, aspect_id: int) -> list[tuple[str, int, int]]:
    """Every stored revision (value, revision, is_current) of one judge's mark of one cell, in order."""
    rows = conn.execute(
        "SELECT m.value, m.revision, m.is_current FROM mark m JOIN entry e ON e.id = m.entry_id "
        "JOIN user u ON u.id = m.judge_id WHERE u.username = ? AND e.code = ? AND m.aspect_id = ? ORDER BY m.revision",
        (username, code, aspect_id)).fetchall()
    return [(format(float(v), "g"), r, c) for v, r, c in rows]


def _sheets(conn, username: str, code: str) -> int:
    return conn.execute(
        "SELECT count(*) FROM score_sheet s JOIN entry e ON e.id = s.entry_id JOIN user u ON u.id = s.judge_id "
        "WHERE u.username = ? AND e.code = ?", (username, code)).fetchone()[0]


def _log_in(page, base: str, username: str, password: str) -> None:
    page.goto(f"{base}/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.locator("main button[type=submit]").click()
    page.wait_for_load_state()


def _practical(page, base: str) -> dict:
    """The judge's assignment for the practical module of the running demo competition (through the API)."""
    body = page.request.get(f"{base}/api/v1/judging/assignments").json()
    found = [a for a in body["assignments"] if a["competition_name"] == ELECTRICIAN and a["module_kind"] == "practical"]
    assert len(found) == 1, body
    a = found[0]
    aspects = {s["name"]: s for c in a["criteria"] for s in c["aspects"]}
    return {"url": f"{base}/judging/competitions/{a['competition_id']}/modules/{a['module_id']}", "codes": a["codes"],
            "J": aspects["接线工艺"]["id"], "M": aspects["通电试验"]["id"], "competition_id": a["competition_id"]}


def _open(page, url: str) -> None:
    page.goto(url)
    page.wait_for_selector("body[data-judge-ready]")


def _cell(page, code: str, aspect_id: int):
    return page.locator(f'fieldset.aspect[data-target="{code}|{aspect_id}"]')


def _choose(page, code: str, aspect_id: int, value: str) -> None:
    page.locator(f'.code-tab[data-code="{code}"]').click()
    _cell(page, code, aspect_id).locator("label.choice", has=page.locator(f'input[value="{value}"]')).click()


def _type(page, code: str, aspect_id: int, value: str) -> None:
    page.locator(f'.code-tab[data-code="{code}"]').click()
    field = _cell(page, code, aspect_id).locator("input[type=number]")
    field.fill(value)
    field.press("Enter")


def _state(page, code: str, aspect_id: int) -> str | None:
    return _cell(page, code, aspect_id).get_attribute("data-state")


def test_judge_keeps_marking_offline_and_nothing_is_lost_or_doubled(browser, live_server, server_db):
    base, logins = live_server
    _, username, password = logins["judge1"]
    context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True,
                                  locale="zh-CN")
    errors: list[str] = []
    try:
        page = context.new_page()
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        _log_in(page, base, username, password)
        a = _practical(page, base)
        last, second_last = a["codes"][-1], a["codes"][-2]  # the demo left these without judge1's marks
        assert _marks(server_db, username, last, a["J"]) == []
        assert _marks(server_db, username, last, a["M"]) == []
        assert _marks(server_db, username, second_last, a["M"]) == []

        _open(page, a["url"])
        assert page.evaluate("document.documentElement.scrollWidth") <= 390  # fits the phone
        # The page keeps an offline copy of itself once its service worker controls it.
        page.wait_for_function("""async () => navigator.serviceWorker.controller !== null
            && !!(await caches.match(location.pathname, {ignoreVary: true}))
            && !!(await caches.match(document.querySelector('script[src]').getAttribute('src')))""",
                               timeout=DEADLINE_S * 1000)

        # online: one mark, saved at once
        _choose(page, last, a["J"], "2")
        _wait(lambda: _state(page, last, a["J"]) == "saved", "the first mark to be saved")
        assert _marks(server_db, username, last, a["J"]) == [("2", 1, 1)]

        # offline: more marks, and a change of the first one
        context.set_offline(True)
        # Chromium applies the emulated state to the page a moment later: wait until the page itself knows (as a
        # tablet's browser does when its Wi-Fi drops)
        page.wait_for_function("navigator.onLine === false", timeout=DEADLINE_S * 1000)
        _type(page, last, a["M"], "45")
        _type(page, second_last, a["M"], "50")
        _choose(page, last, a["J"], "3")
        _wait(lambda: page.locator("#sync-count").inner_text() == "3", "three unsent marks counted")
        page.locator(f'.code-tab[data-code="{last}"]').click()
        page.locator(f'[data-submit-sheet="{last}"]').click()  # the sheet waits for its marks, and the network
        assert page.locator(f'[data-sheet-state="{last}"]').get_attribute("data-state") == "queued"
        assert page.locator("#sync-bar").get_attribute("data-state") == "pending"
        _wait(lambda: _state(page, last, a["M"]) == "pending", "the mark to wait for the network (a failed try shows as sending)")

        # a reload without network: the page and its queue come back
        page.reload()
        page.wait_for_selector("body[data-judge-ready]")
        assert page.locator("#sync-count").inner_text() == "3"
        for code, aspect in ((last, a["J"]), (last, a["M"]), (second_last, a["M"])):
            assert _state(page, code, aspect) == "pending", (code, aspect)
        assert _cell(page, last, a["J"]).locator('input[value="3"]').is_checked()
        assert _cell(page, last, a["M"]).locator("input[type=number]").input_value() == "45"
        # Nothing is stored twice, whatever got out. Chromium's emulated offline state can still let out a request
        # of a page its service worker controls, just as the network drops (Playwright's routes do not see such
        # requests either: tried), and its answer is lost — as on a venue's failing Wi-Fi. The page still counts
        # the mark as unsent (above) and sends it again with the same key once the network is back (below).
        assert _marks(server_db, username, last, a["M"]) in ([], [("45", 1, 1)])
        assert page.locator(f'[data-sheet-state="{last}"]').get_attribute("data-state") == "queued"
        assert _sheets(server_db, username, last) == 0

        # the network returns: everything is sent once
        context.set_offline(False)
        _wait(lambda: page.locator("#sync-bar").get_attribute("data-state") == "saved", "the queue to be sent")
        assert page.locator("#sync-count").is_hidden()
        for code, aspect in ((last, a["J"]), (last, a["M"]), (second_last, a["M"])):
            assert _state(page, code, aspect) == "saved", (code, aspect)

        assert _marks(server_db, username, last, a["J"]) == [("2", 1, 0), ("3", 2, 1)]
        assert _marks(server_db, username, last, a["M"]) == [("45", 1, 1)]
        assert _marks(server_db, username, second_last, a["M"]) == [("50", 1, 1)]
        _wait(lambda: page.locator(f'[data-sheet-flag="{last}"]').is_visible(), "the score sheet to be submitted")
        assert _sheets(server_db, username, last) == 1

        # a fresh load shows the server's marks, and no queue is left behind
        _open(page, a["url"])
        assert page.locator("#sync-bar").get_attribute("data-state") == "saved"
        assert page.evaluate("Object.keys(localStorage).filter(k => k.startsWith('jx.judge.'))"
                             ".map(k => JSON.parse(localStorage.getItem(k)).ops.length)") == [0]
        assert errors == []
    finally:
        context.close()


def test_a_lost_response_is_resent_with_the_same_key(browser, live_server, server_db):
    base, logins = live_server
    _, username, password = logins["judge2"]
    # Without a service worker, so that page.route sees every request of the page.
    context = browser.new_context(viewport={"width": 1024, "height": 768}, locale="zh-CN", service_workers="block")
    sent: list[list[str]] = []
    try:
        page = context.new_page()
        _log_in(page, base, username, password)
        a = _practical(page, base)
        code = a["codes"][-1]
        assert _marks(server_db, username, code, a["J"]) == []

        def lose_first_answer(route):
            keys = [m["idempotency_key"] for m in route.request.post_data_json]
            sent.append(keys)
            if len(sent) == 1:
                route.fetch()  # the server stores the mark ...
                route.abort("connectionreset")  # ... but its answer never reaches the page
            else:
                route.continue_()

        page.route(f"**/api/v1/competitions/{a['competition_id']}/marks", lose_first_answer)
        _open(page, a["url"])
        _choose(page, code, a["J"], "1")
        _wait(lambda: _state(page, code, a["J"]) == "saved", "the mark to be saved after the retry")
        assert len(sent) == 2 and sent[0] == sent[1], sent  # the same key, resent
        assert _marks(server_db, username, code, a["J"]) == [("1", 1, 1)]  # stored once
    finally:
        context.close()


def test_a_mark_the_server_refuses_is_shown_next_to_it_and_not_stored(browser, live_server, server_db):
    """A mark queued by an older copy of the page (here: put in the queue directly) that the server refuses —
    above the scale's maximum — is dropped from the queue and shown as refused, with the server's reason; the judge's
    stored mark stays as it was. (judge2's own J mark of the second-last code, from the demo: the M aspect's one place
    belongs to judge1.)"""
    base, logins = live_server
    _, username, password = logins["judge2"]
    context = browser.new_context(locale="en-US", service_workers="block")
    try:
        page = context.new_page()
        _log_in(page, base, username, password)
        a = _practical(page, base)
        code = a["codes"][-2]
        before = _marks(server_db, username, code, a["J"])
        assert len(before) == 1 and before[0][1:] == (1, 1), before
        _open(page, a["url"])
        page.evaluate("""([code, aspect]) => {
            const cfg = JSON.parse(document.getElementById('judge-config').dataset.config);
            const key = `jx.judge.v1.${cfg.user}.${cfg.competition}.${cfg.module}`;
            localStorage.setItem(key, JSON.stringify({ops: [{t: `${code}|${aspect}`, code, aspect_id: aspect,
                value: '61', key: 'e2e-out-of-scale-1', sent: false}], failed: {}, known: {}, sheets: [],
                submitted: [], sheetErrors: {}}));
        }""", [code, a["J"]])
        page.reload()
        page.wait_for_selector("body[data-judge-ready]")
        _wait(lambda: _state(page, code, a["J"]) == "error", "the refusal to be shown next to the mark")
        message = _cell(page, code, a["J"]).locator(".mark-state").inner_text()
        assert "above the highest mark" in message and "3" in message, message
        _wait(lambda: page.locator("#sync-bar").get_attribute("data-state") == "saved", "the queue to be empty")
        assert _marks(server_db, username, code, a["J"]) == before
        # the refusal survives a reload until the judge enters a valid mark
        page.reload()
        page.wait_for_selector("body[data-judge-ready]")
        assert _state(page, code, a["J"]) == "error"
        value = "0" if before[0][0] != "0" else "1"
        _choose(page, code, a["J"], value)
        _wait(lambda: _state(page, code, a["J"]) == "saved", "the corrected mark to be saved")
        assert _marks(server_db, username, code, a["J"]) == [(before[0][0], 1, 0), (value, 2, 1)]
    finally:
        context.close()
