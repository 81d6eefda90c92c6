// The judge's scoring page (tablet/phone): every change of a mark is saved through the JSON marks API.
//
// Each intended change gets its own idempotency key, kept with the mark in localStorage until the server
// has answered, and reused on every retry: a retried batch is answered "duplicate" and stores nothing twice.
// Without a network the page keeps working: marks wait in the queue (which survives a reload), the page shows
// what is not yet on the server (per mark, per entrant code and a counter), and the queue is sent when the
// network returns (the online event, and retries with a growing pause). One request is in flight at a time and
// every mark of a target is sent in the order it was made, so the last intended value is the one that stays.
// A refusal by the server (module locked, off the scale, not assigned…) is shown next to its mark.
// No inline script: the configuration and the translated strings come from the data-config attribute.

const CACHE = "jx-judge-v1";
const BATCH = 200;
const TIMEOUT_MS = 20000;
const MAX_DELAY_MS = 60000;

// --- exact decimals (no floats: 0.1 + 0.2 must not decide whether a mark is on the step) -------------------

const NUMBER = /^[+-]?(\d+(\.\d*)?|\.\d+)$/;

function canon(text) {
  const s = String(text).trim();
  if (!NUMBER.test(s)) return null;
  let sign = "";
  let body = s;
  if (body[0] === "+" || body[0] === "-") { sign = body[0] === "-" ? "-" : ""; body = body.slice(1); }
  let [int, frac = ""] = body.split(".");
  int = int.replace(/^0+/, "") || "0";
  frac = frac.replace(/0+$/, "");
  const out = frac ? `${int}.${frac}` : int;
  return out === "0" ? "0" : sign + out;
}

function decimals(text) {
  const i = text.indexOf(".");
  return i < 0 ? 0 : text.length - i - 1;
}

function scaled(text, places) {
  const negative = text.startsWith("-");
  const body = negative ? text.slice(1) : text;
  const [int, frac = ""] = body.split(".");
  const value = BigInt(int + frac.padEnd(places, "0"));
  return negative ? -value : value;
}

function fromScaled(value, places) {
  const negative = value < 0n;
  let digits = (negative ? -value : value).toString().padStart(places + 1, "0");
  if (places) digits = `${digits.slice(0, -places)}.${digits.slice(-places)}`;
  return canon((negative ? "-" : "") + digits);
}

function format(template, values) {
  return template.replace(/%\((\w+)\)s/g, (_, name) => String(values[name] ?? ""));
}

// --- the page ---------------------------------------------------------------------------------------------

