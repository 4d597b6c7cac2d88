// The script of the console's graphs, served as a console asset next to
// uPlot (CSP script-src 'self': no inline script). Each `.graph` element
// says what to draw in data-* attributes; the script fetches the series from
// /api/metrics/series (same origin, the page's own session) and draws them
// with uPlot, whose legend shows the values under the cursor.
//
// data-measurement, data-fields (comma list), data-range, data-node and any
// other data-tag-NAME (a tag filter), data-unit (bps | pct | rate | ms |
// count), data-labels (JSON: field -> label), data-below (a field drawn
// below the axis, e.g. inbound traffic), data-empty (text when no data).

export const GRAPH_CLIENT_JS = String.raw`(function () {
  'use strict';
  var UNITS = {
    bps: function (v) { return scaled(v, ['bit/s', 'kbit/s', 'Mbit/s', 'Gbit/s', 'Tbit/s'], 1000); },
    pct: function (v) { return v.toFixed(Math.abs(v) >= 10 ? 1 : 2) + ' %'; },
    rate: function (v) { return v.toFixed(Math.abs(v) >= 10 ? 1 : 3) + ' /s'; },
    ms: function (v) { return v.toFixed(Math.abs(v) >= 10 ? 1 : 2) + ' ms'; },
    count: function (v) { return String(Math.round(v)); }
  };
  var COLOURS = ['#1f6fb2', '#2e9d5b', '#c0392b', '#e0a030', '#7d3c98', '#138d90', '#8a4b00', '#555f6b'];
  function scaled(v, units, base) {
    var a = Math.abs(v), i = 0;
    while (a >= base && i < units.length - 1) { a /= base; i++; }
    var s = v < 0 ? -a : a;
    return s.toFixed(i === 0 || a >= 100 ? 0 : a >= 10 ? 1 : 2) + ' ' + units[i];
  }
  function query(el) {
    var d = el.dataset, q = new URLSearchParams();
    q.set('measurement', d.measurement); q.set('fields', d.fields); q.set('range', d.range);
    Object.keys(d).forEach(function (k) {
      if (k.indexOf('tag') === 0 && k.length > 3) q.set(k.charAt(3).toLowerCase() + k.slice(4), d[k]);
    });
    return '/api/metrics/series?' + q.toString();
  }
  function draw(el, answer) {
    var d = el.dataset, labels = d.labels ? JSON.parse(d.labels) : {}, unit = UNITS[d.unit] || UNITS.count;
    if (!answer.series.length) { el.classList.add('graph-empty'); el.textContent = d.empty || '—'; return; }
    var times = {};
    answer.series.forEach(function (s) { s.points.forEach(function (p) { times[p[0]] = true; }); });
    var xs = Object.keys(times).map(Number).sort(function (a, b) { return a - b; });
    var at = {}; xs.forEach(function (t, i) { at[t] = i; });
    var data = [xs.map(function (t) { return t / 1000; })];
    var series = [{}];
    answer.series.forEach(function (s, i) {
      var below = d.below && d.below === s.field ? -1 : 1;
      var ys = xs.map(function () { return null; });
      s.points.forEach(function (p) { ys[at[p[0]]] = below * p[1]; });
      data.push(ys);
      var extra = Object.keys(s.tags).filter(function (k) { return k !== 'node' && k !== 'ifIndex' && !(d['tag' + k.charAt(0).toUpperCase() + k.slice(1)]); });
      var name = s.field in labels ? labels[s.field] : s.field, tagText = extra.map(function (k) { return s.tags[k]; }).join(' ');
      var label = name && tagText ? name + ' ' + tagText : name || tagText;
      series.push({ label: label, stroke: COLOURS[i % COLOURS.length], width: 1.5, fill: below < 0 ? 'rgba(46,157,91,0.12)' : undefined,
        value: function (u, v) { return v == null ? '—' : unit(Math.abs(v)); } });
    });
    var width = Math.max(280, el.clientWidth || 600);
    var plot = new uPlot({
      width: width, height: 170, series: series,
      legend: { live: true },
      cursor: { drag: { x: false, y: false } },
      scales: { x: { time: true } },
      axes: [{}, { size: 80, values: function (u, vals) { return vals.map(function (v) { return unit(Math.abs(v)); }); } }]
    }, data, el);
    el.dataset.points = String(xs.length);
    el.dataset.drawn = 'true';
    return plot;
  }
  function load(el) {
    fetch(query(el), { credentials: 'same-origin', headers: { accept: 'application/json' } })
      .then(function (r) { return r.json().then(function (body) { if (!r.ok) throw new Error(body.message || r.status); return body; }); })
      .then(function (answer) { draw(el, answer); })
      .catch(function (e) { el.classList.add('graph-error'); el.textContent = String(e.message || e); });
  }
  function start() { Array.prototype.forEach.call(document.querySelectorAll('.graph[data-measurement]'), load); }
  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', start); else start();
})();
`;

export const GRAPH_STYLE = `.graphs{display:grid;grid-template-columns:repeat(auto-fill,minmax(420px,1fr));gap:.8rem}
.graph-card{background:#fff;border:1px solid #dde1e6;padding:.4rem .6rem}.graph-card h3{margin:.1rem 0 .3rem;font-size:.92rem}
.graph{min-height:200px}.graph-empty,.graph-error{display:flex;align-items:center;justify-content:center;color:#56606b;min-height:120px}
.graph-error{color:#9b1c1c}.ranges{display:flex;gap:.4rem;margin:.3rem 0 .6rem}.ranges a{padding:.1rem .5rem;border:1px solid #c3cad1;border-radius:3px;color:#12355b;text-decoration:none;background:#fff}
.ranges a[aria-current=true]{background:#12355b;color:#fff}.spark{vertical-align:middle}
.topology svg{background:#fff;border:1px solid #dde1e6;max-width:100%;height:auto}.topology a text{fill:#12355b}
.legend-line{display:inline-block;width:1.6rem;height:.25rem;vertical-align:middle;margin:0 .3rem 0 .8rem}`;
