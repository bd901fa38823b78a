// Thin wrappers over Apache ECharts (vendor/echarts.common.min.js): the charts this UI draws,
// with one look. Every chart made here is disposed when the view changes (see disposeAll).

const live = new Set();
export const PALETTE = ["#4f46e5", "#0891b2", "#d97706", "#db2777", "#059669", "#7c3aed", "#64748b", "#dc2626"];

window.addEventListener("resize", () => live.forEach((c) => c.resize()));

// Charts of a view that was swapped out (live refresh) go; the new view's charts stay.
export function disposeDetached() {
  live.forEach((c) => { if (!c.getDom().isConnected) { c.dispose(); live.delete(c); } });
}

export function disposeAll() {
  live.forEach((c) => c.dispose());
  live.clear();
}

function make(node, option) {
  if (!window.echarts) {
    node.textContent = "Charts unavailable: vendor/echarts.common.min.js did not load.";
    return null;
  }
  const chart = window.echarts.init(node, null, { renderer: "canvas" });
  chart.setOption({
    color: PALETTE,
    textStyle: { fontFamily: "system-ui, -apple-system, Segoe UI, Roboto, sans-serif" },
    animationDuration: 300,
    grid: { left: 56, right: 18, top: 34, bottom: 28, containLabel: false },
    tooltip: { trigger: "axis", confine: true },
    ...option,
    legend: { ...LEGEND, ...(option.legend || {}) },
  });
  live.add(chart);
  return chart;
}

const LEGEND = { top: 0, right: 0, icon: "roundRect", itemWidth: 10, itemHeight: 10, textStyle: { color: "#6b7189" } };
const axisStyle = { axisLine: { lineStyle: { color: "#d8dce8" } }, axisLabel: { color: "#6b7189" }, splitLine: { lineStyle: { color: "#eef0f6" } } };

function valueAxis(fmt, name) {
  return { type: "value", name, nameTextStyle: { color: "#6b7189", align: "left" }, ...axisStyle, axisLabel: { color: "#6b7189", formatter: fmt } };
}

// The store returns only buckets that had data; put the empty ones back (zero for counts, a gap
// for latencies) from the first bucket to the end of the window, so quiet minutes look quiet.
// At least MIN_BUCKETS are shown (within the window), so a young demo's first minute is not two
// giant bars with their labels on top of each other.
const MIN_BUCKETS = 24;
export function fillBuckets(rows, bucketS, endMs, zeroKeys, startMs = 0) {
  if (!rows.length) return rows;
  const step = bucketS * 1000;
  const byT = new Map(rows.map((r) => [r.t, r]));
  const earliest = Math.ceil(startMs / step) * step;
  const first = Math.max(earliest, Math.min(Math.min(...rows.map((r) => r.t)), Math.floor(endMs / step) * step - (MIN_BUCKETS - 1) * step));
  const last = Math.max(Math.max(...rows.map((r) => r.t)), Math.floor(endMs / step) * step);
  const out = [];
  for (let t = first; t <= last && out.length < 5000; t += step) {
    out.push(byT.get(t) || Object.fromEntries([["t", t], ...zeroKeys.map((k) => [k, 0])]));
  }
  return out;
}

// A time series: lines (or bars) of fields of `rows` keyed by row.t (unix ms).
export function timeChart(node, rows, series, opts = {}) {
  const fmt = opts.format || ((v) => v);
  return make(node, {
    xAxis: { type: "time", ...axisStyle, splitLine: { show: false } },
    yAxis: opts.yAxes ? opts.yAxes.map((a) => valueAxis(a.format, a.name)) : valueAxis(fmt, opts.unit),
    tooltip: { trigger: "axis", confine: true, valueFormatter: fmt },
    // Many series: one scrolling legend row rather than rows wrapping over the plot.
    ...(series.length > 3 ? { legend: { type: "scroll", left: 0 } } : {}),
    series: series.map((s, i) => ({
      name: s.name,
      type: s.type || "line",
      stack: s.stack,
      yAxisIndex: s.yAxis || 0,
      // Gauges scraped every few seconds: a lone point between gaps must still show.
      showSymbol: !!opts.symbols,
      symbolSize: 4,
      smooth: s.type === "bar" ? undefined : 0.2,
      areaStyle: s.area ? { opacity: 0.18 } : undefined,
      barMaxWidth: 14,
      itemStyle: s.colour ? { color: s.colour } : undefined,
      lineStyle: { ...(s.colour ? { color: s.colour } : {}), width: 2, type: s.dash ? "dashed" : "solid" },
      connectNulls: false,
      data: rows.map((r) => [r.t, s.value(r)]),
      z: i,
    })),
  });
}

// Grouped bars: one group per category, one bar per series.
export function groupedBars(node, categories, series, opts = {}) {
  const fmt = opts.format || ((v) => v);
  const horizontal = !!opts.horizontal;
  const cat = { type: "category", data: categories, ...axisStyle, axisLabel: { color: "#39405c", interval: 0, width: 150, overflow: "truncate" } };
  const val = { ...valueAxis(opts.axisFormat || fmt, opts.unit), splitNumber: horizontal ? 3 : 5 };
  const chart = make(node, {
    grid: horizontal ? { left: 160, right: 24, top: 30, bottom: 24 } : { left: 60, right: 18, top: 34, bottom: 40 },
    xAxis: horizontal ? val : cat,
    yAxis: horizontal ? { ...cat, inverse: true } : val,
    tooltip: { trigger: "axis", axisPointer: { type: "shadow" }, confine: true, valueFormatter: fmt },
    series: series.map((s) => ({
      name: s.name, type: "bar", stack: s.stack, data: s.data, barMaxWidth: 22,
      itemStyle: { color: s.colour, borderRadius: s.stack ? 0 : 3 },
      label: s.label ? { show: true, position: horizontal ? "right" : "top", formatter: (p) => fmt(p.value), color: "#39405c", fontSize: 11 } : undefined,
    })),
  });
  if (chart && opts.onClick) chart.on("click", (p) => opts.onClick(p.dataIndex, p));
  return chart;
}
