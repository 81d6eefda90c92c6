// The chief judge's page: a question before the lock, and a tap on a matrix cell fills in the forms for that
// entrant code and aspect (change after the lock, paper mark) or jumps to its divergence. No inline script.

for (const form of document.querySelectorAll("form[data-confirm]")) {
  form.addEventListener("submit", (event) => {
    if (!window.confirm(form.dataset.confirm)) event.preventDefault();
  });
}

// A decision form: the reason is required when the marks are accepted.
for (const form of document.querySelectorAll("form.decision-form")) {
  const reason = form.querySelector("textarea[name=reason]");
  const sync = () => { reason.required = form.querySelector("input[name=decision][value=accepted]").checked; };
  for (const radio of form.querySelectorAll("input[name=decision]")) radio.addEventListener("change", sync);
}

function fill(prefix, code, aspect) {
  const codeField = document.getElementById(`${prefix}-code`);
  const aspectField = document.getElementById(`${prefix}-aspect_id`);
  if (!codeField || !aspectField) return false;
  codeField.value = code;
  aspectField.value = aspect;
  return true;
}

for (const cell of document.querySelectorAll("table.matrix td.cell")) {
  cell.tabIndex = 0;
  const pick = () => {
    const { code, aspect } = cell.dataset;
    const divergence = document.getElementById(`d-${code}-${aspect}`);
    const filledChange = fill("change", code, aspect);
    const filledPaper = fill("paper", code, aspect);
    const target = divergence && cell.classList.contains("cell-diverges") ? divergence
      : filledChange ? document.getElementById("change") : filledPaper ? document.getElementById("paper") : null;
    if (target) {
      target.scrollIntoView({ block: "start" });
      target.querySelector("input:not([type=hidden]), select, textarea")?.focus({ preventScroll: true });
    }
  };
  cell.addEventListener("click", pick);
  cell.addEventListener("keydown", (event) => { if (event.key === "Enter") pick(); });
}

// New marks arrive while the chief judge watches: compare the page's figures with the completeness API (the same
// formula as the server's) every 15 s while the page is visible, and offer a reload when they differ.
const notice = document.getElementById("live-notice");
if (notice) {
  const signature = (body) => {
    let marks = 0;
    let revisions = 0;
    for (const row of body.entries) {
      for (const cell of row.cells) {
        for (const m of [...cell.marks, ...cell.unconfirmed]) { marks += 1; revisions += m.revision; }
      }
    }
    return `${marks}:${revisions}:${body.missing}:${body.unconfirmed}:${body.open_divergences}:${body.locked_at ? 1 : 0}`;
  };
  const check = async () => {
    if (document.hidden || !notice.hidden) return;
    try {
      const resp = await fetch(notice.dataset.url, { credentials: "same-origin", headers: { Accept: "application/json" }, cache: "no-store" });
      if (resp.ok && signature(await resp.json()) !== notice.dataset.signature) notice.hidden = false;
    } catch (e) { /* no network: try again next time */ }
  };
  setInterval(check, 15000);
}
