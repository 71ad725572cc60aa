/* Client Profile widget helper. Progressive enhancement only: every page works without it.
 * Framed, it tells the embedding page (only an allowed parent origin the server lists, never
 * "*") its content height (cp:height), its screen and section links (cp:route), where to
 * scroll (cp:scroll), and takes the section the page's bottom bar asks for (cp:navigate).
 * ES5 on purpose: it is minified with calmjs.parse, and shares the snippet's 2.2 KB budget. */
(function () {
  var doc = document, loc = location, root = doc.documentElement, body = doc.body;
  var post = function () {};
  function byId(id) { return doc.getElementById(id); }
  function scrollTo(el) { post({ type: "cp:scroll", top: el ? el.getBoundingClientRect().top : 0 }); }
  // Show a busy state and prevent double submits on forms marked data-busy.
  doc.addEventListener("submit", function (e) {
    var form = e.target, then = form.dataset.then;
    // "Pay online" opens the gateway in a new tab; this frame goes on to the waiting screen.
    if (then) setTimeout(function () { loc.href = then; }, 99);
    if ("busy" in form.dataset) {
      if (form.sent) e.preventDefault();
      form.sent = 1;
      form.setAttribute("aria-busy", true);
    }
  });
  // A login link handed over in the fragment: fill the Continue form, drop it from the URL.
  var hash = new URLSearchParams(loc.hash.slice(1)), field = doc.querySelector("input[name=token]");
  if (field && !field.value && hash.get("token")) {
    field.value = hash.get("token");
    history.replaceState(history.state, "", loc.pathname + loc.search);
  }
  // Copy buttons (bank details) select the field before them and copy it; execCommand, as
  // the iframe is not granted clipboard-write. CSS shows them only where scripting runs.
  // In-page links (#to-pay): framed, this document never scrolls (the iframe is as tall as
  // it), so the embedding page is asked to scroll to the target instead.
  doc.addEventListener("click", function (e) {
    var button = e.target.closest("[data-copy]"), link = e.target.closest("a[href^='#']");
    var target = link && byId(link.hash.slice(1));
    if (button) {
      getSelection().selectAllChildren(button.previousElementSibling);
      button.setAttribute("data-copied", doc.execCommand("copy"));
    }
    if (target) scrollTo(target);
  });
  if (parent === window) {
    var first = doc.querySelector("[data-autofocus]");
    return first && first.focus();
  }
  // Framed, the iframe is as tall as its content and the provider's page scrolls, so a bar
  // fixed to the iframe's bottom would sit at the very end: the sections go on top instead,
  // or, when the snippet embeds us (it names our frame), in a bar of its own on its page.
  var named = name.split(" ");  // "cptrue <origin>" from the snippet, for its first widget
  root.className += " cp-embedded" + (named[0] === "cptrue" ? " cp-hosted" : "");
  var ancestors = loc.ancestorOrigins;
  var origin = (ancestors && ancestors[0]) || (/^cp/.test(named[0]) && named[1]);
  if (root.dataset.parentOrigins.split(" ").indexOf(origin) < 0) return;
  post = function (message) { parent.postMessage(message, origin); };
  if (root.dataset.route) post(JSON.parse(root.dataset.route));
  // A new screen: its top (or the #target it was sent to) comes into view on the page.
  scrollTo(byId(loc.hash.slice(1)));
  addEventListener("message", function (e) {
    var d = e.data || {};
    if (e.source === parent && e.origin === origin && d.type === "cp:navigate" &&
        /^\/[\w-]*$/.test(d.path)) loc.href = root.dataset.root + d.path.slice(1);
  });
  // The content's own height: the document's scrollHeight never drops below the iframe's.
  var last = 0;
  function report() {
    var h = body.scrollHeight;
    if (h !== last) post({ type: "cp:height", height: last = h });
  }
  new ResizeObserver(report).observe(body);  // calls it once at the start, too
})();
