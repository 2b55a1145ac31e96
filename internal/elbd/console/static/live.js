// Refreshes the listener page's share table, chart and member states every 2 s from
// GET /listeners/{id}/shares (same origin, session cookie).
(function () {
  "use strict";
  var section = document.getElementById("shares");
  if (!section) return;
  var url = "/listeners/" + encodeURIComponent(section.dataset.listener) + "/shares";
  var BAR = 400, X = 170;
  function pct(f) { return (f * 100).toFixed(1) + "%"; }
  function set(root, sel, text) { var el = root.querySelector(sel); if (el) el.textContent = text; }
  function rowOf(root, owner) {
    var all = root.querySelectorAll("[data-owner]");
    for (var i = 0; i < all.length; i++) if (all[i].dataset.owner === owner) return all[i];
    return null;
  }
  // same reports whether the page shows exactly these owners and members; when a controller (or
  // another operator) added or removed one, the page is reloaded to show the new groups.
  function same(d) {
    var owners = d.owners.map(function (o) { return o.owner; }).sort().join(" ");
    var members = d.members.map(function (m) { return m.id; }).sort().join(" ");
    var shownOwners = [].map.call(document.querySelectorAll("#share-table tr[data-owner]"), function (tr) { return tr.dataset.owner; }).sort().join(" ");
    var shownMembers = [].map.call(document.querySelectorAll("tr[data-member]"), function (tr) { return tr.dataset.member; }).sort().join(" ");
    return owners === shownOwners && members === shownMembers;
  }
  function apply(d) {
    if (!same(d)) { location.reload(); return; }
    var note = document.getElementById("share-note");
    if (note) {
      note.textContent = (!d.counters ? "No connection counters from this elbd (it runs without its data plane): nothing is measured." :
        d.measured ? d.connectionsInWindow + " new connections in the last " + d.windowSeconds + " s." :
        "Measuring: the measured share appears after the next refresh.") + " Refreshes every 2 s.";
    }
    var table = document.getElementById("share-table"), chart = document.getElementById("share-chart");
    d.owners.forEach(function (o) {
      var tr = table && rowOf(table, o.owner);
      if (tr) {
        set(tr, ".health", o.health);
        set(tr, ".requested", o.requestedText);
        set(tr, ".effective", o.effectiveWeight);
        set(tr, ".expected", pct(o.expectedShare));
        set(tr, ".measured", d.measured ? pct(o.measuredShare) : "–");
        set(tr, ".count", d.measured ? String(o.measuredConnections) : "–");
      }
      var g = chart && rowOf(chart, o.owner);
      if (g) {
        var m = d.measured ? o.measuredShare : 0;
        g.querySelector("rect.expected").setAttribute("width", (o.expectedShare * BAR).toFixed(2));
        g.querySelector("rect.measured").setAttribute("width", (m * BAR).toFixed(2));
        var ev = g.querySelector(".expected-value"), mv = g.querySelector(".measured-value");
        ev.setAttribute("x", (X + o.expectedShare * BAR + 6).toFixed(2));
        ev.textContent = pct(o.expectedShare) + " expected";
        mv.setAttribute("x", (X + m * BAR + 6).toFixed(2));
        mv.textContent = (d.measured ? pct(o.measuredShare) : "–") + " measured";
      }
    });
    d.members.forEach(function (m) {
      var tr = document.querySelector('tr[data-member="' + m.id + '"]');
      if (tr) { set(tr, ".status", m.status); set(tr, ".active", String(m.activeConnections)); }
    });
    section.dataset.refreshed = String(Date.now());
  }
  function tick() {
    fetch(url, { headers: { "Accept": "application/json" }, credentials: "same-origin" })
      .then(function (r) { if (r.status === 401) { location.href = "/login"; return null; } return r.json(); })
      .then(function (d) { if (d && d.owners) apply(d); })
      .catch(function () { /* elbd restarting: try again at the next tick */ })
      .finally(function () { setTimeout(tick, 2000); });
  }
  setTimeout(tick, 2000);
})();
