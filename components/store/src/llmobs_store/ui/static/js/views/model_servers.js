// The model-server layer of the Models view: what the store scraped from each model server's
// /metrics (vLLM / SGLang names), per target and model, and its queue and KV cache over time.
import { api } from "../api.js";
import { timeChart, fillBuckets, PALETTE } from "../charts.js";
import { html, section, empty, bar, fmtInt, fmtMs, fmtPct, fmtAgo } from "../ui.js";

const fmtRate = (v) => (v === null || v === undefined ? "–" : v.toFixed(v < 10 ? 2 : 1));
const fmtCount = (v) => (v === null || v === undefined ? "–" : fmtInt(v));

export function modelServers(node, w, bucket) {
  return section(node, () => api.modelServers({ ...w, bucket_s: bucket }), (d) => {
    // GPU exporters share the endpoint; this section is about the serving engines.
    const items = (d.items || []).filter((m) => m.kind === "model-server")
      .sort((a, b) => a.target.localeCompare(b.target) || String(a.model).localeCompare(String(b.model)));
    if (!items.length) {
      node.innerHTML = String(empty("No model servers scraped in this time range",
        "Start the store with --scrape-targets FILE listing the model servers' /metrics (the operator writes it in a cluster)."));
      return;
    }
    const targets = [...new Set(items.map((m) => m.target))];
    // A target's own name from the targets file (the model server's label, else its pod).
    const names = new Map(items.map((m) => [m.target, (m.labels || {}).model_server || (m.labels || {})["k8s.pod.name"] || ""]));
    const nameOf = (t) => names.get(t) || "";
    node.innerHTML = String(html`
      <div class="card flush" data-testid="model-servers"><h2>Model servers <span class="sub">scraped from /metrics: ${fmtInt(targets.length)} target${targets.length === 1 ? "" : "s"}, latest values and rates over the range</span></h2>
        <table class="data"><thead><tr>
          <th>Target</th><th>Model</th><th class="num">Running</th><th class="num">Waiting</th><th>KV cache</th>
          <th class="num">TTFT p95</th><th class="num">Gen tok/s</th><th class="num">Prompt tok/s</th><th class="num">Last seen</th></tr></thead><tbody>
          ${items.map((m) => html`<tr data-testid="model-server-row">
            <td class="nowrap" data-testid="model-server-target">${nameOf(m.target) ? html`<b>${nameOf(m.target)}</b> ` : ""}<span class="mono muted">${m.target}</span></td>
            <td class="nowrap">${m.model ? html`<span class="chip model">${m.model}</span>` : html`<span class="muted">–</span>`}</td>
            <td class="num">${fmtCount(m.requests_running)}</td>
            <td class="num">${m.requests_waiting ? html`<span class="pill-warn">${fmtInt(m.requests_waiting)}</span>` : fmtCount(m.requests_waiting)}</td>
            <td class="nowrap">${m.kv_cache_usage === null || m.kv_cache_usage === undefined ? "–" : html`<div class="kvcell">${bar(m.kv_cache_usage, 1, m.kv_cache_usage > 0.9 ? "var(--err)" : "")}<span>${fmtPct(m.kv_cache_usage)}</span></div>`}</td>
            <td class="num">${fmtMs(m.ttft_p95_ms)}</td>
            <td class="num">${fmtRate(m.generation_tokens_per_s)}</td>
            <td class="num">${fmtRate(m.prompt_tokens_per_s)}</td>
            <td class="num" title="${new Date(m.last_seen_ms).toISOString()}">${fmtAgo(m.last_seen_ms)}</td></tr>`)}
        </tbody></table></div>
      <div class="grid g2 section">
        <div class="card"><h2>Requests running / waiting <span class="sub">per target; waiting dashed</span></h2><div class="chart" data-c="ms-queue"></div></div>
        <div class="card"><h2>KV-cache usage <span class="sub">per target</span></h2><div class="chart" data-c="ms-kv"></div></div>
      </div>`);
    const series = d.series || [];
    const times = [...new Set(series.map((r) => r.t))].sort((a, b) => a - b);
    const rows = fillBuckets(times.map((t) => {
      const row = { t };
      series.filter((r) => r.t === t).forEach((r) => {
        row[`run:${r.target}`] = r.requests_running;
        row[`wait:${r.target}`] = r.requests_waiting;
        row[`kv:${r.target}`] = r.kv_cache_usage;
      });
      return row;
    }), bucket, w.end, [], w.start);
    const colour = (i) => PALETTE[i % PALETTE.length];
    // Legend names: just ":port" when every target is on one host (as in the demo).
    const hosts = new Set(targets.map((t) => t.replace(/:\d+$/, "")));
    const short = (t) => nameOf(t) || (hosts.size === 1 && /:\d+$/.test(t) ? t.slice(t.lastIndexOf(":")) : t);
    const c = (n) => node.querySelector(`[data-c=${n}]`);
    timeChart(c("ms-queue"), rows, targets.flatMap((t, i) => [
      { name: `running ${short(t)}`, value: (r) => r[`run:${t}`] ?? null, colour: colour(i) },
      { name: `waiting ${short(t)}`, value: (r) => r[`wait:${t}`] ?? null, colour: colour(i), dash: true },
    ]), { format: (v) => (v === null || v === undefined ? "–" : (+v).toFixed(1)), symbols: true });
    timeChart(c("ms-kv"), rows, targets.map((t, i) => ({ name: short(t), value: (r) => r[`kv:${t}`] ?? null, colour: colour(i), area: true })),
      { format: fmtPct, symbols: true });
  });
}
