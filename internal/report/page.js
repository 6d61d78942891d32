// flowq report: draws the time series with uPlot, sorts and copies the tables.
(function () {
  "use strict";
  var units = ["B", "kB", "MB", "GB", "TB", "PB"];
  function fmtBytes(v) {
    if (v == null) return "-";
    var i = 0, a = Math.abs(v);
    while (a >= 1000 && i < units.length - 1) { a /= 1000; v /= 1000; i++; }
    return (i === 0 ? String(Math.round(v)) : v.toFixed(a >= 100 ? 0 : 1)) + " " + units[i];
  }
  function fmtNum(v) { return v == null ? "-" : Math.round(v).toLocaleString("en-US"); }

  // utcTicks labels the time axis in UTC: hours and minutes over two days
  // or less, month and day beyond.
  function utcTicks(u, splits) {
    var long = u.scales.x.max - u.scales.x.min > 2 * 86400;
    return splits.map(function (ts) {
      var iso = new Date(ts * 1000).toISOString();
      return long ? iso.slice(5, 10) : iso.slice(11, 16);
    });
  }

  function drawCharts() {
    var charts = JSON.parse(document.getElementById("flowq-charts").textContent) || [];
    charts.forEach(function (c) {
      var el = document.querySelector('[data-chart="' + c.id + '"]');
      if (!el) return;
      var fmt = c.unit === "bytes" ? fmtBytes : fmtNum;
      var series = [{ label: "time (UTC)", value: "{YYYY}-{MM}-{DD} {HH}:{mm}" }];
      c.series.forEach(function (s) {
        series.push({
          label: s.label, stroke: s.faint ? s.color + "88" : s.color, width: s.faint ? 1 : 2,
          dash: s.faint ? [5, 4] : undefined, points: { show: false },
          value: function (u, v) { return fmt(v); }
        });
      });
      var data = [c.x];
      c.series.forEach(function (s) { data.push(s.values); });
      new uPlot({
        width: Math.max(320, el.clientWidth || 720), height: 280,
        tzDate: function (ts) { return uPlot.tzDate(new Date(ts * 1e3), "Etc/UTC"); },
        scales: { x: { time: true } },
        series: series,
        axes: [{ values: utcTicks }, { size: 70, values: function (u, vals) { return vals.map(fmt); } }]
      }, data, el);
    });
  }

  function sortable(table) {
    var ths = table.tHead ? table.tHead.rows[0].cells : [];
    Array.prototype.forEach.call(ths, function (th, col) {
      th.addEventListener("click", function () {
        var desc = !th.classList.contains("desc");
        Array.prototype.forEach.call(ths, function (h) { h.classList.remove("asc", "desc"); });
        th.classList.add(desc ? "desc" : "asc");
        var body = table.tBodies[0];
        var rows = Array.prototype.slice.call(body.rows);
        var num = th.classList.contains("num");
        rows.sort(function (a, b) {
          var x = a.cells[col], y = b.cells[col];
          if (!x || !y) return 0;
          var kx = x.dataset.v !== undefined ? x.dataset.v : x.textContent;
          var ky = y.dataset.v !== undefined ? y.dataset.v : y.textContent;
          var r = (num || x.dataset.v !== undefined) ? Number(kx) - Number(ky) : kx.localeCompare(ky);
          return desc ? -r : r;
        });
        rows.forEach(function (r) { body.appendChild(r); });
      });
    });
  }

  function tsv(table) {
    return Array.prototype.map.call(table.querySelectorAll(":scope > thead > tr, :scope > tbody > tr"), function (tr) {
      return Array.prototype.map.call(tr.cells, function (td) {
        var s = td.querySelector("summary");
        return (s ? s.textContent : td.textContent).trim();
      }).join("\t");
    }).join("\n") + "\n";
  }

  function copy(btn, text) {
    function fallback() {
      var ta = document.createElement("textarea");
      ta.value = text; document.body.appendChild(ta); ta.select();
      try { document.execCommand("copy"); } catch (e) { /* the text stays selected */ }
      document.body.removeChild(ta);
    }
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(text).then(null, fallback);
    } else {
      fallback();
    }
    btn.textContent = "Copied";
    setTimeout(function () { btn.textContent = "Copy table"; }, 1500);
  }

  document.querySelectorAll("table.sortable").forEach(sortable);
  document.querySelectorAll("button.copy").forEach(function (b) {
    b.addEventListener("click", function () { copy(b, tsv(b.parentNode.querySelector("table"))); });
  });
  drawCharts();
  document.body.dataset.drawn = "true";
  document.body.dataset.drawnMs = String(Math.round(performance.now()));
})();
