/*! Client Profile embed snippet. Paste:
 *    <div data-client-profile data-tenant="demo"></div>
 *    <script src="https://profile.example.com/embed.js" async></script>
 * It must stay tiny (budget: 2 KB gzipped together with the widget's own script), so it has no
 * dependencies. Messages (all prefixed "cp:"): iframe -> page {type:"cp:height", height:<px>}.
 * A message is accepted only when it comes from this snippet's own iframe window AND from the
 * widget's exact origin; zero or absurd heights are ignored. Safe to load twice.
 */
(function () {
  "use strict";
  var script = document.currentScript;
  if (!script) return;
  var origin = new URL(script.src).origin;
  var frames = [];
  function mount(box) {
    if (box.getAttribute("data-cp-mounted")) return;
    box.setAttribute("data-cp-mounted", "1");
    var tenant = encodeURIComponent(box.getAttribute("data-tenant") || "");
    var frame = document.createElement("iframe");
    frame.src = origin + "/t/" + tenant + "/#cp-parent=" + encodeURIComponent(location.origin);
    frame.title = box.getAttribute("data-title") || "Client Profile";
    frame.allow = "payment";
    frame.style.cssText = "width:100%;border:0;display:block;min-height:480px";
    box.textContent = "";
    box.appendChild(frame);
    frames.push(frame);
  }
  window.addEventListener("message", function (e) {
    if (e.origin !== origin || !e.data || e.data.type !== "cp:height") return;
    for (var i = 0; i < frames.length; i++) {
      var h = +e.data.height;
      if (frames[i].contentWindow === e.source && h > 0 && h < 50000) {
        frames[i].style.height = Math.ceil(h) + "px";
      }
    }
  });
  var boxes = document.querySelectorAll("[data-client-profile]");
  for (var i = 0; i < boxes.length; i++) mount(boxes[i]);
})();
