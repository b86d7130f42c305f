
// Diffy report page: filter and sort the table of every host, filter by
// command and kind, the map's tooltip, and going to a host. It reads the
// page and writes only text (textContent), classes and the hidden flag:
// nothing a host printed is ever parsed as markup.
(function () {
  "use strict";
  var byId = function (id) { return document.getElementById(id); };
  var each = function (sel, fn) { Array.prototype.forEach.call(document.querySelectorAll(sel), fn); };
  var table = byId("host-table");
  var rows = table ? Array.prototype.slice.call(table.tBodies[0].rows) : [];
  var ftext = byId("ftext"), fcmd = byId("fcmd"), fkind = byId("fkind"), shown = byId("shown"), showAll = byId("show-all");
  // Only the first limit rows that match are shown, unless all is set:
  // laying out thousands of rows is what makes a large page slow.
  var limit = table ? parseInt(table.getAttribute("data-limit"), 10) || rows.length : 0, all = false;
  var dots = {};
  each("#map a[data-i]", function (a) { dots[a.getAttribute("data-i")] = a; });

  // wants reports whether a space-separated list of "cN.kM" tokens (the
  // command and kind of each finding) has one the filters ask for.
  function wants(tokens) {
    var c = fcmd ? fcmd.value : "", k = fkind ? fkind.value : "";
    if (!c && !k) { return true; }
    var ts = (tokens || "").split(" ");
    for (var i = 0; i < ts.length; i++) {
      var t = ts[i];
      if (!t) { continue; }
      var dot = t.indexOf(".");
      if ((!c || t.slice(1, dot) === c) && (!k || t.slice(dot + 2) === k)) { return true; }
    }
    return false;
  }

  function apply() {
    var q = ftext ? ftext.value.trim().toLowerCase() : "";
    var n = 0;
    for (var i = 0; i < rows.length; i++) {
      var r = rows[i];
      if (q && r.searchText === undefined) { r.searchText = r.textContent.toLowerCase(); }
      var ok = (!q || r.searchText.indexOf(q) >= 0) && wants(r.getAttribute("data-f"));
      if (ok) { n++; }
      r.hidden = !ok || (!all && n > limit);
      var d = dots[r.getAttribute("data-i")];
      if (d) { d.classList.toggle("dim", !ok); }
    }
    var filtered = q || (fcmd && fcmd.value) || (fkind && fkind.value);
    if (shown) {
      var num = function (x) { return x.toLocaleString("en-US"); };
      var what = filtered ? num(n) + " of " + num(rows.length) + " hosts match" : num(rows.length) + " hosts";
      shown.textContent = all || n <= limit ? what + ", all shown" : what + ", the first " + num(limit) + " shown";
    }
    if (showAll) { showAll.hidden = all || n <= limit; }
    each("li.finding", function (li) { li.hidden = !wants(li.getAttribute("data-f")); });
    each("details.host, details.cluster", function (d) { d.hidden = !wants(d.getAttribute("data-f")); });
  }

  var timer = 0;
  if (ftext) { ftext.addEventListener("input", function () { clearTimeout(timer); timer = setTimeout(apply, 120); }); }
  if (fcmd) { fcmd.addEventListener("change", apply); }
  if (fkind) { fkind.addEventListener("change", apply); }
  if (showAll) { showAll.addEventListener("click", function () { all = true; apply(); }); }
  var filters = byId("filters");
  if (filters) { filters.addEventListener("submit", function (e) { e.preventDefault(); }); }

  // Sorting: a click on a heading sorts by its column, again reverses.
  if (table) {
    table.tHead.addEventListener("click", function (e) {
      var th = e.target.closest("th");
      if (!th) { return; }
      var col = th.cellIndex, num = th.getAttribute("data-type") === "num";
      var dir = th.getAttribute("aria-sort") === "ascending" ? -1 : 1;
      Array.prototype.forEach.call(th.parentNode.cells, function (c) { c.setAttribute("aria-sort", "none"); });
      th.setAttribute("aria-sort", dir > 0 ? "ascending" : "descending");
      var keyed = rows.map(function (r, i) {
        var c = r.cells[col], v = c.hasAttribute("data-v") ? c.getAttribute("data-v") : c.textContent;
        return { r: r, i: i, v: num ? parseFloat(v) || 0 : v.toLowerCase() };
      });
      keyed.sort(function (a, b) { return a.v < b.v ? -dir : a.v > b.v ? dir : a.i - b.i; });
      var body = table.tBodies[0], frag = document.createDocumentFragment();
      rows = keyed.map(function (x) { frag.appendChild(x.r); return x.r; });
      body.appendChild(frag);
      apply();
    });
  }

  // Unfold or fold every outlier.
  var openAll = byId("open-all"), foldAll = byId("fold-all");
  if (openAll) { openAll.addEventListener("click", function () { each("#outliers details.host", function (d) { d.open = true; }); }); }
  if (foldAll) { foldAll.addEventListener("click", function () { each("#outliers details.host", function (d) { d.open = false; }); }); }

  // Going to a host (a dot, a link, a URL ending in #h12): unfold it and
  // what holds it, and clear the filters if they hide it.
  function go() {
    var id = location.hash.slice(1);
    var el = id && byId(id);
    if (!el) { return; }
    if (el.closest("[hidden]")) {
      if (ftext) { ftext.value = ""; }
      if (fcmd) { fcmd.value = ""; }
      if (fkind) { fkind.value = ""; }
      apply();
    }
    el.hidden = false; // a row past the first shown
    for (var p = el; p; p = p.parentElement) { if (p.tagName === "DETAILS") { p.open = true; } }
    el.scrollIntoView({ block: "start" });
  }
  window.addEventListener("hashchange", go);
  document.addEventListener("click", function (e) {
    var a = e.target.closest && e.target.closest("a");
    if (a && a.getAttribute("href") === location.hash) { setTimeout(go, 0); }
  });
  go();

  // The map's tooltip: instance ID, cluster and score of the dot pointed at.
  var map = byId("map"), tip = byId("tip");
  if (map && tip) {
    var show = function (a, x, y) {
      tip.textContent = a.getAttribute("aria-label");
      tip.hidden = false;
      var w = tip.offsetWidth, h = tip.offsetHeight;
      tip.style.left = Math.max(4, Math.min(x + 14, window.innerWidth - w - 4)) + "px";
      tip.style.top = Math.max(4, y - h - 10) + "px";
    };
    map.addEventListener("mouseover", function (e) {
      var a = e.target.closest("a");
      if (a) { show(a, e.clientX, e.clientY); } else { tip.hidden = true; }
    });
    map.addEventListener("mousemove", function (e) {
      var a = e.target.closest("a");
      if (a) { show(a, e.clientX, e.clientY); }
    });
    map.addEventListener("mouseleave", function () { tip.hidden = true; });
    map.addEventListener("focusin", function (e) {
      var a = e.target.closest("a");
      if (a) { var b = a.getBoundingClientRect(); show(a, b.right, b.top); }
    });
    map.addEventListener("focusout", function () { tip.hidden = true; });
  }
})();
