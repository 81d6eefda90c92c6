// Progress of a certificate batch: polls the JSON progress endpoint and updates the bar without a reload.
// Texts come translated from the page (data- attributes); the status label comes translated in the JSON.
const box = document.getElementById("batch-progress");

function render(p) {
  const bar = document.getElementById("batch-bar");
  bar.max = Math.max(p.total, 1);
  bar.value = p.done + p.failed;
  bar.textContent = `${p.done + p.failed} / ${p.total}`;
  document.getElementById("batch-counts").textContent = box.dataset.counts
    .replace("{done}", p.done).replace("{total}", p.total).replace("{failed}", p.failed);
  document.getElementById("batch-status").textContent = p.status_label;
  const note = document.getElementById("batch-note");
  if (p.finished) {
    note.textContent = "";
    document.getElementById("batch-downloads").hidden = false;
    document.getElementById("batch-zip").hidden = !p.has_zip;
    for (const id of ["batch-errors", "batch-errors-xlsx"]) document.getElementById(id).hidden = !p.has_errors;
  } else if (p.total > 0 && p.done + p.failed >= p.total) {
    note.textContent = box.dataset.finishing;
  }
}

async function poll(delay) {
  try {
    const resp = await fetch(box.dataset.url, { headers: { Accept: "application/json" }, credentials: "same-origin" });
    if (resp.ok) {
      const p = await resp.json();
      render(p);
      if (p.finished) return;
      delay = 1000;
    } else if (resp.status === 403 || resp.status === 404) {
      return; // logged out or gone: nothing left to show
    }
  } catch (err) {
    document.getElementById("batch-note").textContent = box.dataset.offline;
    delay = Math.min(delay * 2, 15000);
  }
  setTimeout(() => poll(delay), delay);
}

if (box && box.dataset.finished !== "1") poll(1000);
