/* Live board (venue screen): keeps the server-rendered board table up to date.
 *
 * Transport: EventSource on the board stream (`event: board`, the board JSON as data). The stream ends about
 * every minute and EventSource reconnects by itself; when EventSource is missing, or fails three times in a row
 * without delivering anything (proxies that buffer, a closed connection), the page polls the board JSON every
 * 1.5 s with If-None-Match (an unchanged board costs a 304 and no body).
 * Rendering: the same table as competitions/board/_table.html, built with DOM nodes and textContent only.
 * Big-screen mode (?screen=1): auto-scrolls long lists and offers the browser's full screen.
 * Every visible text comes translated from the page (#board[data-config]), nothing is hard-coded here.
 */
(function () {
  "use strict";

  var POLL_MS = 1500;
  var MAX_SSE_FAILURES = 3;
  var FIRST_EVENT_MS = 8000;

  var root = document.getElementById("board");
  if (!root || !root.getAttribute("data-config")) { return; }
  var cfg = JSON.parse(root.getAttribute("data-config"));
  var L = cfg.labels;
  var etag = cfg.etag;
  var lang = document.documentElement.lang || "zh-CN";
  var lastTotals = currentTotals();
  var pollTimer = null;
  var source = null;

  function el(tag, cls, text) {
    var node = document.createElement(tag);
    if (cls) { node.className = cls; }
    if (text !== undefined && text !== null) { node.textContent = String(text); }
    return node;
  }

  function badge(cls, text) { return el("span", "badge " + cls, text); }

  function fill(template, values) {
    return template.replace(/\{(\w+)\}/g, function (_m, key) {
      return values[key] === undefined || values[key] === null ? "" : String(values[key]);
    });
  }

  function formatTime(iso) {
    if (!iso) { return ""; }
    var d = new Date(iso);
    if (isNaN(d.getTime())) { return iso; }
    try {
      return d.toLocaleString(lang, { timeZone: cfg.timezone, year: "numeric", month: "2-digit", day: "2-digit",
        hour: "2-digit", minute: "2-digit", hour12: false });
    } catch (_e) {
      return d.toLocaleString();
    }
  }

  function currentTotals() {
    var out = {};
    var rows = root.querySelectorAll("#board-table tbody tr[data-code]");
    for (var i = 0; i < rows.length; i++) {
      var cell = rows[i].querySelector(".total");
      out[rows[i].getAttribute("data-code")] = cell ? cell.textContent : "";
    }
    return out;
  }

  function rankCell(e) {
    var td = el("td", "rank");
    if (e.rank === null || e.rank === undefined) {
      td.textContent = "—";
    } else {
      td.textContent = String(e.rank);
      if (e.shared) {
        var tie = el("span", "tie", "=");
        tie.title = L.shared;
        td.appendChild(tie);
      }
    }
    return td;
  }

  function renderTable(data) {
    var published = data.phase === "published";
    var modules = published ? (data.modules || []) : [];
    var table = el("table", "board-table");
    table.id = "board-table";
    var thead = el("thead");
    var head = el("tr");
    var cols = [[L.rank, "rank"], [L.code, ""]];
    if (published) {
      cols.push([L.name, ""], [L.enterprise, ""]);
      modules.forEach(function (m) { cols.push([m.name, "num"]); });
    }
    cols.push([L.total, "num"], [published ? L.awards : L.progress, ""]);
    cols.forEach(function (c) {
      var th = el("th", c[1], c[0]);
      th.scope = "col";
      head.appendChild(th);
    });
    thead.appendChild(head);
    table.appendChild(thead);

    var tbody = el("tbody");
    var entries = data.entries || [];
    var totals = {};
    entries.forEach(function (e) {
      var tr = el("tr");
      tr.setAttribute("data-code", e.code);
      tr.appendChild(rankCell(e));
      var code = el("td", "code");
      code.appendChild(el("code", "", e.code));
      tr.appendChild(code);
      if (published) {
        var name = el("td", "name");
        if (e.name_masked) {
          var masked = el("span", "masked", e.name);
          masked.title = L.masked;
          name.appendChild(masked);
        } else {
          name.textContent = e.name || "—";
        }
        tr.appendChild(name);
        tr.appendChild(el("td", "enterprise", e.enterprise_name || "—"));
        var scores = {};
        (e.modules || []).forEach(function (s) { scores[s.module_id] = s.score; });
        modules.forEach(function (m) {
          tr.appendChild(el("td", "num", scores[m.id] === undefined || scores[m.id] === null ? "—" : scores[m.id]));
        });
      }
      var totalText = e.total === null || e.total === undefined ? "—" : e.total;
      totals[e.code] = totalText;
      tr.appendChild(el("td", "num total", totalText));
      var last = el("td", published ? "awards" : "progress");
      if (published) {
        (e.awards || []).forEach(function (a) {
          last.appendChild(badge("award award-" + a.code, L.awards_by_code[a.code] || a.label || a.code));
          last.appendChild(document.createTextNode(" "));
        });
      } else if (e.complete) {
        last.appendChild(badge("ok", L.complete));
      } else if (e.total !== null && e.total !== undefined) {
        last.appendChild(badge("", L.in_progress));
      } else {
        last.appendChild(badge("off", L.waiting));
      }
      tr.appendChild(last);
      if (Object.prototype.hasOwnProperty.call(lastTotals, e.code) && lastTotals[e.code] !== totalText) {
        tr.className = "changed";
      }
      tbody.appendChild(tr);
    });
    if (!entries.length) {
      var empty = el("tr", "empty");
      var td = el("td", "muted", L.empty);
      td.colSpan = cols.length;
      empty.appendChild(td);
      tbody.appendChild(empty);
    }
    table.appendChild(tbody);
    lastTotals = totals;
    return table;
  }

  function render(data, newEtag) {
    if (newEtag) { etag = newEtag; }
    root.setAttribute("data-etag", etag || "");
    root.setAttribute("data-phase", data.phase);
    var phase = document.getElementById("board-phase");
    phase.textContent = L.phases[data.phase] || data.phase;
    phase.className = "phase phase-" + data.phase;
    var note = document.getElementById("board-note");
    note.textContent = fill(L.notes[data.phase] || "", { time: formatTime(data.frozen_at), version: data.version });
    var ahead = document.getElementById("board-freeze-ahead");
    if (ahead && data.phase !== "live") { ahead.hidden = true; }
    var old = document.getElementById("board-table");
    old.parentNode.replaceChild(renderTable(data), old);
    stamp();
  }

  function stamp() {
    var now = new Date();
    document.getElementById("board-updated").textContent =
      fill(L.updated, { time: now.toLocaleTimeString(lang, { hour12: false }) });
  }

  function setTransport(kind, state) {
    root.setAttribute("data-transport", kind);
    document.getElementById("board-conn").textContent = L.transport[state || kind] || "";
  }

  // --- polling fallback ---------------------------------------------------------------------------------

  function poll() {
    var headers = { "Accept": "application/json" };
    if (etag) { headers["If-None-Match"] = etag; }
    fetch(cfg.poll, { headers: headers, cache: "no-store", credentials: "same-origin" })
      .then(function (resp) {
        if (resp.status === 304) { setTransport("poll"); return null; }
        if (!resp.ok) { throw new Error("HTTP " + resp.status); }
        var tag = resp.headers.get("ETag");
        return resp.json().then(function (data) {
          setTransport("poll");
          if (tag !== etag) { render(data, tag); }
        });
      })
      .catch(function () { setTransport("poll", "offline"); })
      .then(function () { pollTimer = window.setTimeout(poll, POLL_MS); });
  }

  function startPolling() {
    if (pollTimer !== null) { return; }
    if (source) { source.close(); source = null; }
    setTransport("poll");
    pollTimer = window.setTimeout(poll, 0);
  }

  // --- EventSource ----------------------------------------------------------------------------------------

  function startStream() {
    var failures = 0;
    var watchdog = null;
    // A proxy that buffers the stream delivers nothing and reports no error: without a first event within
    // FIRST_EVENT_MS (the server sends the board at once), poll instead.
    function arm() {
      window.clearTimeout(watchdog);
      watchdog = window.setTimeout(function () { if (pollTimer === null) { startPolling(); } }, FIRST_EVENT_MS);
    }
    setTransport("sse", "connecting");
    source = new window.EventSource(cfg.stream);
    arm();
    source.addEventListener("open", function () { setTransport("sse"); });
    source.addEventListener("board", function (ev) {
      failures = 0;
      window.clearTimeout(watchdog);
      setTransport("sse");
      var tag = ev.lastEventId ? '"' + ev.lastEventId + '"' : null;
      if (tag && tag === etag) { stamp(); return; }
      render(JSON.parse(ev.data), tag);
    });
    source.addEventListener("error", function () {
      if (pollTimer !== null) { return; }
      failures += 1;
      // CLOSED: the server refused the stream (no automatic retry); otherwise EventSource reconnects by itself
      // (the stream ends every minute), unless it keeps failing.
      if (source.readyState === 2 || failures >= MAX_SSE_FAILURES) {
        window.clearTimeout(watchdog);
        startPolling();
      } else {
        setTransport("sse", "offline");
        arm();
      }
    });
  }

  // --- big screen -----------------------------------------------------------------------------------------

  function autoScroll() {
    var STEP_MS = 40;
    var PAUSE_STEPS = 75; // 3 s at the top and at the bottom
    var pause = PAUSE_STEPS;
    var atBottom = false;
    window.setInterval(function () {
      var page = document.scrollingElement || document.documentElement;
      if (page.scrollHeight <= window.innerHeight + 4) { return; }
      if (pause > 0) { pause -= 1; return; }
      if (atBottom) {
        window.scrollTo(0, 0);
        atBottom = false;
        pause = PAUSE_STEPS;
        return;
      }
      if (window.innerHeight + page.scrollTop >= page.scrollHeight - 2) {
        atBottom = true;
        pause = PAUSE_STEPS;
        return;
      }
      window.scrollBy(0, 1);
    }, STEP_MS);
  }

  function fullScreenButton() {
    var button = document.getElementById("board-fullscreen");
    if (!button || !document.documentElement.requestFullscreen) { return; }
    button.hidden = false;
    button.addEventListener("click", function () {
      if (document.fullscreenElement) {
        document.exitFullscreen();
      } else {
        document.documentElement.requestFullscreen().catch(function () { /* refused: stay windowed */ });
      }
    });
  }

  if (cfg.screen) {
    autoScroll();
    fullScreenButton();
  }
  stamp();
  if (typeof window.EventSource === "function") {
    startStream();
  } else {
    startPolling();
  }
}());
