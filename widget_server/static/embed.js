/*! Client Profile embed snippet. Paste two lines:
 *    <div data-client-profile data-tenant="demo"><a href=".../t/demo/">My profile</a></div>
 *    <script src="https://profile.example.com/embed.js" async></script>
 * Budget: 2.2 KB gzipped together with the widget's own script (a provider's every page loads
 * it); no dependencies; ES5 (minified with calmjs.parse). Safe to load twice. Messages, all
 * prefixed "cp:" (see README):
 *   iframe -> page  {type:"cp:height", height}  content height in px (ignored unless 0 < h < 50000)
 *   iframe -> page  {type:"cp:route", path, nav, label, bar, link, on}  the widget's screen, for
 *                   deep links; its sections [[label, path, aria-current]] for the bottom bar,
 *                   the bar's name and its inline styles in the tenant's theme
 *   iframe -> page  {type:"cp:scroll", top}     a new screen (top 0) or an in-page link's target:
 *                   bring that point of the widget into view (never on the first screen)
 *   page -> iframe  {type:"cp:navigate", path}  a section chosen in the bottom bar
 * A message counts only if it comes from this snippet's own iframe window AND from the
 * widget's exact origin; the snippet posts only to that origin. Login tokens arrive in this
 * page's URL fragment (#cp-login=...), go to the iframe in ITS fragment (never in a URL a
 * server logs), and leave the address bar at once.
 * Embed check: each widget reports the page it runs on, `origin + pathname` and nothing else
 * (no query, no fragment, no cookies), by POST to /embed/seen/<tenant>. A frame the browser
 * refuses (this origin is not in the tenant's allowed_origins) never sends a message: 3 s after
 * its load the plain link comes back, with one console error naming the origin to add.
 */
(function () {
  var doc = document, loc = location, hist = history, Params = URLSearchParams;
  var script = doc.currentScript;
  if (!script) return;
  var origin = new URL(script.src).origin;
  var frames = [];
  function hashParams() { return new Params(loc.hash.slice(1)); }
  function setHash(p) {
    // Replace (not push) so a token is gone from history too, back button included.
    hist.replaceState(hist.state, "", loc.pathname + loc.search + (p + "" ? "#" + p : ""));
  }
  var params = hashParams(), cleaned = hashParams();
  cleaned.delete("cp-login");
  cleaned.delete("cp-hint");
  if (cleaned + "" !== params + "") setHash(cleaned);
  function safePath(p) { return /^\/(?!\/)[\w\-\/.~%]*(\?[\w\-=&%.]*)?$/.test(p) ? p : ""; }
  var shown = "";  // the first widget's screen, as it last reported it
  function source(tenant, first) {
    var login = first && params.get("cp-login"), hint = first && params.get("cp-hint");
    return origin + "/t/" + tenant + (login ? "/login/link#token=" + encodeURIComponent(login)
      : hint ? "/login?hint=" + encodeURIComponent(hint)
        : (first && safePath(params.get("cp-path"))) || "/");
  }
  function mount(box) {
    if (box.cp) return;
    box.cp = 1;
    var frame = doc.createElement("iframe"), link = [].slice.call(box.childNodes);
    frame.cp = encodeURIComponent(box.dataset.tenant);
    fetch(origin + "/embed/seen/" + frame.cp, { method: "POST", body: loc.origin + loc.pathname,
      credentials: "omit" }).catch(function () {});  // blocked or offline: nothing to tell
    frame.src = source(frame.cp, !frames.length);
    frame.title = box.dataset.title || "Client Profile";
    // Kept by the frame across its pages: tells the widget this page's origin (Firefox has no
    // ancestorOrigins) and, for the first widget, that this page shows its sections in a bar.
    frame.name = "cp" + !frames.length + " " + loc.origin;
    frame.allow = "payment";
    frame.style.cssText = "width:100%;border:0;display:block;min-height:480px";
    frame.l = 0;  // counts screens: the first one never scrolls the page
    // Refused by CSP frame-ancestors, a frame still fires load, but no widget speaks in it.
    frame.onload = function () {
      setTimeout(function () {
        if (frame.ok) return;
        box.replaceChildren.apply(box, link);
        console.error("Client Profile: " + loc.origin + " may not show this widget. Add it to " +
          "allowed_origins of tenant '" + frame.cp + "'.");
      }, 3000);
    };
    box.replaceChildren(frame);
    frames.push(frame);
  }
  // Phones: the widget's sections in a bar fixed to the bottom of this page, shown while the
  // widget is in view (a bar fixed inside an iframe as tall as its content never would be).
  var bar, nav = [];
  function place() {
    var f = frames[0];
    if (!bar) return;
    var r = f.getBoundingClientRect();
    var show = nav.length && r.width < 768 && r.top < innerHeight - 99 && r.bottom > 99;
    bar.style.display = show ? "flex" : "none";
  }
  addEventListener("scroll", place);
  addEventListener("resize", place);
  function draw(d, frame) {
    nav = d.nav || [];
    bar = bar || doc.body.appendChild(doc.createElement("nav"));
    bar.style.cssText = d.bar;  // the tenant's theme, from the widget's own origin
    bar.setAttribute("aria-label", d.label);
    bar.textContent = "";
    nav.forEach(function (n) {
      var button = bar.appendChild(doc.createElement("button"));
      button.textContent = n[0];
      button.style.cssText = n[2] ? d.on : d.link;
      if (n[2]) button.setAttribute("aria-current", n[2]);
      button.onclick = function () {
        frame.contentWindow.postMessage({ type: "cp:navigate", path: n[1] }, origin);
      };
    });
    place();
  }
  addEventListener("message", function (e) {
    var d = e.data || {}, t = d.type;
    frames.forEach(function (f, i) {
      if (e.origin !== origin || f.contentWindow !== e.source) return;
      f.ok = 1;  // the browser let the widget in
      var h = +d.height, r = f.getBoundingClientRect();
      if (t === "cp:height" && h > 0 && h < 50000) f.style.height = h + "px";
      if (t === "cp:scroll" && f.l++ && (d.top > 0 || r.top < 0)) scrollBy(0, r.top + d.top);
      if (t === "cp:route" && !i && safePath(d.path)) {
        var p = hashParams();
        p.set("cp-path", shown = d.path);
        setHash(p);
        draw(d, f);
      }
    });
  });
  // Back/forward between entries of this page: show the screen the entry names.
  addEventListener("popstate", function () {
    var wanted = safePath(hashParams().get("cp-path"));
    if (wanted && shown && wanted !== shown) {
      params = hashParams();
      frames[0].src = source(frames[0].cp, 1);
    }
  });
  [].forEach.call(doc.querySelectorAll("[data-client-profile]"), mount);
})();
