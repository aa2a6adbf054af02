// AttnSim report page: draws the charts of an `attnsim ... --format html` page from the
// JSON embedded in it (one <script type="application/json" class="attnsim-data"> per
// dataset, each exactly what the command prints with --format json), as inline SVG.
// No network, no libraries. Every chart has axis titles with units, a legend whose
// entries toggle their series, log/linear switches where both make sense, hover values,
// and under it the table it was drawn from. What each mark shows is also written into
// its data-* attributes (data-series, data-x, data-y), so a test can read back what the
// page drew and compare it with the JSON.
(function () {
  "use strict";

  var SVG_NS = "http://www.w3.org/2000/svg";

  // Okabe and Ito's colour-blind-safe palette: M. Okabe and K. Ito, "Color Universal
  // Design (CUD): how to make figures and presentations that are friendly to colorblind
  // people" (2008), https://jfly.uni-koeln.de/color/. Blue, orange, bluish green,
  // vermillion, reddish purple, sky blue, yellow, black; yellow comes late because it is
  // faint on white. Past eight series the colours repeat with another dash and marker.
  var PALETTE = ["#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442", "#000000"];
  var DASHES = ["", "7 4", "2 3", "9 3 2 3"];
  var MARKERS = ["circle", "square", "triangle", "diamond"];

  // ---------------------------------------------------------------------------------
  // Elements

  function el(tag, attrs, parent, text) {
    var node = document.createElement(tag);
    setAttrs(node, attrs);
    if (text !== undefined && text !== null) node.textContent = text;
    if (parent) parent.appendChild(node);
    return node;
  }

  function sv(tag, attrs, parent, text) {
    var node = document.createElementNS(SVG_NS, tag);
    setAttrs(node, attrs);
    if (text !== undefined && text !== null) node.textContent = text;
    if (parent) parent.appendChild(node);
    return node;
  }

  function setAttrs(node, attrs) {
    if (!attrs) return;
    Object.keys(attrs).forEach(function (key) {
      var value = attrs[key];
      if (value !== undefined && value !== null) node.setAttribute(key, String(value));
    });
  }

  // ---------------------------------------------------------------------------------
  // Numbers as the tool prints them

  // 1234567 -> "1,234,567" (integers); other numbers to 4 significant digits.
  function grouped(x) {
    if (!isFinite(x)) return String(x);
    if (Math.round(x) !== x) return Number(x.toPrecision(4)).toString();
    var digits = String(Math.abs(x));
    var out = "";
    for (var i = 0; i < digits.length; i++) {
      if (i > 0 && (digits.length - i) % 3 === 0) out += ",";
      out += digits[i];
    }
    return (x < 0 ? "-" : "") + out;
  }

  // A token count as the tool writes contexts: 4096 -> "4k", 1048576 -> "1m".
  function tokens(n) {
    if (n >= 1048576 && n % 1048576 === 0) return n / 1048576 + "m";
    if (n >= 1024 && n % 1024 === 0) return n / 1024 + "k";
    return grouped(n);
  }

  // Three significant digits with a decimal prefix: 2.13e9 -> "2.13G".
  function si(x) {
    if (x === 0) return "0";
    var prefixes = [[1e15, "P"], [1e12, "T"], [1e9, "G"], [1e6, "M"], [1e3, "k"]];
    var a = Math.abs(x);
    for (var i = 0; i < prefixes.length; i++) {
      if (a >= prefixes[i][0]) return Number((x / prefixes[i][0]).toPrecision(3)) + prefixes[i][1];
    }
    if (a >= 0.01) return String(Number(x.toPrecision(3)));
    return x.toExponential(2);
  }

  // Bytes with a binary prefix: 1073741824 -> "1 GiB".
  function bytes(x) {
    var units = [[Math.pow(2, 50), "PiB"], [Math.pow(2, 40), "TiB"], [Math.pow(2, 30), "GiB"], [Math.pow(2, 20), "MiB"], [1024, "KiB"]];
    var a = Math.abs(x);
    for (var i = 0; i < units.length; i++) {
      if (a >= units[i][0]) return Number((x / units[i][0]).toPrecision(3)) + " " + units[i][1];
    }
    return grouped(x) + " B";
  }

  function percent(x) { return (x * 100).toFixed(1) + "%"; }

  // A table cell: integers in full with thousands separators, other numbers to six
  // significant digits (the cell's data-value keeps the number exactly).
  function exact(x) {
    if (typeof x !== "number") return x === null || x === undefined ? "-" : String(x);
    if (Math.round(x) === x && Math.abs(x) < 1e21) return grouped(x);
    if (Math.abs(x) >= 1e6) return x.toExponential(5);
    return Number(x.toPrecision(6)).toString();
  }

  var FORMATS = {
    tokens: tokens,
    int: grouped,
    si: si,
    bytes: bytes,
    percent: percent,
    fixed1: function (x) { return x.toFixed(1); },
    fixed3: function (x) { return x.toFixed(3); },
    text: function (x) { return String(x); }
  };

  function format(kind, value) {
    if (value === null || value === undefined) return "-";
    if (typeof value !== "number") return String(value);
    return (FORMATS[kind] || si)(value);
  }

  // ---------------------------------------------------------------------------------
  // Scales: value -> pixel

  function niceStep(span, count) {
    var raw = span / Math.max(1, count);
    var power = Math.pow(10, Math.floor(Math.log10(raw)));
    var steps = [1, 2, 2.5, 5, 10];
    for (var i = 0; i < steps.length; i++) if (steps[i] * power >= raw) return steps[i] * power;
    return 10 * power;
  }

  // Ticks at 1, 2, 2.5 or 5 times a power of ten; of `unit` (1024^k for bytes, so that
  // ticks fall on whole GiB, MiB, ...) when one is given.
  function linearScale(lo, hi, from, to, binary) {
    if (lo === hi) { hi = lo === 0 ? 1 : lo + Math.abs(lo); lo = Math.min(0, lo); }
    var unit = 1;
    if (binary) { while (unit * 1024 <= Math.max(Math.abs(lo), Math.abs(hi))) unit *= 1024; }
    var step = niceStep((hi - lo) / unit, 6) * unit;
    lo = Math.floor(lo / step) * step;
    hi = Math.ceil(hi / step) * step;
    var ticks = [];
    for (var v = lo; v <= hi + step / 2; v += step) ticks.push(Math.abs(v) < step / 1e9 ? 0 : v);
    return {
      kind: "linear", lo: lo, hi: hi, ticks: ticks,
      map: function (value) { return from + (value - lo) / (hi - lo) * (to - from); }
    };
  }

  // Decades (or powers of two with base 2), at most about ten ticks; a base-10 range
  // under two decades gets 1, 2, 5 steps and bounds instead.
  function logScale(lo, hi, from, to, base) {
    base = base || 10;
    if (base === 10 && Math.log10(hi / lo) < 2) {
      var nice = [];
      for (var k = Math.floor(Math.log10(lo)) - 1; k <= Math.ceil(Math.log10(hi)) + 1; k++) {
        [1, 2, 5].forEach(function (m) { nice.push(m * Math.pow(10, k)); });
      }
      var below = nice.filter(function (v) { return v <= lo * (1 + 1e-12); });
      var above = nice.filter(function (v) { return v >= hi * (1 - 1e-12); });
      var nlo = below[below.length - 1], nhi = above[0];
      if (nhi <= nlo) nhi = nice[nice.indexOf(nlo) + 1];
      var fine = nice.filter(function (v) { return v >= nlo && v <= nhi; });
      if (fine.length < 4) {
        // Under a factor of five: every integer multiple of the power of ten.
        fine = [];
        for (var e = Math.floor(Math.log10(nlo)); e <= Math.ceil(Math.log10(nhi)); e++) {
          for (var m = 1; m <= 9; m++) { var v = m * Math.pow(10, e); if (v >= nlo * (1 - 1e-12) && v <= nhi * (1 + 1e-12)) fine.push(v); }
        }
      }
      var la = Math.log(nlo), lb = Math.log(nhi);
      return {
        kind: "log", lo: nlo, hi: nhi, ticks: fine,
        map: function (value) { return from + (Math.log(value) - la) / (lb - la) * (to - from); }
      };
    }
    var llo = Math.floor(Math.log(lo) / Math.log(base) + 1e-9);
    var lhi = Math.ceil(Math.log(hi) / Math.log(base) - 1e-9);
    if (lhi === llo) { llo -= 1; lhi += 1; }
    var stride = Math.max(1, Math.ceil((lhi - llo) / 10));
    var ticks = [];
    for (var e = llo; e <= lhi; e += stride) ticks.push(Math.pow(base, e));
    var a = llo * Math.log(base), b = lhi * Math.log(base);
    return {
      kind: "log", lo: Math.pow(base, llo), hi: Math.pow(base, lhi), ticks: ticks,
      map: function (value) { return from + (Math.log(value) - a) / (b - a) * (to - from); }
    };
  }

  // ---------------------------------------------------------------------------------
  // Fits

  // Least-squares slope and intercept of log y against log x: the exponent of a power
  // law y = c x^k, which is how an IO law reads on log-log axes.
  function logLogFit(points) {
    var xs = [], ys = [];
    points.forEach(function (p) {
      if (p.x > 0 && p.y > 0) { xs.push(Math.log(p.x)); ys.push(Math.log(p.y)); }
    });
    var n = xs.length;
    if (n < 2) return null;
    var mx = 0, my = 0;
    for (var i = 0; i < n; i++) { mx += xs[i]; my += ys[i]; }
    mx /= n; my /= n;
    var sxx = 0, sxy = 0;
    for (var j = 0; j < n; j++) { sxx += (xs[j] - mx) * (xs[j] - mx); sxy += (xs[j] - mx) * (ys[j] - my); }
    if (sxx === 0) return null;
    var slope = sxy / sxx;
    return { slope: slope, intercept: my - slope * mx, n: n };
  }

  // ---------------------------------------------------------------------------------
  // The chart

  var chartCount = 0;

  function seriesStyle(index) {
    return {
      color: PALETTE[index % PALETTE.length],
      dash: DASHES[Math.floor(index / PALETTE.length) % DASHES.length],
      marker: MARKERS[Math.floor(index / PALETTE.length) % MARKERS.length]
    };
  }

  function drawMarker(parent, shape, x, y, size, color, attrs) {
    var node;
    if (shape === "square") {
      node = sv("rect", { x: x - size, y: y - size, width: 2 * size, height: 2 * size }, parent);
    } else if (shape === "triangle") {
      node = sv("polygon", { points: [x, y - 1.2 * size, x - 1.1 * size, y + 0.8 * size, x + 1.1 * size, y + 0.8 * size].join(" ") }, parent);
    } else if (shape === "cross") {
      node = sv("polygon", { points: [-1, -3, 1, -3, 1, -1, 3, -1, 3, 1, 1, 1, 1, 3, -1, 3, -1, 1, -3, 1, -3, -1, -1, -1]
        .map(function (v, i) { return (i % 2 === 0 ? x : y) + v * size / 2.4; }).join(" ") }, parent);
    } else if (shape === "diamond") {
      node = sv("polygon", { points: [x, y - 1.3 * size, x + 1.3 * size, y, x, y + 1.3 * size, x - 1.3 * size, y].join(" ") }, parent);
    } else {
      node = sv("circle", { cx: x, cy: y, r: size }, parent);
    }
    setAttrs(node, { fill: color, stroke: "#ffffff", "stroke-width": 1 });
    setAttrs(node, attrs);
    return node;
  }

  // spec: {id, title, caption, type: "xy"|"bars", x: axis, y: axis, series: [...], refs,
  //        fit, table, stacked, categories}
  // axis: {title, unit, scale: "log"|"linear", toggle, format, base}
  // xy series: {name, points: [{x, y, info}], line, marker}; bars series: {name, values}
  function chart(parent, spec) {
    chartCount += 1;
    var figure = el("figure", { class: "chart", "data-chart": spec.id, "data-type": spec.type }, parent);
    el("h3", null, figure, spec.title);
    if (spec.caption) el("p", { class: "caption" }, figure, spec.caption);
    var state = { hidden: {}, xScale: spec.x.scale || "linear", yScale: spec.y.scale || "linear" };
    var controls = el("div", { class: "controls" }, figure);
    ["x", "y"].forEach(function (axis) {
      var a = spec[axis];
      if (!a.toggle) return;
      var group = el("span", { class: "toggle", role: "group", "aria-label": axis + " axis scale" }, controls);
      el("span", null, group, axis + " axis:");
      ["log", "linear"].forEach(function (kind) {
        var button = el("button", { type: "button", "data-axis": axis, "data-scale": kind }, group, kind);
        button.addEventListener("click", function () {
          state[axis + "Scale"] = kind;
          draw();
        });
      });
    });
    if (spec.groups) el("span", { class: "group-label" }, controls, spec.groupsLabel || "show:");
    (spec.groups || []).forEach(function (group) {
      // A button that hides or shows every series of a group (a statistic, say).
      var button = el("button", { type: "button", "aria-pressed": "true", "data-group": group.name, title: "show or hide every " + group.name + " series" }, controls, group.name);
      button.addEventListener("click", function () {
        var show = button.getAttribute("aria-pressed") !== "true";
        button.setAttribute("aria-pressed", show ? "true" : "false");
        group.members.forEach(function (name) {
          state.hidden[name] = !show;
          if (legendButtons[name]) legendButtons[name].setAttribute("aria-pressed", show ? "true" : "false");
        });
        draw();
      });
    });
    var frame = el("div", { class: "frame" }, figure);
    var tooltip = el("div", { class: "tooltip", role: "status" }, frame);
    var legend = el("ul", { class: "legend", "data-chart": spec.id }, figure);
    var styles = {};
    var legendButtons = {};
    spec.series.forEach(function (s, i) {
      styles[s.name] = s.style || seriesStyle(i);
      var item = el("li", null, legend);
      var button = el("button", { type: "button", "aria-pressed": "true", "data-series": s.name, title: "show or hide " + s.name }, item);
      legendButtons[s.name] = button;
      var swatch = sv("svg", { width: 28, height: 12, "aria-hidden": "true" }, button);
      if (spec.type === "xy" && s.line !== false) {
        sv("line", { x1: 1, y1: 6, x2: 27, y2: 6, stroke: styles[s.name].color, "stroke-width": 2.5, "stroke-dasharray": styles[s.name].dash }, swatch);
      }
      if (spec.type === "xy") drawMarker(swatch, styles[s.name].marker, 14, 6, 4, styles[s.name].color);
      else sv("rect", { x: 4, y: 1, width: 20, height: 10, fill: styles[s.name].color }, swatch);
      el("span", { class: "label" }, button, s.name);
      var fitted = spec.fit && spec.type === "xy" ? logLogFit(s.points) : null;
      if (fitted) el("span", { class: "note" }, button, "slope " + fitted.slope.toFixed(2));
      button.addEventListener("click", function () {
        state.hidden[s.name] = !state.hidden[s.name];
        button.setAttribute("aria-pressed", state.hidden[s.name] ? "false" : "true");
        draw();
      });
    });
    (spec.markers || []).forEach(function (m) {
      var item = el("li", { class: "reference" }, legend);
      var swatch = sv("svg", { width: 16, height: 12, "aria-hidden": "true" }, item);
      drawMarker(swatch, m.marker, 8, 6, 4, "#555555");
      el("span", { class: "label" }, item, m.label);
    });
    (spec.refs || []).forEach(function (r) {
      if (!r.legend) return;
      var item = el("li", { class: "reference" }, legend);
      var swatch = sv("svg", { width: 28, height: 12, "aria-hidden": "true" }, item);
      if (r.kind === "band") sv("rect", { x: 1, y: 1, width: 26, height: 10, fill: r.color || "#999999", "fill-opacity": 0.25 }, swatch);
      else sv("line", { x1: 1, y1: 6, x2: 27, y2: 6, stroke: r.color || "#555555", "stroke-width": 2, "stroke-dasharray": r.dash || "" }, swatch);
      el("span", { class: "label" }, item, r.legend);
    });
    var svg = sv("svg", { class: "plot", viewBox: "0 0 760 " + (spec.height || 420), role: "img", "aria-label": spec.title }, frame);
    var note = el("p", { class: "note" }, figure);

    function showTip(event, lines) {
      tooltip.textContent = "";
      lines.forEach(function (line) { el("div", null, tooltip, line); });
      var box = frame.getBoundingClientRect();
      tooltip.style.left = Math.min(event.clientX - box.left + 14, box.width - 220) + "px";
      tooltip.style.top = (event.clientY - box.top + 14) + "px";
      tooltip.style.display = "block";
    }
    function hideTip() { tooltip.style.display = "none"; }
    function hover(node, lines) {
      sv("title", null, node, lines.join("\n"));
      node.addEventListener("mousemove", function (event) { showTip(event, lines); });
      node.addEventListener("mouseleave", hideTip);
    }

    function draw() {
      while (svg.firstChild) svg.removeChild(svg.firstChild);
      hideTip();
      Array.prototype.forEach.call(controls.querySelectorAll("button[data-axis]"), function (b) {
        b.setAttribute("aria-pressed", state[b.getAttribute("data-axis") + "Scale"] === b.getAttribute("data-scale") ? "true" : "false");
      });
      figure.setAttribute("data-x-scale", state.xScale);
      figure.setAttribute("data-y-scale", state.yScale);
      if (spec.type === "bars") drawBars(); else drawXY();
    }

    function axes(x, y, left, right, top, bottom, xLabel, yLabel) {
      var g = sv("g", { class: "axes" }, svg);
      y.ticks.forEach(function (t) {
        var py = y.map(t);
        sv("line", { x1: left, x2: right, y1: py, y2: py, class: "grid" }, g);
        sv("text", { x: left - 6, y: py + 4, "text-anchor": "end", class: "tick" }, g, format(spec.y.format, t));
      });
      if (x) {
        x.ticks.forEach(function (t) {
          var px = x.map(t);
          sv("line", { x1: px, x2: px, y1: top, y2: bottom, class: "grid" }, g);
          sv("text", { x: px, y: bottom + 16, "text-anchor": "middle", class: "tick" }, g, format(spec.x.format, t));
        });
      }
      sv("line", { x1: left, x2: right, y1: bottom, y2: bottom, class: "axis" }, g);
      sv("line", { x1: left, x2: left, y1: top, y2: bottom, class: "axis" }, g);
      sv("text", { x: (left + right) / 2, y: bottom + (spec.xLabelOffset || 40), "text-anchor": "middle", class: "axis-title", "data-axis": "x" }, g, xLabel);
      sv("text", { x: 16, y: (top + bottom) / 2, "text-anchor": "middle", transform: "rotate(-90 16 " + (top + bottom) / 2 + ")", class: "axis-title", "data-axis": "y" }, g, yLabel);
    }

    function axisLabel(a) { return a.title + (a.unit ? " (" + a.unit + ")" : ""); }

    // Log ticks at powers of two for token counts and bytes, of ten otherwise.
    function axisBase(a) { return a.base || (a.format === "bytes" || a.format === "tokens" ? 2 : 10); }

    function drawXY() {
      var height = spec.height || 420;
      var left = 84, right = 740, top = 16, bottom = height - 56;
      var xLog = state.xScale === "log", yLog = state.yScale === "log";
      var visible = spec.series.filter(function (s) { return !state.hidden[s.name]; });
      var xs = [], ys = [];
      function usable(p) { return isFinite(p.x) && isFinite(p.y) && (!xLog || p.x > 0) && (!yLog || p.y > 0); }
      visible.forEach(function (s) { s.points.forEach(function (p) { if (usable(p)) { xs.push(p.x); ys.push(p.y); } }); });
      (spec.refs || []).forEach(function (r) {
        (r.points || []).forEach(function (p) { if (r.extend && usable({ x: p[0], y: p[1] })) { xs.push(p[0]); ys.push(p[1]); } });
      });
      var skipped = 0;
      spec.series.forEach(function (s) { s.points.forEach(function (p) { if (!usable(p)) skipped += 1; }); });
      if (xs.length === 0) {
        sv("text", { x: 380, y: height / 2, "text-anchor": "middle", class: "empty" }, svg, "no positive values to draw on these axes");
        figure.setAttribute("data-marks", "0");
        return;
      }
      var xLo = Math.min.apply(null, xs), xHi = Math.max.apply(null, xs);
      var yLo = Math.min.apply(null, ys), yHi = Math.max.apply(null, ys);
      if (!yLog && spec.y.zero !== false) yLo = Math.min(0, yLo);
      if (yLog && spec.y.headroom) yHi *= spec.y.headroom;
      var x = xLog ? logScale(xLo, xHi, left, right, axisBase(spec.x)) : linearScale(xLo, xHi, left, right, spec.x.format === "bytes");
      var y = yLog ? logScale(yLo, yHi, bottom, top, axisBase(spec.y)) : linearScale(yLo, yHi, bottom, top, spec.y.format === "bytes");
      axes(x, y, left, right, top, bottom, axisLabel(spec.x), axisLabel(spec.y));
      var clip = "clip-" + spec.id;
      var defs = sv("defs", null, svg);
      sv("rect", { x: left, y: top, width: right - left, height: bottom - top }, sv("clipPath", { id: clip }, defs));
      var plot = sv("g", { "clip-path": "url(#" + clip + ")" }, svg);
      function inside(px, py) { return px >= left - 1 && px <= right + 1 && py >= top - 1 && py <= bottom + 1; }
      function clampPoint(p) { return [x.map(Math.max(p[0], xLog ? x.lo : -Infinity)), y.map(Math.max(p[1], yLog ? y.lo : -Infinity))]; }

      // References under the data: bands, lines, labels (drawn last, unclipped).
      var refLabels = [];
      (spec.refs || []).forEach(function (r) {
        var g = sv("g", { class: "reference", "data-reference": r.name }, plot);
        var pts = (r.points || []).filter(function (p) { return (!xLog || p[0] > 0) && (!yLog || p[1] > 0); });
        if (r.kind === "band") {
          var upper = r.upper.filter(function (p) { return (!xLog || p[0] > 0) && (!yLog || p[1] > 0); });
          var lower = r.lower.filter(function (p) { return (!xLog || p[0] > 0) && (!yLog || p[1] > 0); });
          var poly = upper.concat(lower.slice().reverse()).map(clampPoint).map(function (q) { return q.join(","); }).join(" ");
          sv("polygon", { points: poly, fill: r.color || "#999999", "fill-opacity": r.opacity || 0.18, stroke: "none" }, g);
          return;
        }
        if (pts.length < 2) return;
        sv("polyline", {
          points: pts.map(clampPoint).map(function (q) { return q.join(","); }).join(" "),
          fill: "none", stroke: r.color || "#555555", "stroke-width": r.width || 1.5, "stroke-dasharray": r.dash || ""
        }, g);
        if (r.label) {
          var last = clampPoint(pts[pts.length - 1]);
          refLabels.push({ x: Math.min(last[0], right - 4), y: Math.max(top + 12, last[1] - 6), text: r.label });
        }
      });

      var marks = 0;
      var slopeLabels = [];
      visible.forEach(function (s) {
        var style = styles[s.name];
        var g = sv("g", { class: "series", "data-series": s.name }, plot);
        var pts = s.points.filter(usable);
        if (spec.fit) {
          var fit = logLogFit(s.points);
          if (fit) {
            g.setAttribute("data-slope", String(fit.slope));
            var fx = pts.map(function (p) { return p.x; });
            var x0 = Math.min.apply(null, fx), x1 = Math.max.apply(null, fx);
            var line = [x0, x1].map(function (v) { return [v, Math.exp(fit.intercept + fit.slope * Math.log(v))]; });
            if (xLog && yLog) {
              sv("polyline", { points: line.map(clampPoint).map(function (q) { return q.join(","); }).join(" "), fill: "none", stroke: style.color,
                "stroke-width": 1, "stroke-dasharray": "3 3", class: "fit" }, g);
            }
            var end = clampPoint(line[1]);
            slopeLabels.push({ x: end[0], y: end[1] - 6, color: style.color, name: s.name, text: "slope " + fit.slope.toFixed(2) });
          }
        }
        if (s.line !== false && pts.length > 1) {
          var ordered = pts.slice().sort(function (a, b) { return a.x - b.x; });
          sv("polyline", { points: ordered.map(function (p) { return x.map(p.x) + "," + y.map(p.y); }).join(" "), fill: "none", stroke: style.color,
            "stroke-width": 2, "stroke-dasharray": style.dash }, g);
        }
        pts.forEach(function (p) {
          var px = x.map(p.x), py = y.map(p.y);
          if (!inside(px, py)) return;
          var shape = p.marker || style.marker;
          var node = drawMarker(g, shape, px, py, s.line === false ? 4.5 : 3.5, style.color, {
            class: "mark", "data-series": s.name, "data-x": String(p.x), "data-y": String(p.y)
          });
          var lines = [s.name, axisLabel(spec.x) + ": " + format(spec.x.format, p.x), axisLabel(spec.y) + ": " + format(spec.y.format, p.y)];
          (p.info || []).forEach(function (kv) { lines.push(kv[0] + ": " + kv[1]); });
          hover(node, lines);
          marks += 1;
        });
      });
      refLabels.forEach(function (l) { sv("text", { x: l.x, y: l.y, "text-anchor": "end", class: "ref-label" }, svg, l.text); });
      // Slope labels at the series' right ends, moved apart so that none overlap.
      slopeLabels.sort(function (a, b) { return a.y - b.y; });
      for (var k = 1; k < slopeLabels.length; k++) slopeLabels[k].y = Math.max(slopeLabels[k].y, slopeLabels[k - 1].y + 14);
      slopeLabels.forEach(function (l) {
        sv("text", { x: Math.min(l.x + 4, right - 2), y: Math.min(Math.max(l.y, top + 12), bottom - 4), "text-anchor": l.x > right - 80 ? "end" : "start",
          fill: l.color, class: "slope", "data-series": l.name }, svg, l.text);
      });
      figure.setAttribute("data-marks", String(marks));
      note.textContent = skipped > 0 ? skipped + " value" + (skipped === 1 ? "" : "s") + " at or below zero not drawn on a log axis (listed in the table)." : "";
    }

    function drawBars() {
      var cats = spec.categories;
      var longest = Math.max.apply(null, cats.map(function (c) { return c.length; }));
      var rotate = cats.length > 6 || longest > 12;
      var labelRoom = rotate ? Math.min(170, 12 + longest * 5.6) : 24;
      var height = (spec.height || 420) + (rotate ? labelRoom - 24 : 0);
      svg.setAttribute("viewBox", "0 0 760 " + height);
      var left = 84, right = 740, top = 16, bottom = height - 32 - labelRoom;
      var visible = spec.series.filter(function (s) { return !state.hidden[s.name]; });
      var tops = [];
      cats.forEach(function (c, i) {
        if (spec.stacked) {
          var sum = 0;
          visible.forEach(function (s) { sum += Math.max(0, s.values[i] || 0); });
          tops.push(sum);
        } else {
          visible.forEach(function (s) { tops.push(s.values[i] || 0); });
        }
        (spec.refs || []).forEach(function (r) { if (r.values && r.values[i] !== null) tops.push(r.values[i]); });
      });
      var y = linearScale(0, Math.max.apply(null, tops.concat([0])), bottom, top, spec.y.format === "bytes");
      spec.xLabelOffset = labelRoom + 20;
      axes(null, y, left, right, top, bottom, axisLabel(spec.x), axisLabel(spec.y));
      var band = (right - left) / cats.length;
      var inner = band * 0.72;
      var marks = 0;
      cats.forEach(function (c, i) {
        var cx = left + band * (i + 0.5);
        if (rotate) {
          sv("text", { x: cx, y: bottom + 12, "text-anchor": "end", transform: "rotate(-40 " + cx + " " + (bottom + 12) + ")", class: "tick" }, svg, c);
        } else {
          sv("text", { x: cx, y: bottom + 16, "text-anchor": "middle", class: "tick" }, svg, c);
        }
        var base = 0;
        visible.forEach(function (s, j) {
          var v = s.values[i];
          if (v === null || v === undefined) return;
          var x0, w, y0, y1;
          if (spec.stacked) {
            x0 = cx - inner / 2; w = inner; y0 = y.map(base); y1 = y.map(base + Math.max(0, v)); base += Math.max(0, v);
          } else {
            w = inner / visible.length; x0 = cx - inner / 2 + j * w; y0 = y.map(0); y1 = y.map(v);
          }
          var node = sv("rect", {
            x: x0, y: Math.min(y0, y1), width: Math.max(0.5, w - (spec.stacked ? 0 : 1)), height: Math.abs(y0 - y1),
            fill: styles[s.name].color, class: "mark", "data-series": s.name, "data-x": c, "data-y": String(v)
          }, svg);
          hover(node, [s.name, c, axisLabel(spec.y) + ": " + format(spec.y.format, v)]);
          marks += 1;
        });
        (spec.refs || []).forEach(function (r) {
          if (!r.values || r.values[i] === null || r.values[i] === undefined) return;
          var py = y.map(r.values[i]);
          var line = sv("line", { x1: cx - band / 2 + 2, x2: cx + band / 2 - 2, y1: py, y2: py, stroke: r.color || "#000000", "stroke-width": 2.5,
            "stroke-dasharray": r.dash || "", class: "reference", "data-reference": r.name, "data-x": c, "data-y": String(r.values[i]) }, svg);
          hover(line, [r.legend || r.name, c, axisLabel(spec.y) + ": " + format(spec.y.format, r.values[i])]);
        });
      });
      figure.setAttribute("data-marks", String(marks));
    }

    draw();
    table(figure, spec);
    return figure;
  }

  // The table a chart was drawn from: by default one row per point (series, x, y and the
  // point's details), or for bars one row per category with a column per series.
  function table(figure, spec) {
    var t = spec.table || defaultTable(spec);
    // Short tables open; a long one (a timeline, a validation file) folded, one click away.
    var details = el("details", { class: "table", open: t.rows.length <= 12 ? "" : null }, figure);
    el("summary", null, details, "Table (" + t.rows.length + " row" + (t.rows.length === 1 ? "" : "s") + "): " + spec.title);
    var wrap = el("div", { class: "scroll" }, details);
    var tableNode = el("table", { class: "data", "data-chart": spec.id }, wrap);
    var head = el("tr", null, el("thead", null, tableNode));
    t.columns.forEach(function (c) { el("th", { scope: "col", "data-column": c }, head, c); });
    var body = el("tbody", null, tableNode);
    t.rows.forEach(function (row) {
      var tr = el("tr", { "data-series": row.series }, body);
      row.cells.forEach(function (cell) {
        var raw = cell.value === null || cell.value === undefined ? "" : String(cell.value);
        el("td", { "data-value": raw, class: typeof cell.value === "number" ? "number" : "" }, tr, cell.text !== undefined ? cell.text : raw);
      });
    });
  }

  function defaultTable(spec) {
    var xTitle = spec.x.title + (spec.x.unit ? " (" + spec.x.unit + ")" : "");
    var yTitle = spec.y.title + (spec.y.unit ? " (" + spec.y.unit + ")" : "");
    if (spec.type === "bars") {
      var columns = [xTitle].concat(spec.series.map(function (s) { return s.name + " (" + spec.y.unit + ")"; }));
      (spec.refs || []).forEach(function (r) { if (r.values) columns.push((r.legend || r.name) + " (" + spec.y.unit + ")"); });
      var rows = spec.categories.map(function (c, i) {
        var cells = [{ value: c }];
        spec.series.forEach(function (s) { cells.push({ value: s.values[i], text: exact(s.values[i]) }); });
        (spec.refs || []).forEach(function (r) { if (r.values) cells.push({ value: r.values[i], text: exact(r.values[i]) }); });
        return { series: c, cells: cells };
      });
      return { columns: columns, rows: rows };
    }
    var infoKeys = [];
    spec.series.forEach(function (s) {
      s.points.forEach(function (p) { (p.info || []).forEach(function (kv) { if (infoKeys.indexOf(kv[0]) < 0) infoKeys.push(kv[0]); }); });
    });
    var cols = ["series", xTitle, yTitle].concat(infoKeys);
    if (spec.fit) cols.push("log-log slope of the series");
    var out = [];
    spec.series.forEach(function (s) {
      var fit = spec.fit ? logLogFit(s.points) : null;
      s.points.forEach(function (p) {
        var cells = [{ value: s.name }, { value: p.x, text: spec.x.format === "tokens" ? tokens(p.x) : exact(p.x) }, { value: p.y, text: exact(p.y) }];
        infoKeys.forEach(function (k) {
          var found = (p.info || []).filter(function (kv) { return kv[0] === k; })[0];
          cells.push({ value: found ? found[1] : null, text: found ? String(found[1]) : "-" });
        });
        if (spec.fit) cells.push({ value: fit ? fit.slope : null, text: fit ? fit.slope.toFixed(3) : "-" });
        out.push({ series: s.name, cells: cells });
      });
    });
    return { columns: cols, rows: out };
  }

  // ---------------------------------------------------------------------------------
  // Helpers for the report builders

  function unique(values) {
    var out = [];
    values.forEach(function (v) { if (out.indexOf(v) < 0) out.push(v); });
    return out;
  }

  function section(parent, title, text) {
    var node = el("section", { class: "report-section" }, parent);
    el("h2", null, node, title);
    if (text) el("p", { class: "lead" }, node, text);
    return node;
  }

  function sourceNote(parent, dataset) {
    var p = el("p", { class: "source" }, parent, "Data: ");
    el("code", null, p, dataset.command);
  }

  // Series of (x, y) points from records grouped by a key.
  function groupSeries(records, key, x, y, info) {
    return unique(records.map(key)).map(function (name) {
      var rows = records.filter(function (r) { return key(r) === name; });
      return { name: name, points: rows.map(function (r) { return { x: x(r), y: y(r), info: info ? info(r) : [] }; }) };
    });
  }

  // ---------------------------------------------------------------------------------
  // run: bytes per memory level, FLOPs and predicted time against context length

  function runReport(root, data) {
    var records = data.records.value;
    var s = section(root, "Bytes, FLOPs and predicted time against context length",
      "Counted exactly by the replay, per algorithm; each memory level on log-log axes, where an IO law O(N^k) is a line of slope k. " +
      "The slope written next to each series is fitted on this run's points (least squares on log y against log x). " +
      "The predicted time is the cost model's for the same counts on the run's hardware profile, with the framework's call overhead.");
    sourceNote(s, data.records);
    var label = function (r) { return r.algorithm; };
    var info = function (r) {
      return [["q_len", r.q_len], ["batch x heads x head_dim", r.batch + " x " + r.heads + " x " + r.head_dim], ["dtype", r.dtype]];
    };
    var levels = [
      ["hbm-bytes", "HBM traffic (read + write)", "HBM bytes", function (r) { return r.hbm_read_bytes + r.hbm_write_bytes; }],
      ["sram-bytes", "Shared-memory (SRAM) traffic (read + write)", "SRAM bytes", function (r) { return r.sram_read_bytes + r.sram_write_bytes; }],
      ["register-bytes", "Register traffic (SRAM to registers + registers to SRAM)", "register bytes", function (r) { return r.sram_to_reg_bytes + r.reg_to_sram_bytes; }]
    ];
    levels.forEach(function (level) {
      chart(s, {
        id: level[0], type: "xy", title: level[1] + " against context length", fit: true,
        x: { title: "context length", unit: "tokens", scale: "log", base: 2, toggle: true, format: "tokens" },
        y: { title: level[2], unit: "bytes", scale: "log", toggle: true, format: "si" },
        series: groupSeries(records, label, function (r) { return r.context; }, level[3], info)
      });
    });
    chart(s, {
      id: "flops", type: "xy", title: "FLOPs (matmul + other) against context length", fit: true,
      x: { title: "context length", unit: "tokens", scale: "log", base: 2, toggle: true, format: "tokens" },
      y: { title: "FLOPs", unit: "floating-point operations", scale: "log", toggle: true, format: "si" },
      series: groupSeries(records, label, function (r) { return r.context; }, function (r) { return r.flops_matmul + r.flops_other; }, info)
    });
    chart(s, {
      id: "time", type: "xy", title: "Predicted time against context length (" + (records[0] || {}).hardware + ")", fit: true,
      x: { title: "context length", unit: "tokens", scale: "log", base: 2, toggle: true, format: "tokens" },
      y: { title: "predicted time", unit: "us", scale: "log", toggle: true, format: "si" },
      series: groupSeries(records, label, function (r) { return r.context; }, function (r) { return r.time_us; },
        function (r) { return info(r).concat([["bound", r.bound]]); })
    });
  }

  // ---------------------------------------------------------------------------------
  // roofline: every kernel as a point under the roofs, and predicted time

  var BOUND_MARKERS = { memory: "circle", latency: "square", l2: "triangle", compute: "diamond", overhead: "cross" };

  function rooflineReport(root, data) {
    var records = data.roofline.value;
    var kernels = records.filter(function (r) { return r.kernel !== "total"; });
    var totals = records.filter(function (r) { return r.kernel === "total"; });
    var first = records[0] || {};
    // One roof per matmul ceiling the kernels were timed against: a kernel whose tensor
    // cores multiply FP8 (mma(async, fp8e4m3)) runs under the FP8 peak.
    var roofs = [];
    (kernels.length ? kernels : [first]).forEach(function (r) {
      if (!roofs.some(function (q) { return q.peak === r.peak_flops_per_s; })) roofs.push({ peak: r.peak_flops_per_s, ridge: r.ridge_point });
    });
    var ridgeText = roofs.map(function (q) { return format("fixed1", q.ridge); }).join(" and ");
    var s = section(root, "Roofline",
      "Each kernel of each run is a point: arithmetic intensity (FLOPs per DRAM byte after the L2 model) against the FLOP rate it reaches in its " +
      "predicted time. The roof is the sustained matmul peak and the DRAM bandwidth of the profile; their meeting point is the ridge (" +
      ridgeText + " FLOPs/byte" + (roofs.length > 1 ? ": each kernel under the peak of the dtype its tensor cores multiply" : "") +
      "). Marker shape gives the bound (see the legend); hover a point for its kernel and predicted time.");
    sourceNote(s, data.roofline);
    var achieved = function (r) { return r.achieved_flops_per_s; };
    var series = unique(kernels.map(function (r) { return r.algorithm; })).map(function (name) {
      return {
        name: name, line: false,
        points: kernels.filter(function (r) { return r.algorithm === name; }).map(function (r) {
          return {
            x: r.arithmetic_intensity, y: achieved(r), marker: BOUND_MARKERS[r.bound] || "circle",
            info: [["context", tokens(r.context)], ["kernel", r.kernel], ["bound", r.bound], ["predicted time (us)", r.time_us.toFixed(1)]]
          };
        })
      };
    });
    var ints = kernels.map(function (r) { return r.arithmetic_intensity; }).filter(function (v) { return v > 0; });
    var ridges = roofs.map(function (q) { return q.ridge; });
    var lo = Math.min.apply(null, ints.concat(ridges)) / 2, hi = Math.max.apply(null, ints.concat(ridges)) * 2;
    var bandwidth = first.dram_bytes_per_s;
    chart(s, {
      id: "roofline", type: "xy", title: "Roofline: every kernel with its bound and predicted time",
      x: { title: "arithmetic intensity", unit: "FLOPs per DRAM byte", scale: "log", toggle: true, format: "si" },
      y: { title: "achieved FLOP rate", unit: "FLOP/s", scale: "log", toggle: true, format: "si", headroom: 3 },
      series: series,
      markers: Object.keys(BOUND_MARKERS).filter(function (b) { return kernels.some(function (r) { return r.bound === b; }); })
        .map(function (b) { return { marker: BOUND_MARKERS[b], label: b + "-bound" }; }),
      refs: roofs.map(function (q, i) {
        return { name: i === 0 ? "roof" : "roof-" + (i + 1), legend: roofs.length > 1 ? "roof at a peak of " + si(q.peak) + "FLOP/s" : "roof: min(peak, bandwidth x intensity)",
                 color: i === 0 ? "#000000" : "#7f7f7f", dash: i === 0 ? "" : "6 3", width: 2, extend: true,
                 points: [[lo, bandwidth * lo], [q.ridge, q.peak], [hi, q.peak]], label: "peak " + si(q.peak) + "FLOP/s" };
      })
    });
    chart(s, {
      id: "predicted-time", type: "xy", title: "Predicted time of the whole run against context length", fit: true,
      x: { title: "context length", unit: "tokens", scale: "log", base: 2, toggle: true, format: "tokens" },
      y: { title: "predicted time", unit: "us", scale: "log", toggle: true, format: "si" },
      series: groupSeries(totals, function (r) { return r.algorithm; }, function (r) { return r.context; }, function (r) { return r.time_us; },
        function (r) { return [["DRAM bytes", grouped(r.dram_read_bytes + r.dram_write_bytes)], ["intensity", r.arithmetic_intensity.toFixed(1)]]; })
    });
  }

  // ---------------------------------------------------------------------------------
  // model: a step's time by operator and by layer kind, latency, memory, parameters

  function modelReport(root, data) {
    var summary = data.summary.value;
    var steps = [];
    ["operators-prefill", "operators-decode"].forEach(function (name) { if (data[name]) steps = steps.concat(data[name].value); });
    var head = summary[0] || {};
    var s = section(root, "A model step", head.model + " on " + head.hardware + ", batch " + head.batch + ", " + head.dtype +
      (head.tp > 1 ? ", tensor parallel over " + head.tp + " GPUs" : "") + (head.cp > 1 ? ", ring attention over " + head.cp + " GPUs" : "") +
      "; " + grouped(head.parameters) + " parameters.");
    ["summary", "operators-prefill", "operators-decode", "parameters"].forEach(function (name) { if (data[name]) sourceNote(s, data[name]); });
    var ops = steps.filter(function (r) { return r.operator !== "total"; });
    var phases = unique(ops.map(function (r) { return r.phase; }));
    // Prefill and decode steps differ by orders of magnitude: each phase has its charts.
    phases.forEach(function (phase) {
      var rows = ops.filter(function (r) { return r.phase === phase; });
      var cats = unique(rows.map(function (r) { return tokens(r.context); }));
      function sum(filter) {
        var total = 0;
        rows.forEach(function (r) { if (filter(r)) total += r.total_us; });
        return total;
      }
      function stacked(id, title, key) {
        chart(s, {
          id: id + "-" + phase, type: "bars", stacked: true, title: title + ", " + phase, categories: cats,
          x: { title: "context length", unit: "tokens" }, y: { title: "time per " + phase + " step", unit: "us", format: "si" },
          series: unique(rows.map(key)).map(function (n) {
            return { name: n, values: cats.map(function (c) { return sum(function (r) { return tokens(r.context) === c && key(r) === n; }); }) };
          })
        });
      }
      stacked("step-by-category", "Time per step by kind of operator (stacked)", function (r) { return r.category; });
      stacked("step-by-layers", "Time per step by layer kind: the layers each operator runs in (stacked)", function (r) { return "layers " + r.layers; });
      var opKey = function (r) { return (r.layers === "model" ? "" : "[" + r.layers + "] ") + r.operator; };
      var names = unique(rows.map(opKey));
      chart(s, {
        id: "operators-" + phase, type: "bars", title: "Time per operator in one " + phase + " step (all its runs)", categories: names,
        x: { title: "operator [layers]", unit: "" }, y: { title: "time per " + phase + " step", unit: "us", format: "si" },
        series: cats.map(function (c) {
          return { name: "context " + c, values: names.map(function (n) { return sum(function (r) { return tokens(r.context) === c && opKey(r) === n; }); }) };
        })
      });
    });
    var latency = [{ name: "time to first token (prefill)", points: summary.map(function (r) { return { x: r.context, y: r.ttft_ms }; }) }];
    if (summary.some(function (r) { return r.tpot_ms !== null; })) {
      latency.push({ name: "time per output token (decode)", points: summary.filter(function (r) { return r.tpot_ms !== null; }).map(function (r) { return { x: r.context, y: r.tpot_ms }; }) });
    }
    chart(s, {
      id: "latency", type: "xy", title: "Time to first token and time per output token against context length", fit: true,
      x: { title: "context length", unit: "tokens", scale: "log", base: 2, toggle: true, format: "tokens" },
      y: { title: "predicted time", unit: "ms", scale: "log", toggle: true, format: "si" },
      series: latency
    });
    var memCats = summary.map(function (r) { return tokens(r.context); });
    chart(s, {
      id: "memory", type: "bars", stacked: true, title: "Memory against capacity per GPU (stacked)", categories: memCats,
      x: { title: "context length", unit: "tokens" }, y: { title: "memory", unit: "bytes", format: "bytes" },
      series: [
        { name: "weights", values: summary.map(function (r) { return r.weight_bytes; }) },
        { name: "KV cache", values: summary.map(function (r) { return r.kv_bytes; }) },
        { name: "activations", values: summary.map(function (r) { return r.activation_bytes; }) }
      ],
      refs: [{ name: "capacity", legend: "capacity (HBM)", color: "#000000", dash: "6 3", values: summary.map(function (r) { return r.capacity_bytes; }) }]
    });
    if (data.parameters) {
      var parts = data.parameters.value.filter(function (r) { return ["total", "active_per_token", "stated_in_file"].indexOf(r.component) < 0; });
      chart(s, {
        id: "parameters", type: "bars", title: "Parameters by component", categories: parts.map(function (r) { return r.component; }),
        x: { title: "component", unit: "" }, y: { title: "parameters", unit: "count", format: "si" },
        series: [{ name: "parameters", values: parts.map(function (r) { return r.parameters; }) }]
      });
    }
    if (data.speculative) speculativeSection(root, data.speculative);
  }

  // Speculative decoding against plain decoding (`model --speculative`): per context the
  // expected tokens per step, the drafter's and the verify step's time, TPOT, and with
  // --crossover the batch where speculation stops paying.
  function speculativeSection(root, dataset) {
    var rows = dataset.value;
    var head = rows[0] || {};
    var tree = head.width === 1 ? "a chain of " + head.drafts : "a tree of " + head.drafts + " (width " + head.width + ", depth " + head.depth + ")";
    // The drafter's own format (dtype=FMT), else the target's precision.
    var drafterFormat = head.draft_dtype ? head.draft_dtype : "the target's precision";
    var s = section(root, "Speculative decoding", head.drafter + " in " + drafterFormat + " drafts " + tree + " per step, acceptance " + head.acceptance.join("/") +
      " per depth: " + head.expected_tokens.toFixed(3) + " tokens expected per step (accepted drafts and the target's own); the drafter adds " +
      bytes(head.draft_weight_bytes) + " of weights per GPU. TPOT is the step's time over its expected tokens.");
    sourceNote(s, dataset);
    var cats = rows.map(function (r) { return tokens(r.context); });
    chart(s, {
      id: "speculative-step", type: "bars", stacked: true,
      title: "One speculative step: the drafter's passes and the verify step (stacked), against plain decoding of as many tokens",
      categories: cats, x: { title: "context length", unit: "tokens" }, y: { title: "time per step", unit: "ms", format: "si" },
      series: [
        { name: "draft passes", values: rows.map(function (r) { return r.draft_ms; }) },
        { name: "verify step", values: rows.map(function (r) { return r.verify_ms; }) }
      ],
      refs: [{ name: "plain", legend: "plain decoding: tokens per step x its TPOT", color: "#000000", dash: "6 3",
        values: rows.map(function (r) { return r.expected_tokens * r.plain_tpot_ms; }) }]
    });
    chart(s, {
      id: "speculative-tpot", type: "xy", title: "Time per output token, speculative and plain decoding, against context length",
      x: { title: "context length", unit: "tokens", scale: "log", base: 2, toggle: true, format: "tokens" },
      y: { title: "time per output token", unit: "ms", scale: "log", toggle: true, format: "si" },
      series: [
        { name: "speculative", points: rows.map(function (r) {
          return { x: r.context, y: r.tpot_ms, info: [["speedup", r.speedup.toFixed(2)], ["tokens/step", r.expected_tokens.toFixed(3)]] };
        }) },
        { name: "plain decoding", points: rows.map(function (r) { return { x: r.context, y: r.plain_tpot_ms }; }) }
      ]
    });
    if (rows.some(function (r) { return r.crossover_batch !== undefined; })) {
      chart(s, {
        id: "speculative-crossover", type: "bars", title: "The smallest batch where speculation no longer pays, and the largest batch that fits",
        categories: cats, x: { title: "context length", unit: "tokens" }, y: { title: "batch", unit: "sequences", format: "int" },
        series: [
          { name: "crossover batch (speedup <= 1)", values: rows.map(function (r) { return r.crossover_batch; }) },
          { name: "largest batch that fits", values: rows.map(function (r) { return r.max_batch; }) }
        ]
      });
      rows.forEach(function (r) {
        if (r.crossover_batch === null) {
          el("p", { class: "caption" }, s, tokens(r.context) + ": speculation still pays at the largest batch the search tried (it stops at the largest batch that fits, " +
            grouped(r.max_batch) + ", or at its cap): no crossover bar");
        }
      });
    }
  }

  // ---------------------------------------------------------------------------------
  // kv: cache per sequence, memory against the budget, sequences that fit

  function kvReport(root, data) {
    var records = data.kv.value;
    var first = records[0] || {};
    var s = section(root, "KV cache", first.model + " (" + first.attention + "), " + first.dtype + " cache on " + first.hardware +
      (first.tp > 1 ? ", tensor parallel over " + first.tp + " GPUs (figures per GPU)" : "") + "; cache: " + first.cache + ".");
    sourceNote(s, data.kv);
    var contexts = function (r) { return r.context; };
    var series = [{ name: "KV cache per sequence", points: records.map(function (r) { return { x: r.context, y: r.kv_bytes_per_sequence, info: [["batch", r.batch]] }; }) }];
    if (records.some(function (r) { return r.ssm_state_bytes_per_sequence > 0; })) {
      series.push({ name: "SSM state per sequence", points: records.map(function (r) { return { x: r.context, y: r.ssm_state_bytes_per_sequence }; }) });
    }
    chart(s, {
      id: "kv-per-sequence", type: "xy", title: "KV cache of one sequence against context length", fit: true,
      x: { title: "context length", unit: "tokens", scale: "log", base: 2, toggle: true, format: "tokens" },
      y: { title: "bytes per sequence", unit: "bytes", scale: "log", toggle: true, format: "bytes" },
      series: series
    });
    var cats = records.map(function (r) { return tokens(r.context) + " x " + r.batch; });
    chart(s, {
      id: "kv-memory", type: "bars", stacked: true, title: "Weights and the batch's KV cache against the usable memory (stacked)", categories: cats,
      x: { title: "context length x batch", unit: "tokens x sequences" }, y: { title: "memory", unit: "bytes", format: "bytes" },
      series: [
        { name: "weights", values: records.map(function (r) { return r.weight_bytes; }) },
        { name: "KV cache of the batch", values: records.map(function (r) { return r.kv_bytes_total; }) }
      ],
      refs: [{ name: "usable", legend: "usable memory (HBM x memory utilization)", color: "#000000", dash: "6 3", values: records.map(function (r) { return r.usable_bytes; }) }]
    });
    chart(s, {
      id: "max-sequences", type: "xy", title: "Sequences of that length that fit beside the weights",
      x: { title: "context length", unit: "tokens", scale: "log", base: 2, toggle: true, format: "tokens" },
      y: { title: "sequences", unit: "count", scale: "linear", toggle: true, format: "int" },
      series: [{ name: "max sequences", points: records.map(function (r) { return { x: contexts(r), y: r.max_sequences }; }) }]
    });
  }

  // ---------------------------------------------------------------------------------
  // paged: latency against request rate, KV memory and admitted requests over time

  function pagedReport(root, data) {
    var stats = data.paged.value;
    var first = stats[0] || {};
    var byRate = stats.every(function (r) { return r.rate !== null; });
    // A cluster's replicas each have the pool; its timeline adds theirs.
    var replicas = first.cluster ? first.cluster.replicas : 1;
    var poolText = replicas > 1 ? replicas + " replicas, each with a KV pool of " : "a KV pool of ";
    var s = section(root, "Serving", first.requests + " requests, " + poolText + grouped(first.pool_tokens) + " token slots; iteration time: " + first.timing + ".");
    sourceNote(s, data.paged);
    // Prefix caching, swapping and routing: one line per run that has them (as the table's notes).
    stats.forEach(function (r) {
      var at = r.policy + (r.rate !== null ? " @" + r.rate + "/s" : "") + ": ";
      if (r.prefix_cache) {
        el("p", { class: "caption" }, s, at + "prefix cache hit " + (r.prefix_cache.hit_fraction * 100).toFixed(1) + "% of " + grouped(r.prefix_cache.prompt_tokens) +
          " prompt tokens; " + grouped(r.prefix_cache.computed_tokens) + " computed, " + grouped(r.prefix_cache.evicted_blocks) + " cached blocks evicted");
      }
      if (r.swap) {
        el("p", { class: "caption" }, s, at + grouped(r.swap.swap_outs) + " swapped out to " + r.swap.tier + "; " + grouped(r.swap.moved_blocks) + " blocks (" +
          grouped(r.swap.moved_bytes) + " bytes) moved in " + r.swap.transfer_s.toFixed(3) + " s");
      }
      if (r.cluster) {
        el("p", { class: "caption" }, s, at + r.cluster.replicas + " replicas, " + r.cluster.router + " router; requests per replica " +
          r.cluster.requests_per_replica.map(grouped).join(", "));
      }
    });
    var policies = unique(stats.map(function (r) { return r.policy; }));
    var xAxis = byRate ? { title: "request rate", unit: "requests/s (Poisson arrivals)", scale: "log", toggle: true, format: "si" }
                       : { title: "completed requests per second", unit: "requests/s", scale: "log", toggle: true, format: "si" };
    var xOf = function (r) { return byRate ? r.rate : r.requests_per_s; };
    var statistics = [["mean", "mean"], ["p50", "p50"], ["p90", "p90"], ["p99", "p99"]];
    [["ttft", "Time to first token", "ttft"], ["tpot", "Time per output token", "tpot"], ["normalized_latency", "Normalized latency (end-to-end / output tokens)", "normalized-latency"]]
      .forEach(function (q) {
        var series = [];
        policies.forEach(function (policy, i) {
          statistics.forEach(function (st, j) {
            var field = q[0] + "_" + st[1] + "_s";
            var rows = stats.filter(function (r) { return r.policy === policy && typeof r[field] === "number"; });
            if (rows.length === 0) return;
            var base = seriesStyle(i);
            series.push({
              name: policy + " " + st[0], style: { color: base.color, dash: DASHES[j % DASHES.length], marker: MARKERS[j % MARKERS.length] },
              points: rows.map(function (r) { return { x: xOf(r), y: r[field], info: [["completed", r.completed + " of " + r.requests]] }; })
            });
          });
        });
        chart(s, {
          id: q[2], type: "xy", title: q[1] + " against request rate, per policy (mean, p50, p90, p99)",
          x: xAxis, y: { title: q[1].toLowerCase(), unit: "s", scale: "log", toggle: true, format: "si" }, series: series, groupsLabel: "statistic:",
          groups: statistics.map(function (st) {
            return { name: st[0], members: series.filter(function (x) { return x.name.slice(-st[0].length - 1) === " " + st[0]; }).map(function (x) { return x.name; }) };
          })
        });
      });
    var runKey = function (r) { return r.policy + (r.rate !== null ? " @" + r.rate + "/s" : ""); };
    if (stats.some(function (r) { return r.token_fraction !== null; })) {
      var cats = stats.map(runKey);
      chart(s, {
        id: "memory-breakdown", type: "bars", stacked: true, title: "Where KV memory goes, time-averaged (Kwon et al. 2023, Figure 2)", categories: cats,
        x: { title: "policy and rate", unit: "" }, y: { title: "share of KV memory", unit: "fraction", format: "percent" },
        series: [["token states", "token_fraction"], ["reserved", "reserved_fraction"], ["internal fragmentation", "internal_fragmentation_fraction"],
                 ["external fragmentation", "external_fragmentation_fraction"]].map(function (p) {
          return { name: p[0], values: stats.map(function (r) { return r[p[1]]; }) };
        })
      });
    }
    var rates = unique(stats.map(function (r) { return r.rate; }));
    rates.forEach(function (rate, k) {
      var rows = stats.filter(function (r) { return r.rate === rate; });
      var suffix = rate !== null ? " at " + rate + " requests/s" : "";
      var id = rates.length > 1 ? "-" + (k + 1) : "";
      chart(s, {
        id: "kv-over-time" + id, type: "xy", title: "KV memory in use over time" + suffix + " (sampled)",
        x: { title: "time", unit: "s", scale: "linear", format: "si" }, y: { title: "KV memory in use", unit: "token slots", scale: "linear", format: "int" },
        series: rows.map(function (r) {
          return { name: r.policy, points: r.timeline.map(function (p) { return { x: p.time_s, y: p.allocated_tokens, info: [["holding tokens", grouped(p.used_tokens)]] }; }) };
        }),
        refs: [{ name: "pool", legend: "pool: " + grouped(first.pool_tokens * replicas) + " token slots" + (replicas > 1 ? " (" + replicas + " replicas)" : ""),
                 color: "#000000", dash: "6 3", extend: true,
                 points: [[0, first.pool_tokens * replicas], [Math.max.apply(null, rows.map(function (r) { return r.seconds; }).concat([1e-9])), first.pool_tokens * replicas]] }]
      });
      var series = [];
      rows.forEach(function (r, i) {
        var base = seriesStyle(i);
        series.push({ name: r.policy + " admitted", style: base, points: r.timeline.map(function (p) { return { x: p.time_s, y: p.admitted }; }) });
        series.push({ name: r.policy + " running", style: { color: base.color, dash: "2 3", marker: "square" }, points: r.timeline.map(function (p) { return { x: p.time_s, y: p.running }; }) });
      });
      chart(s, {
        id: "admitted" + id, type: "xy", title: "Requests admitted (cumulative) and running over time" + suffix + " (sampled)",
        x: { title: "time", unit: "s", scale: "linear", format: "si" }, y: { title: "requests", unit: "count", scale: "linear", format: "int" },
        series: series
      });
    });
  }

  // ---------------------------------------------------------------------------------
  // validate: predicted against measured, coloured by family, with error bands

  function validateReport(root, data) {
    var rows = data.validation.value.rows.filter(function (r) { return r.error === null; });
    var summary = data.validation.value.summary;
    var s = section(root, "Predicted against measured",
      "One point per measured row, coloured by family. The diagonal is a perfect prediction; the shaded bands are the median and 90th-percentile " +
      "absolute error of all rows for that quantity (from the summary), so a point outside the outer band is among the worst tenth.");
    sourceNote(s, data.validation);
    var families = unique(rows.map(function (r) { return r.family; }));
    [["dram_read", "DRAM read", "bytes", "predicted_dram_read_bytes", "measured_dram_read_bytes", "si"],
     ["dram_write", "DRAM write", "bytes", "predicted_dram_write_bytes", "measured_dram_write_bytes", "si"],
     ["l2_read", "SM to L2 read", "bytes", "predicted_l2_read_bytes", "measured_l2_read_bytes", "si"],
     ["time", "time", "ms", "predicted_time_ms", "measured_time_ms", "si"]].forEach(function (q) {
      var points = rows.filter(function (r) { return r[q[3]] !== null; });
      if (points.length === 0) return;
      var all = summary.filter(function (e) { return e.family === "all" && e.quantity === q[0]; })[0];
      var xs = points.map(function (r) { return r[q[4]]; }).filter(function (v) { return v > 0; });
      var lo = Math.min.apply(null, xs.concat([Infinity])), hi = Math.max.apply(null, xs.concat([0]));
      var refs = [];
      if (all && xs.length > 0) {
        [[all.p90_abs_error_pct, "p90", 0.14], [all.median_abs_error_pct, "median", 0.22]].forEach(function (b) {
          var f = b[0] / 100;
          refs.push({ name: "band-" + b[1], kind: "band", legend: "within the " + b[1] + " absolute error (" + b[0].toFixed(1) + "%)", color: "#7f7f7f", opacity: b[2],
                      upper: [[lo, lo * (1 + f)], [hi, hi * (1 + f)]], lower: [[lo, lo * Math.max(1e-9, 1 - f)], [hi, hi * Math.max(1e-9, 1 - f)]] });
        });
      }
      if (xs.length > 0) refs.push({ name: "diagonal", legend: "predicted = measured", color: "#000000", dash: "4 3", points: [[lo, lo], [hi, hi]], extend: true });
      chart(s, {
        id: "validate-" + q[0].replace("_", "-"), type: "xy", title: q[1] + ": predicted against measured",
        x: { title: "measured " + q[1], unit: q[2], scale: "log", toggle: true, format: "si" },
        y: { title: "predicted " + q[1], unit: q[2], scale: "log", toggle: true, format: "si" },
        series: families.map(function (f) {
          return {
            name: f, line: false,
            points: points.filter(function (r) { return r.family === f; }).map(function (r) {
              var error = r[q[4]] !== 0 ? (r[q[3]] - r[q[4]]) / r[q[4]] * 100 : null;
              return { x: r[q[4]], y: r[q[3]], info: [["row", r.name], ["program", r.program], ["error", error === null ? "-" : (error >= 0 ? "+" : "") + error.toFixed(1) + "%"]] };
            })
          };
        }),
        refs: refs
      });
    });
    var quantities = unique(summary.map(function (e) { return e.quantity; }));
    var fams = unique(summary.map(function (e) { return e.family; }));
    chart(s, {
      id: "validate-summary", type: "bars", title: "Median absolute error per family and quantity", categories: fams,
      x: { title: "family", unit: "" }, y: { title: "median absolute error", unit: "%", format: "fixed1" },
      series: quantities.map(function (q) {
        return { name: q, values: fams.map(function (f) { var e = summary.filter(function (x) { return x.family === f && x.quantity === q; })[0]; return e ? e.median_abs_error_pct : null; }) };
      })
    });
  }

  // ---------------------------------------------------------------------------------
  // The page

  var BUILDERS = { run: runReport, roofline: rooflineReport, model: modelReport, kv: kvReport, paged: pagedReport, validate: validateReport };

  function fail(message) {
    var list = document.body.getAttribute("data-errors");
    document.body.setAttribute("data-errors", (list ? list + "\n" : "") + message);
    var main = document.getElementById("report");
    if (main) el("p", { class: "error", role: "alert" }, main, "This page could not draw its charts: " + message);
  }

  window.addEventListener("error", function (event) { fail(String(event.message)); });

  function main() {
    var data = {};
    Array.prototype.forEach.call(document.querySelectorAll("script.attnsim-data"), function (node) {
      data[node.getAttribute("data-dataset")] = { value: JSON.parse(node.textContent), command: node.getAttribute("data-command") };
    });
    var kind = document.body.getAttribute("data-report");
    var build = BUILDERS[kind];
    if (!build) throw new Error("unknown report kind '" + kind + "'");
    var root = document.getElementById("report");
    build(root, data);
    Array.prototype.forEach.call(document.querySelectorAll("button[data-axis]"), function (b) { b.classList.add("axis-button"); });
    document.body.setAttribute("data-charts", String(chartCount));
    document.body.setAttribute("data-status", "drawn");
  }

  main();
})();
