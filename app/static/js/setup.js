// Competition setup pages: small progressive enhancements (every page works without them).
//  - forms with data-confirm ask before an irreversible lifecycle step;
//  - a promotion band shows its target-level select only for "to a skill level";
//  - an award strategy that is switched off is dimmed.
(function () {
  "use strict";

  document.querySelectorAll("form[data-confirm]").forEach(function (form) {
    form.addEventListener("submit", function (event) {
      if (!window.confirm(form.getAttribute("data-confirm"))) {
        event.preventDefault();
      }
    });
  });

  document.querySelectorAll(".band").forEach(function (row) {
    var action = row.querySelector("select[name$='-action']");
    var level = row.querySelector("select[name$='-level']");
    if (!action || !level) return;
    function sync() {
      level.hidden = action.value !== "to_level";
    }
    action.addEventListener("change", sync);
    sync();
  });

  document.querySelectorAll("fieldset.award").forEach(function (fieldset) {
    var toggle = fieldset.querySelector("legend input[type=checkbox]");
    if (!toggle) return;
    function sync() {
      fieldset.classList.toggle("off", !toggle.checked);
    }
    toggle.addEventListener("change", sync);
    sync();
  });
})();
