/* Client Profile widget helper. Progressive enhancement only: every page works without it. */
(function () {
  "use strict";
  // Show a busy state and prevent double submits on forms marked data-busy.
  document.addEventListener("submit", function (e) {
    var form = e.target;
    if (!form.hasAttribute("data-busy")) return;
    if (form.dataset.sent) { e.preventDefault(); return; }
    form.dataset.sent = "1";
    var button = form.querySelector("button[type=submit]");
    if (button) button.setAttribute("aria-busy", "true");
  });
})();
