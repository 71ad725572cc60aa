/* Client Profile widget helper. Progressive enhancement only: every page works without it.
 * Tells the embedding page its height and screen (cp:height, cp:route), only ever to an
 * allowed parent origin the server lists, never to "*". */
(function () {
  "use strict";
  var root = document.documentElement;
  // Show a busy state and prevent double submits on forms marked data-busy.
  document.addEventListener("submit", function (e) {
    var form = e.target;
    // "Pay online" opens the gateway in a new tab; this frame goes on to the waiting screen.
    var then = form.getAttribute("data-then");
    if (then) setTimeout(function () { location.href = then; }, 99);
    if (!form.hasAttribute("data-busy")) return;
    if (form.dataset.sent) { e.preventDefault(); return; }
    form.dataset.sent = "1";
    var button = form.querySelector("button[type=submit]");
    if (button) button.setAttribute("aria-busy", "true");
  });
  // Copy buttons (bank details) select the field before them and copy it; execCommand, as
  // the iframe is not granted clipboard-write. CSS shows them only where scripting runs.
  document.addEventListener("click", function (e) {
    var button = e.target.closest("[data-copy]");
    if (!button) return;
    getSelection().selectAllChildren(button.previousElementSibling);
    button.setAttribute("data-copied", document.execCommand("copy"));
  });
  // A login link handed over in the fragment: fill the Continue form, drop it from the URL.
  var hash = new URLSearchParams(location.hash.slice(1));
  var field = document.querySelector("input[name=token]");
  if (field && !field.value && hash.get("token")) {
    field.value = hash.get("token");
    history.replaceState(history.state, "", location.pathname + location.search);
  }
  // Framed, the iframe is as tall as its content and the provider's page scrolls, so a bar
  // fixed to the iframe's bottom would sit at the very end: the sections go on top instead.
  if (window.parent !== window) root.classList.add("cp-embedded");
  if (window.parent === window) {
    var first = document.querySelector("[data-autofocus]");
    if (first) first.focus();
    return;
  }
  var allowed = (root.getAttribute("data-parent-origins") || "").split(" ");
  var store = {};
  try { store = window.sessionStorage; } catch (err) { /* storage blocked in this frame */ }
  // Firefox has no ancestorOrigins: the snippet passes its origin in the first URL's fragment.
  if (hash.get("cp-parent")) store["cp-parent"] = hash.get("cp-parent");
  var ancestors = location.ancestorOrigins;
  var parent = (ancestors && ancestors[0]) || store["cp-parent"];
  if (allowed.indexOf(parent) < 0) return;
  function post(message) { window.parent.postMessage(message, parent); }
  var base = root.getAttribute("data-root") || "";
  var path = location.pathname.indexOf(base) === 0 ? location.pathname.slice(base.length) : "";
  if (root.hasAttribute("data-deep-link")) post({ type: "cp:route", path: "/" + path });
  var last = 0;
  function report() {
    var h = root.scrollHeight;
    if (h !== last) { last = h; post({ type: "cp:height", height: h }); }
  }
  new ResizeObserver(report).observe(document.body);
  report();
})();