function start(cfg) {
  const S = cfg.strings;
  const storeKey = `jx.judge.v1.${cfg.user}.${cfg.competition}.${cfg.module}`;
  const csrf = document.querySelector('meta[name="csrf-token"]')?.content || "";
  const fieldsets = new Map([...document.querySelectorAll("fieldset.aspect")].map((f) => [f.dataset.target, f]));
  const bar = document.getElementById("sync-bar");
  const barText = document.getElementById("sync-text");
  const barCount = document.getElementById("sync-count");
  const sendNow = document.getElementById("sync-now");

  let state = load();
  let inflight = false;
  let timer = null;
  let failures = 0;
  let problem = null; // null | "offline" | "retry" | "login" | "csrf" | {message}
  const localErrors = new Map(); // target → message of a value refused before it was queued
  const debounce = new Map();

  // ---- storage ----
  function empty() {
    return { ops: [], failed: {}, known: {}, sheets: [], submitted: [], sheetErrors: {} };
  }

  function load() {
    let stored = empty();
    try {
      const raw = localStorage.getItem(storeKey);
      if (raw) stored = Object.assign(empty(), JSON.parse(raw));
    } catch (e) {
      stored = empty();
    }
    // The page carries the server's marks as it rendered them (maybe a cached copy): keep the newest revision.
    for (const [target, mark] of Object.entries(cfg.marks)) {
      const known = stored.known[target];
      if (!known || (known.revision || 0) < mark.revision) stored.known[target] = { value: mark.value, revision: mark.revision };
    }
    for (const code of cfg.sheets) if (!stored.submitted.includes(code)) stored.submitted.push(code);
    return stored;
  }

  function save() {
    try {
      localStorage.setItem(storeKey, JSON.stringify(state));
    } catch (e) {
      problem = { message: String(e) };
    }
  }

  function newKey() {
    const bytes = new Uint8Array(16);
    crypto.getRandomValues(bytes);
    return `j${cfg.user}-${[...bytes].map((b) => b.toString(16).padStart(2, "0")).join("")}`;
  }

  // ---- what a target shows ----
  function lastOp(target) {
    for (let i = state.ops.length - 1; i >= 0; i--) if (state.ops[i].t === target) return state.ops[i];
    return null;
  }

  function shown(target) {
    const op = lastOp(target);
    if (op) return { value: op.value, status: op.sent && inflight ? "sending" : "pending" };
    const failed = state.failed[target];
    if (failed) return { value: failed.value, status: "error", message: failed.message };
    const known = state.known[target];
    if (known && known.value !== null && known.value !== undefined) return { value: known.value, status: "saved" };
    return null;
  }

  function validate(aspectId, text) {
    const a = cfg.aspects[aspectId];
    const value = canon(text);
    if (value === null) return [null, S.not_number];
    const places = Math.max(decimals(value), decimals(a.min), decimals(a.max), decimals(a.step));
    const v = scaled(value, places);
    const min = scaled(a.min, places);
    if (v < min) return [null, format(S.below, a)];
    if (v > scaled(a.max, places)) return [null, format(S.above, a)];
    if ((v - min) % scaled(a.step, places) !== 0n) return [null, format(S.step, a)];
    return [value, null];
  }

  // ---- intended changes ----
  function intend(fieldset, text) {
    const target = fieldset.dataset.target;
    const [value, error] = validate(fieldset.dataset.aspect, text);
    if (error) {
      localErrors.set(target, error);
      render(target);
      return;
    }
    localErrors.delete(target);
    const current = shown(target);
    const op = lastOp(target);
    if (op && !op.sent) {
      // Not sent yet: this is now the intended change (a new key: it is a different mark).
      if (op.value !== value) Object.assign(op, { value, key: newKey() });
    } else if (!(current && current.value === value && current.status === "saved")) {
      state.ops.push({ t: target, code: fieldset.dataset.code, aspect_id: Number(fieldset.dataset.aspect), value, key: newKey(), sent: false });
    }
    delete state.failed[target];
    save();
    render(target);
    refresh();
    schedule(0);
  }

  // ---- sending ----
  function schedule(delay) {
    clearTimeout(timer);
    timer = setTimeout(sync, delay);
  }

  function backoff() {
    const base = Math.min(MAX_DELAY_MS, 2000 * 2 ** Math.min(failures, 5));
    return Math.round(base * (0.8 + Math.random() * 0.4));
  }

  async function post(url, body) {
    const controller = new AbortController();
    const t = setTimeout(() => controller.abort(), TIMEOUT_MS);
    try {
      const resp = await fetch(url, {
        method: "POST", credentials: "same-origin", signal: controller.signal, cache: "no-store",
        headers: { "Content-Type": "application/json", Accept: "application/json", "X-CSRFToken": csrf },
        body: JSON.stringify(body),
      });
      let data = null;
      try { data = await resp.json(); } catch (e) { data = null; }
      return { status: resp.status, data };
    } finally {
      clearTimeout(t);
    }
  }

  class Retry extends Error {
    constructor(kind) { super(kind); this.kind = kind; }
  }

  function refusal(resp) {
    // A whole request refused without a per-mark answer: keep the queue and try again later.
    if (resp.status === 401) return new Retry("login");
    if (resp.status === 400) return new Retry("csrf");
    if (resp.status >= 500 || resp.status === 429 || !resp.data || !resp.data.error) return new Retry("retry");
    return new Retry({ message: resp.data.error.message });
  }

  async function sendMarks() {
    const batch = state.ops.slice(0, BATCH);
    for (const op of batch) op.sent = true; // from now on a change is a new op sent after this one
    save();
    renderAll();
    const resp = await post(cfg.marks_url, batch.map((op) => ({
      code: op.code, aspect_id: op.aspect_id, value: op.value, idempotency_key: op.key,
    })));
    const keys = new Set(batch.map((op) => op.key));
    if (resp.status === 200 && resp.data) {
      resp.data.results.forEach((r, i) => {
        const op = batch[i];
        const known = state.known[op.t];
        if (!known || (known.revision || 0) <= r.revision) state.known[op.t] = { value: r.value, revision: r.revision };
        delete state.failed[op.t];
      });
      state.ops = state.ops.filter((op) => !keys.has(op.key));
      save();
      return;
    }
    const items = resp.data?.error?.details?.items;
    if (resp.status >= 400 && resp.status < 500 && Array.isArray(items) && items.length) {
      // Nothing of the batch was stored: drop the refused marks (shown with the reason), resend the others.
      const refused = new Map();
      for (const item of items) if (!refused.has(item.index)) refused.set(item.index, item.message);
      const dropped = new Set();
      refused.forEach((message, index) => {
        const op = batch[index];
        if (!op) return;
        dropped.add(op.key);
        state.failed[op.t] = { value: op.value, message };
      });
      if (!dropped.size) throw refusal(resp); // an answer naming none of the marks: wait and try again
      state.ops = state.ops.filter((op) => !dropped.has(op.key));
      // A later change of a refused target replaces the error.
      for (const op of state.ops) delete state.failed[op.t];
      save();
      return;
    }
    throw refusal(resp);
  }

  function sheetReady(code) {
    return !state.ops.some((op) => op.code === code);
  }

  async function sendSheet(code) {
    const resp = await post(cfg.sheets_url, { module_id: cfg.module, code });
    if (resp.status === 200) {
      if (!state.submitted.includes(code)) state.submitted.push(code);
      delete state.sheetErrors[code];
    } else if (resp.status >= 400 && resp.status < 500 && resp.status !== 401 && resp.status !== 400 && resp.status !== 429 && resp.data?.error) {
      state.sheetErrors[code] = resp.data.error.message;
    } else {
      throw refusal(resp);
    }
    state.sheets = state.sheets.filter((c) => c !== code);
    save();
  }

  async function sync() {
    clearTimeout(timer);
    timer = null;
    if (inflight) return;
    const sheet = state.sheets.find(sheetReady);
    if (!state.ops.length && !sheet) {
      failures = 0;
      problem = null;
      refresh();
      return;
    }
    if (navigator.onLine === false) {
      // No network at all: nothing to try (the "online" event starts the sync). A connection that is up but
      // not getting through is found out by trying, with backoff, below.
      problem = "offline";
      refresh();
      return;
    }
    inflight = true;
    refresh();
    try {
      if (state.ops.length) await sendMarks();
      else await sendSheet(sheet);
      failures = 0;
      problem = null;
      inflight = false;
      schedule(0);
    } catch (e) {
      failures += 1;
      problem = e instanceof Retry ? e.kind : (navigator.onLine === false ? "offline" : "retry");
      inflight = false;
      schedule(backoff());
    } finally {
      inflight = false;
      renderAll();
    }
  }

  // ---- showing ----
  function render(target) {
    const fieldset = fieldsets.get(target);
    if (!fieldset) return;
    const s = shown(target);
    const local = localErrors.get(target);
    const status = local ? "error" : s ? s.status : "none";
    fieldset.dataset.state = status;
    const value = s ? s.value : null;
    for (const radio of fieldset.querySelectorAll("input[type=radio]")) radio.checked = value !== null && canon(radio.value) === value;
    const input = fieldset.querySelector("input[type=number]");
    if (input && document.activeElement !== input && !local && !debounce.has(target)) input.value = value ?? "";
    const flag = fieldset.querySelector(".remark-flag");
    if (flag) {
      // The re-mark request stands until a new revision of this mark is on its way or stored.
      const known = state.known[target];
      flag.hidden = Boolean(lastOp(target)) || Boolean(known && cfg.marks[target] && known.revision > cfg.marks[target].revision);
    }
    const text = fieldset.querySelector(".mark-state");
    if (local) text.textContent = local;
    else if (!s) text.textContent = "";
    else if (s.status === "error") text.textContent = s.message;
    else text.textContent = S[s.status === "saved" ? "saved" : s.status === "sending" ? "sending" : "unsynced"];
  }

  function renderAll() {
    for (const target of fieldsets.keys()) render(target);
    refresh();
  }

  function refresh() {
    const pendingTargets = new Set(state.ops.map((op) => op.t));
    const count = pendingTargets.size;
    let kind = "saved";
    let message = S.all_saved;
    if (count || state.sheets.length) {
      kind = inflight ? "sending" : "pending";
      message = format(S.pending, { n: count });
      if (problem === "login") message = S.login;
      else if (problem === "csrf") message = S.csrf;
      else if (!inflight && (problem === "offline" || navigator.onLine === false)) message = S.offline;
      else if (!inflight && problem === "retry") message = `${message} — ${S.retry}`;
      else if (!inflight && problem && problem.message) message = format(S.forbidden, problem);
      if (inflight) message = `${format(S.pending, { n: count })} — ${S.sending}`;
    }
    bar.dataset.state = kind;
    barText.textContent = message;
    if (problem === "login" && cfg.login_url) {
      const link = document.createElement("a");
      link.href = cfg.login_url;
      link.target = "_blank";
      link.textContent = " ↗";
      barText.append(link);
    }
    barCount.hidden = count === 0;
    barCount.textContent = String(count);
    sendNow.hidden = !(count || state.sheets.length) || inflight;

    // per entrant code: progress, unsynced marks, the score sheet
    const codes = new Map();
    for (const [target, fieldset] of fieldsets) {
      const code = fieldset.dataset.code;
      if (!codes.has(code)) codes.set(code, { done: 0, total: 0, pending: 0, errors: 0 });
      const c = codes.get(code);
      c.total += 1;
      const s = shown(target);
      if (s && s.status !== "error") c.done += 1;
      if (s && s.status === "error") c.errors += 1;
      if (pendingTargets.has(target)) c.pending += 1;
    }
    codes.forEach((c, code) => {
      const sel = CSS.escape(code);
      const progress = document.querySelector(`[data-progress-for="${sel}"]`);
      if (progress) progress.textContent = format(S.progress, c);
      const unsynced = document.querySelector(`[data-unsynced-for="${sel}"]`);
      if (unsynced) {
        unsynced.hidden = c.pending === 0 && c.errors === 0;
        unsynced.textContent = c.errors ? `! ${c.errors}` : `⟳ ${c.pending}`;
      }
      const tab = document.querySelector(`.code-tab[data-code="${sel}"]`);
      if (tab) tab.dataset.state = c.errors ? "error" : c.pending ? "pending" : c.done === c.total ? "complete" : "open";
      const flag = document.querySelector(`[data-sheet-flag="${sel}"]`);
      if (flag) flag.hidden = !state.submitted.includes(code);
      const sheetState = document.querySelector(`[data-sheet-state="${sel}"]`);
      if (sheetState) {
        let text = "";
        if (state.sheetErrors[code]) text = state.sheetErrors[code];
        else if (state.sheets.includes(code)) text = S.sheet_queued;
        else if (state.submitted.includes(code)) text = S.sheet_done;
        else if (c.done === c.total && !c.errors) text = S.sheet_ready;
        else text = format(S.sheet_missing, { n: c.total - c.done });
        sheetState.textContent = text;
        sheetState.dataset.state = state.sheetErrors[code] ? "error" : state.sheets.includes(code) ? "queued"
          : state.submitted.includes(code) ? "submitted" : "";
      }
      const button = document.querySelector(`[data-submit-sheet="${sel}"]`);
      if (button) button.disabled = !(c.done === c.total && !c.errors) || state.sheets.includes(code);
    });
  }

  // ---- wiring ----
  for (const fieldset of fieldsets.values()) {
    for (const radio of fieldset.querySelectorAll("input[type=radio]")) {
      radio.addEventListener("change", () => { if (radio.checked) intend(fieldset, radio.value); });
    }
    const input = fieldset.querySelector("input[type=number]");
    if (input) {
      input.addEventListener("change", () => { if (input.value.trim() !== "") intend(fieldset, input.value); });
      input.addEventListener("keydown", (e) => { if (e.key === "Enter") { e.preventDefault(); input.blur(); } });
      for (const button of fieldset.querySelectorAll(".stepper")) {
        button.addEventListener("click", () => stepBy(fieldset, input, Number(button.dataset.step)));
      }
    }
  }

  function stepBy(fieldset, input, direction) {
    const a = cfg.aspects[fieldset.dataset.aspect];
    const current = canon(input.value);
    const places = Math.max(decimals(a.min), decimals(a.max), decimals(a.step), current === null ? 0 : decimals(current));
    const step = scaled(a.step, places);
    const min = scaled(a.min, places);
    const max = scaled(a.max, places);
    let v = current === null ? (direction > 0 ? min : max) : scaled(current, places) + BigInt(direction) * step;
    if (v < min) v = min;
    if (v > max) v = max;
    input.value = fromScaled(v, places);
    // Several taps in a row are one intended change: saved once the judge stops tapping.
    const target = fieldset.dataset.target;
    clearTimeout(debounce.get(target));
    debounce.set(target, setTimeout(() => { debounce.delete(target); intend(fieldset, input.value); }, 800));
  }

  for (const button of document.querySelectorAll("[data-submit-sheet]")) {
    button.addEventListener("click", () => {
      const code = button.dataset.submitSheet;
      delete state.sheetErrors[code];
      if (!state.sheets.includes(code)) state.sheets.push(code);
      save();
      refresh();
      schedule(0);
    });
  }

  for (const tab of document.querySelectorAll(".code-tab")) {
    tab.addEventListener("click", () => show(tab.dataset.code, true));
  }

  function show(code, focus) {
    for (const section of document.querySelectorAll("section.sheet")) section.hidden = section.dataset.sheet !== code;
    for (const tab of document.querySelectorAll(".code-tab")) {
      tab.setAttribute("aria-pressed", String(tab.dataset.code === code));
      if (tab.dataset.code === code && !focus) tab.scrollIntoView({ block: "nearest", inline: "nearest" });
    }
    try { sessionStorage.setItem(`${storeKey}.code`, code); } catch (e) { /* private mode */ }
    if (focus) document.querySelector(`section.sheet[data-sheet="${CSS.escape(code)}"] h2`)?.scrollIntoView({ block: "start" });
  }

  sendNow.addEventListener("click", () => { failures = 0; schedule(0); });
  window.addEventListener("online", () => { failures = 0; problem = null; schedule(0); });
  window.addEventListener("offline", () => { problem = "offline"; refresh(); });
  document.addEventListener("visibilitychange", () => { if (!document.hidden && state.ops.length) schedule(0); });
  window.addEventListener("storage", (e) => {
    if (e.key === storeKey) { state = load(); renderAll(); }
  });
  // A safety net besides the backoff timer: never leave a queue waiting longer than a minute.
  setInterval(() => { if (!inflight && !timer && (state.ops.length || state.sheets.length)) schedule(0); }, MAX_DELAY_MS);

  let lastCode = null;
  try { lastCode = sessionStorage.getItem(`${storeKey}.code`); } catch (e) { lastCode = null; }
  if (lastCode && document.querySelector(`section.sheet[data-sheet="${CSS.escape(lastCode)}"]`)) show(lastCode, false);
  save();
  renderAll();
  document.body.dataset.judgeReady = "1";
  schedule(0);
  offlineCopy(cfg);
}

// Keep a copy of this page and its assets so it opens again without a network (service worker + Cache API).
function offlineCopy(cfg) {
  if (!("serviceWorker" in navigator) || !window.caches || !window.isSecureContext) return;
  navigator.serviceWorker.register(cfg.sw_url, { scope: new URL(".", new URL(cfg.sw_url, location.href)).pathname })
    .catch(() => null);
  const assets = [location.pathname + location.search,
    ...[...document.querySelectorAll('link[rel="stylesheet"], script[src]')].map((el) => el.getAttribute("href") || el.getAttribute("src"))];
  caches.open(CACHE).then((cache) => Promise.all(assets.map((url) => cache.match(url, { ignoreVary: true })
    .then((hit) => (hit ? null : cache.add(url)))))).catch(() => null);
}

const configElement = document.getElementById("judge-config");
if (configElement) {
  start(JSON.parse(configElement.dataset.config));
}
