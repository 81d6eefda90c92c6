"""In a real browser: the public live board of the running demo competition receives a mark change without a
reload — through EventSource, and through the polling fallback when EventSource is missing. The mark is submitted
by a judge (judge1, logged in in a second browser context) through the JSON API of the live server."""

from __future__ import annotations

import json
import time

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.no_transaction]

DEADLINE = 10.0  # seconds; the board must update within 2 s, the deadline only bounds a failing test


@pytest.fixture
def watched(page, live_server):
    base, _ = live_server
    outside: list[str] = []
    errors: list[str] = []
    page.on("request", lambda req: outside.append(req.url) if not req.url.startswith(base) else None)
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    yield page
    assert outside == [], "the app must not contact any outside host"
    # the refused stream of the fallback test is logged by Chromium; anything else is a real error
    assert [e for e in errors if "status of 503" not in e] == [], errors


@pytest.fixture
def judge(browser, live_server):
    """judge1's browser context (logged in) and its CSRF token, for API calls as the judge."""
    from competitions.services import board

    board.reset_cache()  # the in-process board cache is shared with the test app: start clean
    base, logins = live_server
    _, username, password = logins["judge1"]
    context = browser.new_context(locale="zh-CN")
    page = context.new_page()
    page.goto(f"{base}/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.locator("main button[type=submit]").click()
    page.wait_for_load_state()
    token = page.locator("meta[name=csrf-token]").get_attribute("content")
    try:
        yield context, token
    finally:
        context.close()


def _own_marks(context, base) -> list[dict]:
    """judge1's current marks on M aspects of the running demo competition: (competition, aspect, code, value).
    Changing one of them makes a new revision (an M aspect takes one judge: a second judge's mark would be one
    too many)."""
    resp = context.request.get(f"{base}/api/v1/judging/assignments")
    assert resp.ok, resp.text()
    out = []
    for a in resp.json()["assignments"]:
        if a["competition_status"] != "running" or a["locked"]:
            continue
        aspects = {s["id"]: s for c in a["criteria"] for s in c["aspects"] if s["kind"] == "M"}
        mine = context.request.get(f"{base}/api/v1/competitions/{a['competition_id']}/marks").json()["marks"]
        out += [{"competition_id": a["competition_id"], "aspect": aspects[m["aspect_id"]], "code": m["code"],
                 "value": m["value"]} for m in mine if m["aspect_id"] in aspects]
    assert out, "the demo has a running competition where judge1 has marked an M aspect"
    return out


def _board_total(context, base, competition_id: int, code: str) -> str | None:
    resp = context.request.get(f"{base}/api/v1/competitions/{competition_id}/board")
    assert resp.ok
    data = resp.json()
    assert data["phase"] == "live", data
    return {e["code"]: e["total"] for e in data["entries"]}[code]


def _change_a_mark(context, token, base, target: dict) -> str:
    """Submit a new value for judge1's mark; return the board total the API then shows."""
    cid, aspect, code = target["competition_id"], target["aspect"], target["code"]
    low, high = int(float(aspect["scale_min"])), int(float(aspect["scale_max"]))
    value = str(high if target["value"] != str(high) else low)
    before = _board_total(context, base, cid, code)
    resp = context.request.post(
        f"{base}/api/v1/competitions/{cid}/marks",
        data=json.dumps([{"code": code, "aspect_id": aspect["id"], "value": value,
                          "idempotency_key": f"e2e-{code}-{aspect['id']}-{time.monotonic_ns()}"}]),
        headers={"Content-Type": "application/json", "X-CSRFToken": token})
    assert resp.ok, resp.text()
    assert resp.json()["results"][0]["status"] == "stored"
    # while another request rebuilds the board, the service answers with the previous body (stale while
    # rebuilding): read until the new total shows, with a deadline
    deadline = time.monotonic() + DEADLINE
    after = _board_total(context, base, cid, code)
    while after == before and time.monotonic() < deadline:
        time.sleep(0.1)
        after = _board_total(context, base, cid, code)
    assert after != before, "the mark change moves the running total"
    return after


def _wait_for_total(page, code: str, expected: str) -> str:
    cell = page.locator(f'#board-table tr[data-code="{code}"] td.total')
    deadline = time.monotonic() + DEADLINE
    text = cell.inner_text()
    while text != expected and time.monotonic() < deadline:
        page.wait_for_timeout(100)
        text = cell.inner_text()
    return text


def _poll(page, expression: str, timeout: float = DEADLINE):
    """Evaluate ``expression`` in the page until it is truthy (page.wait_for_function needs eval, which the
    strict CSP forbids); return the last value."""
    deadline = time.monotonic() + timeout
    value = page.evaluate(expression)
    while not value and time.monotonic() < deadline:
        page.wait_for_timeout(100)
        value = page.evaluate(expression)
    return value


def _open_board(page, base: str, competition_id: int, transport: str) -> None:
    page.goto(f"{base}/board/{competition_id}")
    assert page.locator("#board").get_attribute("data-phase") == "live"
    assert _poll(page, f"document.getElementById('board').dataset.transport === '{transport}'")
    if transport == "sse":  # connected: the state shows "Live", not "Connecting…"
        live = page.evaluate("JSON.parse(document.getElementById('board').dataset.config).labels.transport.sse")
        assert _poll(page, f"document.getElementById('board-conn').textContent === {json.dumps(live)}")


def test_board_updates_live_through_event_source(watched, live_server, judge):
    page = watched
    base, _ = live_server
    context, token = judge
    target = _own_marks(context, base)[0]
    code = target["code"]
    _open_board(page, base, target["competition_id"], "sse")
    assert not page.locator("#board-table").inner_text().count("张"), "codes only while the event runs"
    url_before = page.url
    expected = _change_a_mark(context, token, base, target)
    assert _wait_for_total(page, code, expected) == expected
    assert page.url == url_before, "no reload"
    assert page.locator(f'#board-table tr[data-code="{code}"]').get_attribute("class") == "changed"
    assert page.locator("#board").get_attribute("data-transport") == "sse"


def test_board_updates_by_polling_without_event_source(watched, live_server, judge):
    page = watched
    base, _ = live_server
    context, token = judge
    page.add_init_script("delete window.EventSource")
    streams: list[str] = []
    page.on("request", lambda req: streams.append(req.url) if req.url.endswith("/board/stream") else None)
    marks = _own_marks(context, base)
    target = next(m for m in marks if m["code"] != marks[0]["code"])
    code = target["code"]
    _open_board(page, base, target["competition_id"], "poll")
    expected = _change_a_mark(context, token, base, target)
    assert _wait_for_total(page, code, expected) == expected
    assert page.locator("#board").get_attribute("data-transport") == "poll"
    assert streams == [], "no EventSource: the page never opens the stream"


def test_board_falls_back_to_polling_when_the_stream_fails(watched, live_server, judge):
    page = watched
    base, _ = live_server
    context, token = judge
    page.route("**/board/stream", lambda route: route.fulfill(status=503, body="busy"))
    marks = _own_marks(context, base)
    target = marks[-1]
    _open_board(page, base, target["competition_id"], "poll")
    expected = _change_a_mark(context, token, base, target)
    assert _wait_for_total(page, target["code"], expected) == expected
    assert page.locator("#board").get_attribute("data-transport") == "poll"


def test_board_polls_when_the_server_refuses_its_stream(watched, live_server, live_app, judge, monkeypatch):
    """The server's own refusal (no stream slot left in its process: 503 with Retry-After, in the JSON error
    envelope) turns the page to polling, and the page stays live."""
    page = watched
    base, _ = live_server
    context, token = judge
    monkeypatch.setitem(live_app.config, "BOARD_STREAMS_PER_PROCESS", 0)
    refused: list[int] = []
    page.on("response", lambda resp: refused.append(resp.status) if resp.url.endswith("/board/stream") else None)
    marks = _own_marks(context, base)
    target = marks[len(marks) // 2]
    _open_board(page, base, target["competition_id"], "poll")
    assert refused and set(refused) == {503}, refused
    expected = _change_a_mark(context, token, base, target)
    assert _wait_for_total(page, target["code"], expected) == expected
    assert page.locator("#board").get_attribute("data-transport") == "poll"


def test_big_screen_mode_has_no_navigation_and_scrolls_a_long_board(watched, live_server, judge):
    page = watched
    base, _ = live_server
    context, _token = judge
    target = _own_marks(context, base)[0]
    page.set_viewport_size({"width": 800, "height": 260})  # the board is longer than the screen
    page.goto(f"{base}/board/{target['competition_id']}?screen=1")
    assert page.locator("body.board-screen").count() == 1
    assert page.locator("nav.nav").count() == 0 and page.locator(".topbar").count() == 0
    font = page.evaluate("parseFloat(getComputedStyle(document.querySelector('#board-table td.total')).fontSize)")
    assert font >= 19, "large type on the big screen"
    assert _poll(page, "window.scrollY > 20", timeout=15), "auto-scroll starts after a pause at the top"
