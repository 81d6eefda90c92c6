// "Copy share link" on the My certificates page: the Clipboard API where the browser allows it (HTTPS or
// localhost), else the old select-and-execCommand way, else the link is shown selected for a manual copy.
const list = document.getElementById("my-certificates");

async function copy(text, fallbackInput) {
  if (navigator.clipboard && window.isSecureContext) {
    try {
      await navigator.clipboard.writeText(text);
      return true;
    } catch (err) {
      // permission refused: try the fallback below
    }
  }
  fallbackInput.parentElement.hidden = false;
  fallbackInput.focus();
  fallbackInput.select();
  try {
    return document.execCommand("copy");
  } catch (err) {
    return false;
  }
}

if (list) {
  list.addEventListener("click", async (event) => {
    const button = event.target.closest(".share-copy");
    if (!button) return;
    const card = button.closest(".cert-card");
    const input = card.querySelector(".share-fallback input");
    const status = card.querySelector(".share-status");
    const ok = await copy(button.dataset.url, input);
    status.textContent = ok ? list.dataset.copied : list.dataset.copyFailed;
    if (!ok) input.parentElement.hidden = false;
  });
}
