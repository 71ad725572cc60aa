/*! Client Profile embed snippet. Paste two lines:
 *    <div data-client-profile data-tenant="demo"><a href=".../t/demo/">My profile</a></div>
 *    <script src="https://profile.example.com/embed.js" async></script>
 * Budget: 2 KB gzipped together with the widget's own script; no dependencies. Safe to load
 * twice. Messages, all prefixed "cp:" (see README):
 *   iframe -> page  {type:"cp:height", height}  content height in px (ignored unless 0 < h < 50000)
 *   iframe -> page  {type:"cp:route", path}     the widget's current screen, for deep links
 * A message counts only if it comes from this snippet's own iframe window AND from the
 * widget's exact origin. Login tokens arrive in this page's URL fragment (#cp-login=...), go to
 * the iframe in ITS fragment (never in a URL a server logs), and leave the address bar at once.
 */
(function () {
  "use strict";
  var script = document.currentScript;
  if (!script) return;
  var origin = new URL(script.src).origin;
  var frames = [];
  var params = new URLSearchParams(location.hash.slice(1));
  var cleaned = new URLSearchParams(params);
  cleaned.delete("cp-login");
  cleaned.delete("cp-hint");
  if (cleaned.toString() !== params.toString()) {
    // Replace (not push) so the token is gone from history too, back button included.
    var rest = cleaned.toString();
    history.replaceState(history.state, "", location.pathname + location.search +
      (rest ? "#" + rest : ""));
  }
  function safePath(p) { return /^\/(?!\/)[\w\-\/.~%]*(\?[\w\-=&%.]*)?$/.test(p || "") ? p : ""; }
  var shown = "";  // the first widget's screen, as it last reported it
  function source(tenant, first) {
    var base = origin + "/t/" + tenant;
    var parent = "cp-parent=" + encodeURIComponent(location.origin);
    if (first && params.get("cp-login")) {
      return base + "/login/link#token=" + encodeURIComponent(params.get("cp-login")) + "&" + parent;
    }
    if (first && params.get("cp-hint")) {
      return base + "/login?hint=" + encodeURIComponent(params.get("cp-hint")) + "#" + parent;
    }
    return base + ((first && safePath(params.get("cp-path"))) || "/") + "#" + parent;
  }
  function mount(box) {
    if (box.getAttribute("data-cp-mounted")) return;
    box.setAttribute("data-cp-mounted", "1");
    var frame = document.createElement("iframe");
    var tenant = encodeURIComponent(box.getAttribute("data-tenant") || "");
    frame.setAttribute("data-tenant", tenant);
    frame.src = source(tenant, !frames.length);
    frame.title = box.getAttribute("data-title") || "Client Profile";
    frame.allow = "payment";
    frame.style.cssText = "width:100%;border:0;display:block;min-height:480px";
    box.textContent = "";
    box.appendChild(frame);
    frames.push(frame);
  }
  window.addEventListener("message", function (e) {
    var d = e.data;
    if (e.origin !== origin || !d || typeof d.type !== "string") return;
    for (var i = 0; i < frames.length; i++) {
      if (frames[i].contentWindow !== e.source) continue;
      var h = +d.height;
      if (d.type === "cp:height" && h > 0 && h < 50000) frames[i].style.height = Math.ceil(h) + "px";
      if (d.type === "cp:route" && i === 0 && safePath(d.path)) {
        shown = d.path;
        var p = new URLSearchParams(location.hash.slice(1));
        p.set("cp-path", d.path);
        history.replaceState(history.state, "", "#" + p.toString());
      }
    }
  });
  // Back/forward between entries of this page: show the screen the entry names.
  window.addEventListener("popstate", function () {
    var wanted = safePath(new URLSearchParams(location.hash.slice(1)).get("cp-path"));
    if (frames[0] && wanted && shown && wanted !== shown) {
      params = new URLSearchParams(location.hash.slice(1));
      frames[0].src = source(frames[0].getAttribute("data-tenant"), true);
    }
  });
  var boxes = document.querySelectorAll("[data-client-profile]");
  for (var i = 0; i < boxes.length; i++) mount(boxes[i]);
})();
