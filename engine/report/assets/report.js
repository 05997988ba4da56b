// The page of `hpo report` (data embedded in #hpo-data) and `hpo dashboard` (data polled from
// the JSON endpoints of engine/report/dashboard_server.cpp). Draws from the document that
// engine/report/report_data.h describes. Text from trials is only ever set as textContent.
(function () {
  "use strict";
  const config = JSON.parse(document.getElementById("hpo-config").textContent);
  const palette = ["#0969da", "#cf222e", "#1a7f37", "#8250df", "#bf8700", "#1b7c83",
                   "#d1242f", "#6639ba", "#953800", "#0550ae"];
  const plots = {};  // id -> {plot, signature}
  const state = { doc: null, renders: 0, sort: { key: "number", desc: true } };
  window.hpo = state;

  function el(tag, attrs, text) {
    const e = document.createElement(tag);
    if (attrs) for (const k in attrs) e.setAttribute(k, attrs[k]);
    if (text !== undefined && text !== null) e.textContent = String(text);
    return e;
  }
  function clear(node) { while (node.firstChild) node.removeChild(node.firstChild); }
  function fmt(v) {
    if (v === null || v === undefined) return "-";
    if (typeof v === "number") {
      if (Number.isInteger(v)) return String(v);
      const a = Math.abs(v);
      if (a !== 0 && (a < 1e-3 || a >= 1e6)) return v.toExponential(3).replace(/\.?0+e/, "e");
      return String(+v.toPrecision(6));
    }
    return String(v);
  }
  function seconds(s) {
    if (s === null || s === undefined) return "-";
    if (s < 60) return s.toFixed(s < 10 ? 2 : 1) + "s";
    if (s < 3600) return Math.floor(s / 60) + "m" + String(Math.round(s % 60)).padStart(2, "0") + "s";
    return Math.floor(s / 3600) + "h" + String(Math.round((s % 3600) / 60)).padStart(2, "0") + "m";
  }
  function note(id, text) { document.getElementById(id).textContent = text || ""; }
  function width(node) { return Math.max(280, Math.floor(node.getBoundingClientRect().width || 600)); }

  // A uPlot kept across renders: new data goes through setData while the series stay the same.
  function upsertPlot(id, container, opts, data) {
    const signature = JSON.stringify(opts.series.map(s => s.label || "")) + opts.width + "/" +
                      JSON.stringify(opts.scales || {});
    const existing = plots[id];
    if (existing && existing.signature === signature && existing.plot.root.isConnected) {
      existing.plot.setData(data);
      return existing.plot;
    }
    if (existing) existing.plot.destroy();
    const plot = new uPlot(opts, data, container);
    plots[id] = { plot, signature };
    return plot;
  }
  function dropPlot(id) {
    if (plots[id]) { plots[id].plot.destroy(); delete plots[id]; }
  }
  const pointsOnly = (color) => ({ stroke: color, fill: color + "99", paths: () => null,
                                   points: { show: true, size: 5, space: 0, fill: color + "99" } });

  function renderSummary(doc) {
    const s = doc.summary, box = document.getElementById("summary");
    clear(box);
    const dl = el("dl", { class: "summary" });
    const add = (k, v) => { dl.appendChild(el("dt", null, k)); dl.appendChild(el("dd", null, v)); };
    add("study", doc.study.name);
    add("objective", doc.pareto
      ? doc.pareto.objectives.map(o => o.direction + " " + o.metric).join(", ")
      : doc.study.direction + " " + doc.study.metric);
    add("sampler", doc.study.sampler);
    const c = s.counts;
    const done = c.COMPLETE + c.PRUNED;
    add("progress", doc.study.budget ? done + " / " + doc.study.budget + " (" +
        Math.min(100, Math.round(100 * done / doc.study.budget)) + "%)" : String(done));
    add("trials", c.total + " (" + ["COMPLETE", "PRUNED", "FAIL", "RUNNING", "WAITING"]
        .filter(k => c[k] > 0).map(k => c[k] + " " + k).join(", ") + ")");
    if (s.best) {
      add("best value", fmt(s.best.value) + " (trial #" + s.best.number + ")");
      add("best params", Object.keys(s.best.params).map(k => k + "=" + fmt(s.best.params[k])).join(", "));
    } else {
      add("best value", "no COMPLETE trial yet");
    }
    const at = Object.keys(s.best_at).filter(k => k !== "all" && s.best_at[k] !== null);
    if (at.length) add("best after N trials", at.map(k => k + ": " + fmt(s.best_at[k])).join(", "));
    add("wall time", seconds(s.wall_time_s));
    add("time per trial", seconds(s.mean_trial_s) + " mean, " + seconds(s.wall_per_trial_s) + " wall");
    box.appendChild(dl);
  }

  function renderHistory(doc) {
    const box = document.getElementById("history"), h = doc.history;
    if (!h.number.length) {
      dropPlot("history"); clear(box);
      note("history-note", doc.pareto ? "a study with several objectives has no single value: see the Pareto front"
                                      : "no COMPLETE trial yet");
      return;
    }
    note("history-note", h.number.length < h.total
      ? "showing " + h.number.length + " of " + h.total + " COMPLETE trials (lowest and highest of each run)" : "");
    const xs = Array.from(new Set(h.number.concat(h.best.number))).sort((a, b) => a - b);
    const index = new Map(xs.map((x, i) => [x, i]));
    const values = new Array(xs.length).fill(null), best = new Array(xs.length).fill(null);
    h.number.forEach((n, i) => { values[index.get(n)] = h.value[i]; });
    h.best.number.forEach((n, i) => { best[index.get(n)] = h.best.value[i]; });
    upsertPlot("history", box, {
      width: width(box), height: 280, legend: { show: true },
      scales: { x: { time: false } },
      axes: [{ label: "trial" }, { label: doc.study.metric }],
      series: [{ label: "trial" },
               Object.assign({ label: doc.study.metric }, pointsOnly(palette[0])),
               { label: "best so far", stroke: palette[1], width: 2, spanGaps: true,
                 paths: uPlot.paths.stepped({ align: 1 }), points: { show: false } }],
    }, [xs, values, best]);
  }

  // A study with several objectives: its first two objectives for each COMPLETE trial, the
  // feasible Pareto front highlighted (and joined as a staircase), infeasible trials apart.
  function renderPareto(doc) {
    const card = document.getElementById("pareto-card"), box = document.getElementById("pareto");
    const p = doc.pareto;
    if (!p) { card.hidden = true; dropPlot("pareto"); clear(box); return; }
    card.hidden = false;
    if (!p.number.length) { dropPlot("pareto"); clear(box); note("pareto-note", "no COMPLETE trial yet"); return; }
    const ox = p.objectives[0], oy = p.objectives[1];
    note("pareto-note", p.front_size + " trial(s) on the front of " + p.total + " COMPLETE" +
      (p.objectives.length > 2 ? " (over all " + p.objectives.length + " objectives; the first two drawn)" : "") +
      ", hypervolume " + fmt(p.hypervolume) + " against [" + p.reference_point.map(fmt).join(", ") + "]" +
      (p.number.length < p.total ? "; showing " + p.number.length : ""));
    // uPlot wants one increasing x: points sorted by the first objective, one series each.
    const order = p.x.map((_, i) => i).sort((a, b) => p.x[a] - p.x[b] || p.y[a] - p.y[b]);
    const xs = [], front = [], feasible = [], infeasible = [];
    order.forEach(i => {
      xs.push(p.x[i]);
      front.push(p.front[i] ? p.y[i] : null);
      feasible.push(!p.front[i] && p.feasible[i] ? p.y[i] : null);
      infeasible.push(p.feasible[i] ? null : p.y[i]);
    });
    upsertPlot("pareto", box, {
      width: width(box), height: 320, legend: { show: true },
      scales: { x: { time: false } },
      axes: [{ label: ox.metric + " (" + ox.direction + ")" }, { label: oy.metric + " (" + oy.direction + ")" }],
      series: [{ label: ox.metric },
               Object.assign({ label: "Pareto front" }, pointsOnly(palette[1]),
                             { points: { show: true, size: 8, space: 0, fill: palette[1] } }),
               Object.assign({ label: "feasible" }, pointsOnly(palette[0])),
               Object.assign({ label: "infeasible" }, pointsOnly("#8c959f"))],
    }, [xs, front, feasible, infeasible]);
  }

  function renderImportance(doc) {
    const box = document.getElementById("importance"), imp = doc.importance;
    clear(box);
    const skipped = imp.skipped && imp.skipped.length ? " Not computed for " + imp.skipped.join(", ") +
      " (conditional or single-valued)." : "";
    note("importance-note", imp.params.length
      ? "fANOVA on a random forest (64 trees) over " + imp.trials_used + " COMPLETE trials." + skipped
      : (imp.note || "not enough trials") + "." + skipped);
    const max = Math.max(1e-12, ...imp.params.map(p => p.importance));
    imp.params.forEach(p => {
      const row = el("div", { class: "bar-row" });
      row.appendChild(el("span", { class: "name", title: p.name }, p.name));
      const track = el("div");
      const bar = el("div", { class: "bar" });
      bar.style.width = (100 * p.importance / max).toFixed(1) + "%";
      track.appendChild(bar);
      row.appendChild(track);
      row.appendChild(el("span", { class: "num" }, p.importance.toFixed(3)));
      box.appendChild(row);
    });
  }

  // Position of a parameter value on [0, 1] along its axis; null when absent.
  function axisPosition(param, v) {
    if (v === null || v === undefined) return null;
    if (param.type === "categorical") {
      const i = param.choices.findIndex(c => c === v);
      if (i < 0) return null;
      return param.choices.length === 1 ? 0.5 : i / (param.choices.length - 1);
    }
    let lo = param.low, hi = param.high, x = v;
    if (param.log && lo > 0 && x > 0) { lo = Math.log(lo); hi = Math.log(hi); x = Math.log(x); }
    return hi > lo ? (x - lo) / (hi - lo) : 0.5;
  }
  function colorFor(t) {  // t in [0, 1], 0 = best: blue to yellow
    const a = [33, 102, 172], b = [230, 171, 2];
    return "rgb(" + a.map((c, i) => Math.round(c + (b[i] - c) * t)).join(",") + ")";
  }

  function renderParallel(doc) {
    const box = document.getElementById("parallel"), s = doc.sample;
    if (!s.number.length) { clear(box); note("parallel-note", "no COMPLETE trial yet"); return; }
    note("parallel-note", (s.number.length < s.total ? "showing " + s.number.length + " of " + s.total +
      " COMPLETE trials (the best first, then evenly spread); " : "") +
      "color: " + doc.study.metric + ", best blue, worst yellow");
    let canvas = box.querySelector("canvas");
    if (!canvas) { canvas = el("canvas"); box.appendChild(canvas); }
    const w = width(box), h = 320, dpr = window.devicePixelRatio || 1;
    canvas.width = w * dpr; canvas.height = h * dpr;
    canvas.style.width = w + "px"; canvas.style.height = h + "px";
    const ctx = canvas.getContext("2d");
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.clearRect(0, 0, w, h);
    const vmin = Math.min(...s.value), vmax = Math.max(...s.value);
    const objective = { name: doc.study.metric, type: "float", low: vmin, high: vmax, log: false };
    const axes = doc.space.concat([objective]);
    const top = 34, bottom = h - 24, left = 50, right = w - 50;
    const xAt = i => axes.length === 1 ? (left + right) / 2 : left + (right - left) * i / (axes.length - 1);
    const yAt = p => bottom - (bottom - top) * p;
    const minimize = doc.study.direction === "minimize";
    const order = s.number.map((_, i) => i);
    const rank = i => vmax > vmin ? (minimize ? (s.value[i] - vmin) : (vmax - s.value[i])) / (vmax - vmin) : 0;
    order.sort((a, b) => rank(b) - rank(a));  // best drawn last, on top
    ctx.lineWidth = 1.2;
    for (const i of order) {
      ctx.strokeStyle = colorFor(rank(i));
      ctx.globalAlpha = 0.55;
      ctx.beginPath();
      let pen = false;
      axes.forEach((a, k) => {
        const v = k === axes.length - 1 ? s.value[i] : s.params[a.name][i];
        const p = axisPosition(a, v);
        if (p === null) { pen = false; return; }
        if (pen) ctx.lineTo(xAt(k), yAt(p)); else ctx.moveTo(xAt(k), yAt(p));
        pen = true;
      });
      ctx.stroke();
    }
    ctx.globalAlpha = 1;
    ctx.strokeStyle = "#57606a"; ctx.fillStyle = "#1f2328"; ctx.font = "12px system-ui, sans-serif";
    ctx.textAlign = "center";
    axes.forEach((a, k) => {
      const x = xAt(k);
      ctx.beginPath(); ctx.moveTo(x, top); ctx.lineTo(x, bottom); ctx.stroke();
      ctx.fillText(a.name, x, 14);
      ctx.fillStyle = "#656d76";
      const hiLabel = a.type === "categorical" ? fmt(a.choices[a.choices.length - 1]) : fmt(a.high);
      const loLabel = a.type === "categorical" ? fmt(a.choices[0]) : fmt(a.low);
      ctx.fillText(hiLabel, x, top - 5);
      ctx.fillText(loLabel, x, bottom + 14);
      ctx.fillStyle = "#1f2328";
    });
  }

  function renderSlices(doc) {
    const box = document.getElementById("slices"), s = doc.sample;
    if (!s.number.length) {
      Object.keys(plots).filter(k => k.startsWith("slice:")).forEach(dropPlot);
      clear(box); note("slice-note", "no COMPLETE trial yet"); return;
    }
    note("slice-note", "each COMPLETE trial's " + doc.study.metric + " against one parameter");
    const wanted = new Set(doc.space.map(p => "slice:" + p.name));
    Object.keys(plots).filter(k => k.startsWith("slice:") && !wanted.has(k)).forEach(dropPlot);
    doc.space.forEach((p, k) => {
      const id = "slice:" + p.name;
      let cell = box.querySelector('[data-param="' + CSS.escape(p.name) + '"]');
      if (!cell) {
        cell = el("div", { class: "slice", "data-param": p.name });
        cell.appendChild(el("h3", null, p.name + (p.log ? " (log)" : "") + (p.conditional ? " (conditional)" : "")));
        cell.appendChild(el("div", { class: "plot" }));
        box.appendChild(cell);
      }
      const target = cell.querySelector(".plot");
      const pairs = [];
      s.params[p.name].forEach((v, i) => {
        if (v === null) return;
        let x = v;
        if (p.type === "categorical") x = p.choices.findIndex(c => c === v);
        if (typeof x !== "number" || x < 0 || (p.log && x <= 0)) return;
        pairs.push([x, s.value[i]]);
      });
      pairs.sort((a, b) => a[0] - b[0]);
      const scales = { x: { time: false } };
      const xAxis = { label: p.name };
      if (p.type === "categorical") {
        scales.x.range = () => [-0.5, p.choices.length - 0.5];
        xAxis.splits = () => p.choices.map((_, i) => i);
        xAxis.values = (u, splits) => splits.map(i => fmt(p.choices[i]));
      } else {
        // The axis spans the parameter's range, so that slices of a sparse study still show
        // where in the space the trials fell.
        const pad = p.log ? 0 : (p.high - p.low) * 0.02;
        scales.x.range = () => [p.low - pad, p.high + pad];
        if (p.log) scales.x.distr = 3;
        xAxis.values = (u, splits) => splits.map(fmt);
      }
      upsertPlot(id, target, {
        width: Math.min(width(cell), 520), height: 200, legend: { show: false }, scales,
        axes: [xAxis, { label: doc.study.metric, size: 60 }],
        series: [{ label: p.name }, Object.assign({ label: doc.study.metric }, pointsOnly(palette[k % palette.length]))],
      }, [pairs.map(q => q[0]), pairs.map(q => q[1])]);
    });
  }

  function renderCurves(doc) {
    const box = document.getElementById("curves"), c = doc.curves;
    if (!c.trials.length) { dropPlot("curves"); clear(box); note("curves-note", "no trial reported intermediate values"); return; }
    note("curves-note", (c.trials.length < c.total ? "showing " + c.trials.length + " of " + c.total +
      " trials (the best, then the most recent); " : "") + doc.study.metric + " by step");
    const steps = Array.from(new Set([].concat(...c.trials.map(t => t.steps)))).sort((a, b) => a - b);
    const index = new Map(steps.map((x, i) => [x, i]));
    const data = [steps];
    const series = [{ label: "step" }];
    c.trials.forEach((t, k) => {
      const ys = new Array(steps.length).fill(null);
      t.steps.forEach((st, i) => { ys[index.get(st)] = t.values[i]; });
      data.push(ys);
      series.push({ label: "#" + t.number + " " + t.state, stroke: palette[k % palette.length],
                    width: t.state === "RUNNING" ? 2 : 1, spanGaps: true, points: { show: false } });
    });
    upsertPlot("curves", box, {
      width: width(box), height: 280, legend: { show: c.trials.length <= 12 },
      scales: { x: { time: false } }, axes: [{ label: "step" }, { label: doc.study.metric, size: 60 }], series,
    }, data);
  }

  function renderTable(doc, rows, total) {
    const table = document.getElementById("trials");
    clear(table);
    const cols = doc.trials.columns;
    const head = el("tr");
    cols.forEach(c => {
      const th = el("th", { "data-key": c.key }, c.label + (state.sort.key === c.key ? (state.sort.desc ? " ▼" : " ▲") : ""));
      th.addEventListener("click", () => {
        state.sort = { key: c.key, desc: state.sort.key === c.key ? !state.sort.desc : c.key === "number" };
        refreshTable();
      });
      head.appendChild(th);
    });
    const thead = el("thead"); thead.appendChild(head); table.appendChild(thead);
    const body = el("tbody");
    const bestNumber = doc.summary.best ? doc.summary.best.number : null;
    const stateCol = cols.findIndex(c => c.key === "state");
    rows.forEach(r => {
      const tr = el("tr", { class: (stateCol >= 0 ? r[stateCol] : "") + (r[0] === bestNumber ? " best" : "") });
      r.forEach((v, i) => {
        const key = cols[i].key;
        const text = key === "duration_s" ? seconds(v) : fmt(v);
        tr.appendChild(el("td", { class: key === "state" ? "state" : (key === "reason" ? "reason" : "") }, text));
      });
      body.appendChild(tr);
    });
    table.appendChild(body);
    note("trials-note", rows.length < total ? "showing " + rows.length + " of " + total +
      " trials (hpo trials or hpo export list them all)" : total + " trials");
  }

  function sortRows(doc) {
    const cols = doc.trials.columns, k = cols.findIndex(c => c.key === state.sort.key);
    const rows = doc.trials.rows.slice();
    const dir = state.sort.desc ? -1 : 1;
    rows.sort((a, b) => {
      const x = a[k], y = b[k];
      if (x === null && y === null) return 0;
      if (x === null) return 1;
      if (y === null) return -1;
      return (x < y ? -1 : x > y ? 1 : 0) * dir;
    });
    return rows;
  }

  function refreshTable() {
    const doc = state.doc;
    if (!doc) return;
    if (!config.live) { renderTable(doc, sortRows(doc), doc.trials.total); return; }
    const q = "api/studies/" + encodeURIComponent(doc.study.name) + "/trials?limit=200&sort=" +
              encodeURIComponent(state.sort.key) + "&order=" + (state.sort.desc ? "desc" : "asc");
    fetch(q).then(r => r.json()).then(page => {
      if (page.rows) renderTable(doc, page.rows, page.total);
    }).catch(e => status("table: " + e, true));
  }

  function status(text, error) {
    const s = document.getElementById("status");
    s.textContent = text;
    s.className = error ? "error" : "";
  }

  function render(doc) {
    state.doc = doc;
    document.getElementById("title").textContent = "hpo · " + doc.study.name;
    document.title = "hpo · " + doc.study.name;
    document.getElementById("generated").textContent = "data of " + doc.generated;
    renderSummary(doc);
    renderPareto(doc);
    renderHistory(doc);
    renderImportance(doc);
    renderParallel(doc);
    renderSlices(doc);
    renderCurves(doc);
    refreshTable();
    state.renders += 1;
    document.body.setAttribute("data-renders", String(state.renders));
    document.body.setAttribute("data-trials", String(doc.summary.counts.total));
  }

  // ---- live mode -------------------------------------------------------------------------------
  function currentStudy() { return new URLSearchParams(location.search).get("study"); }

  function renderNav(list, current) {
    const nav = document.getElementById("nav");
    clear(nav);
    list.studies.forEach(s => {
      const a = el("a", { href: "?study=" + encodeURIComponent(s.name), class: s.name === current ? "current" : "" },
                   s.name + " (" + s.trials + ")");
      nav.appendChild(a);
    });
  }

  function poll() {
    fetch("api/studies").then(r => r.json()).then(list => {
      let name = currentStudy();
      if (!name && list.studies.length) name = list.studies[list.studies.length - 1].name;
      renderNav(list, name);
      if (!name) { status("no studies in " + list.storage + " yet"); return null; }
      return fetch("api/studies/" + encodeURIComponent(name)).then(r => r.json()).then(doc => {
        if (doc.error) { status(doc.error, true); return; }
        if (doc.loading) { status("reading " + name + "…"); return; }
        render(doc);
        status("live · updated " + new Date().toLocaleTimeString());
      });
    }).catch(e => status("cannot reach hpo dashboard (" + e.message + "); retrying", true))
      .finally(() => setTimeout(poll, config.interval_ms || 2000));
  }

  window.addEventListener("error", e => status("page error: " + e.message, true));
  if (config.live) {
    poll();
  } else {
    render(JSON.parse(document.getElementById("hpo-data").textContent));
    status("report of " + state.doc.generated);
  }
  let resizeTimer = null;
  window.addEventListener("resize", () => {
    clearTimeout(resizeTimer);
    resizeTimer = setTimeout(() => { if (state.doc) render(state.doc); }, 200);
  });
})();
