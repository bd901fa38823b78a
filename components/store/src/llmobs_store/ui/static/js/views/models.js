// Models side by side: TTFT, TPOT, latency percentiles and throughput; the slowest to first token
// is called out, and each model links to its traces and to its slow requests.
import { api } from "../api.js";
import { groupedBars, timeChart, fillBuckets, PALETTE } from "../charts.js";
import { html, raw, section, empty, fmtInt, fmtMs, fmtPct, href } from "../ui.js";
import { modelServers } from "./model_servers.js";

export async function models(root, params, ctx) {
  ctx.setCrumbs([{ label: "Models" }]);
  const w = ctx.window();
  root.innerHTML = '<div id="body"></div><div id="model-servers" class="section"></div>';
  const bucket = ctx.bucket();
  // The model-server layer loads on its own: either part can be empty or fail alone.
  const servers = modelServers(root.querySelector("#model-servers"), w, bucket);
  const calls = section(root.querySelector("#body"), () => api.models({ ...w, bucket_s: bucket }), (d, node) => {
    const items = (d.items || []).slice().sort((a, b) => (b.ttft_p95_ms ?? -1) - (a.ttft_p95_ms ?? -1));
    if (!items.length) {
      node.innerHTML = String(empty("No model calls in this time range", "Model calls appear once an instrumented app or the gateway sends spans."));
      return;
    }
    const streamed = items.filter((m) => m.ttft_p95_ms !== null && m.ttft_p95_ms !== undefined).sort((a, b) => b.ttft_p95_ms - a.ttft_p95_ms);
    const slow = streamed[0];
    const fast = streamed[streamed.length - 1];
    const names = streamed.map((m) => m.model);
    node.innerHTML = String(html`
      ${slow ? html`<div class="callout warn" data-testid="slowest-callout"><b>${slow.model}</b> is the slowest to first token:
        TTFT p95 <b>${fmtMs(slow.ttft_p95_ms)}</b>${streamed.length > 1 ? html`, ${(slow.ttft_p95_ms / Math.max(1e-9, fast.ttft_p95_ms)).toFixed(1)}× <b>${fast.model}</b> (${fmtMs(fast.ttft_p95_ms)})` : ""}.
        <a href="${href("/traces", { model: slow.model, min_duration_ms: Math.round(slow.latency_p95_ms || 0) })}">See its slowest requests →</a></div>` : ""}
      <div class="card flush" data-testid="model-table"><table class="data"><thead><tr>
        <th>Model</th><th class="num">Requests</th><th class="num">Errors</th>
        <th class="num">TTFT p50</th><th class="num">TTFT p95</th><th class="num">TTFT p99</th>
        <th class="num">TPOT p50</th><th class="num">TPOT p95</th><th class="num">Gap p95</th>
        <th class="num">Latency p50</th><th class="num">Latency p95</th><th class="num">Output tok/s</th><th></th></tr></thead><tbody>
        ${items.map((m) => html`<tr class="${slow && m.model === slow.model && streamed.length > 1 ? "worst" : ""}" data-testid="model-row">
          <td class="nowrap"><a href="${href("/traces", { model: m.model })}"><b>${m.model}</b></a> <span class="sub">${m.provider || ""}</span></td>
          <td class="num">${fmtInt(m.requests)}</td>
          <td class="num">${m.errors ? html`<span class="pill-err">${fmtInt(m.errors)} (${fmtPct(m.errors / Math.max(1, m.requests))})</span>` : "0"}</td>
          <td class="num">${fmtMs(m.ttft_p50_ms)}</td><td class="num"><b>${fmtMs(m.ttft_p95_ms)}</b></td><td class="num">${fmtMs(m.ttft_p99_ms)}</td>
          <td class="num">${fmtMs(m.tpot_p50_ms)}</td><td class="num">${fmtMs(m.tpot_p95_ms)}</td><td class="num">${fmtMs(m.tbt_p95_ms)}</td>
          <td class="num">${fmtMs(m.latency_p50_ms)}</td><td class="num">${fmtMs(m.latency_p95_ms)}</td>
          <td class="num">${m.output_tokens_per_s ? m.output_tokens_per_s.toFixed(1) : "–"}</td>
          <td class="nowrap"><a href="${href("/traces", { model: m.model, min_duration_ms: Math.round(m.latency_p95_ms || 0) })}" title="this model's requests slower than its p95 latency">slowest →</a></td></tr>`)}
      </tbody></table></div>
      ${names.length ? html`<div class="grid g2 section">
        <div class="card"><h2>Time to first token <span class="sub">p50 / p95 / p99 — click a bar for its traces</span></h2><div class="chart" data-c="ttft"></div></div>
        <div class="card"><h2>Time per output token <span class="sub">p50 / p95 / p99</span></h2><div class="chart" data-c="tpot"></div></div>
        <div class="card"><h2>TTFT p95 over time</h2><div class="chart" data-c="trend"></div></div>
        <div class="card"><h2>Throughput <span class="sub">output tokens per second, per request</span></h2><div class="chart" data-c="tput"></div></div>
      </div>` : raw("")}`);
    if (!names.length) return;
    const c = (n) => node.querySelector(`[data-c=${n}]`);
    const pct = (field) => streamed.map((m) => m[field] ?? 0);
    const toTraces = (i) => { location.hash = href("/traces", { model: names[i] }); };
    groupedBars(c("ttft"), names, [
      { name: "p50", data: pct("ttft_p50_ms"), colour: "#fcd34d" },
      { name: "p95", data: pct("ttft_p95_ms"), colour: "#d97706" },
      { name: "p99", data: pct("ttft_p99_ms"), colour: "#9a3412" },
    ], { format: fmtMs, onClick: toTraces });
    groupedBars(c("tpot"), names, [
      { name: "p50", data: pct("tpot_p50_ms"), colour: "#c7d2fe" },
      { name: "p95", data: pct("tpot_p95_ms"), colour: "#6366f1" },
      { name: "p99", data: pct("tpot_p99_ms"), colour: "#312e81" },
    ], { format: fmtMs, onClick: toTraces });
    groupedBars(c("tput"), names, [{ name: "tokens/s", data: streamed.map((m) => m.output_tokens_per_s ?? 0), colour: "#059669", label: true }],
      { format: (v) => (v ?? 0).toFixed(1), onClick: toTraces });
    const series = d.series || [];
    const times = [...new Set(series.map((r) => r.t))].sort((a, b) => a - b);
    const rows = fillBuckets(times.map((t) => {
      const row = { t };
      series.filter((r) => r.t === t).forEach((r) => { row[r.model] = r.ttft_p95_ms; });
      return row;
    }), bucket, w.end, [], w.start);
    timeChart(c("trend"), rows, names.map((n, i) => ({ name: n, value: (r) => r[n] ?? null, colour: PALETTE[i % PALETTE.length] })), { format: fmtMs });
  });
  return Promise.all([calls, servers]);
}
