/* Client Profile widget helper. Progressive enhancement only: every page works without it.
 * Tells the embedding page its height ({type:"cp:height"}), only ever to an allowed parent
 * origin listed by the server, never to "*". */
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
  if (window.parent === window) return;
  var allowed = (document.documentElement.getAttribute("data-parent-origins") || "").split(" ");
  // Firefox has no ancestorOrigins: the snippet passes its origin in the first URL's fragment.
  var hinted = /cp-parent=([^&]+)/.exec(location.hash);
  var store = {};
  try { store = window.sessionStorage; } catch (err) { /* storage blocked in this frame */ }
  if (hinted) store["cp-parent"] = decodeURIComponent(hinted[1]);
  var ancestors = location.ancestorOrigins;
  var parent = (ancestors && ancestors[0]) || store["cp-parent"];
  if (allowed.indexOf(parent) < 0) return;
  var last = 0;
  function report() {
    var h = document.documentElement.scrollHeight;
    if (h !== last) { last = h; window.parent.postMessage({ type: "cp:height", height: h }, parent); }
  }
  new ResizeObserver(report).observe(document.body);
  report();
})();
