// Overview: the headline numbers, their trend, and the three questions a newcomer asks first —
// which model is slowest to first token, which session cost the most, what did a looping agent do.
import { api } from "../api.js";
import { timeChart, fillBuckets } from "../charts.js";
import { html, raw, section, empty, fmtInt, fmtCompact, fmtMs, fmtUsd, fmtPct, href, bar, shortId, fmtAgo } from "../ui.js";

export async function overview(root, params, ctx) {
  ctx.setCrumbs([{ label: "Overview" }]);
  const w = ctx.window();
  root.innerHTML = String(html`
    <div id="kpis" class="kpis" data-testid="kpis"></div>
    <div class="grid g3">
      <div class="card" data-testid="slowest-models"><h2>Slowest to first token <span class="sub">TTFT p95 per model</span></h2><div id="slow"></div></div>
      <div class="card" data-testid="costly-sessions"><h2>Most expensive sessions</h2><div id="costly"></div></div>
      <div class="card" data-testid="loops"><h2>Agent loops <span class="sub">same tool call repeated</span></h2><div id="loops"></div></div>
    </div>
    <div class="grid g2 section" id="charts">
      <div class="card"><h2>Requests and errors</h2><div id="c-req" class="chart"></div></div>
      <div class="card"><h2>Tokens <span class="sub">input and output</span></h2><div id="c-tok" class="chart"></div></div>
      <div class="card"><h2>Cost <span class="sub">USD per interval</span></h2><div id="c-cost" class="chart"></div></div>
      <div class="card"><h2>Latency <span class="sub">TTFT p95 and TPOT p95</span></h2><div id="c-lat" class="chart"></div></div>
    </div>
    <div class="card section" data-testid="recent-errors"><h2>Recent errors</h2><div id="errs"></div></div>`);
  const $ = (id) => root.querySelector("#" + id);
  const p = { ...w, bucket_s: ctx.bucket() };
  const overviewData = api.overview(p);

  return Promise.all([
    section($("kpis"), () => overviewData, (d) => kpis(d.totals || {})),
    section($("charts"), () => overviewData, (d, node) => charts(node, fillBuckets(d.series || [], p.bucket_s, p.end, ["requests", "errors", "input_tokens", "output_tokens", "cost_usd"], p.start))),
    section($("slow"), () => api.models(p), (d) => slowest(d.items || [])),
    section($("costly"), () => api.usage({ ...w, group_by: "session", limit: 6 }), (d) => costly(d.items || [])),
    section($("loops"), () => api.loops(w), (d) => loops(d.items || [])),
    section($("errs"), () => api.errors({ ...w, limit: 8 }), (d) => errors(d.items || [])),
  ]);
}

function kpis(t) {
  const req = t.requests || 0;
  const errRate = req ? (t.errors || 0) / req : 0;
  const k = (label, value, hint, cls = "") => html`<div class="kpi ${cls}"><div class="label">${label}</div><div class="value">${value}</div><div class="hint">${hint}</div></div>`;
  return html`
    ${k("Requests", fmtInt(req), "LLM calls in range")}
    ${k("Error rate", fmtPct(errRate), `${fmtInt(t.errors || 0)} failed`, errRate > 0.05 ? "bad" : "")}
    ${k("Input tokens", fmtCompact(t.input_tokens), "prompt")}
    ${k("Output tokens", fmtCompact(t.output_tokens), "completion")}
    ${k("Cost", fmtUsd(t.cost_usd), "input + output")}
    ${k("TTFT p95", fmtMs(t.ttft_p95_ms), "time to first token")}
    ${k("TPOT p95", fmtMs(t.tpot_p95_ms), "time per output token")}`;
}

function charts(node, series) {
  // The section helper replaced the chart grid with its output; put the chart cards back.
  node.innerHTML = String(html`
      <div class="card"><h2>Requests and errors</h2><div data-c="req" class="chart"></div></div>
      <div class="card"><h2>Tokens <span class="sub">input and output</span></h2><div data-c="tok" class="chart"></div></div>
      <div class="card"><h2>Cost <span class="sub">USD per interval</span></h2><div data-c="cost" class="chart"></div></div>
      <div class="card"><h2>Latency <span class="sub">TTFT p95 and TPOT p95</span></h2><div data-c="lat" class="chart"></div></div>`);
  const c = (n) => node.querySelector(`[data-c=${n}]`);
  if (!series.length) {
    node.querySelectorAll(".chart").forEach((n) => { n.innerHTML = String(empty("No requests in this time range", "Traffic appears here a few seconds after it is sent.")); n.style.height = "auto"; });
    return;
  }
  timeChart(c("req"), series, [
    { name: "requests", type: "bar", value: (r) => r.requests, colour: "#4f46e5" },
    { name: "errors", type: "bar", value: (r) => r.errors, colour: "#dc2626" },
  ]);
  timeChart(c("tok"), series, [
    { name: "input", value: (r) => r.input_tokens, stack: "t", area: true, colour: "#0891b2" },
    { name: "output", value: (r) => r.output_tokens, stack: "t", area: true, colour: "#4f46e5" },
  ], { format: fmtCompact });
  timeChart(c("cost"), series, [{ name: "cost", type: "bar", value: (r) => r.cost_usd, colour: "#059669" }], { format: fmtUsd });
  timeChart(c("lat"), series, [
    { name: "TTFT p95", value: (r) => r.ttft_p95_ms, colour: "#d97706" },
    { name: "TPOT p95", value: (r) => r.tpot_p95_ms, colour: "#db2777", yAxis: 1 },
  ], { format: fmtMs, yAxes: [{ format: fmtMs }, { format: fmtMs }] });
}

function slowest(items) {
  const llm = items.filter((m) => m.ttft_p95_ms !== null && m.ttft_p95_ms !== undefined);
  if (!llm.length) return empty("No streamed model calls yet", "TTFT needs streamed chat completions.");
  llm.sort((a, b) => b.ttft_p95_ms - a.ttft_p95_ms);
  const max = llm[0].ttft_p95_ms;
  return html`<ul class="list">${llm.slice(0, 5).map((m, i) => html`
    <li><div style="flex:1;min-width:0"><a href="${href("/traces", { model: m.model })}">${m.model}</a> ${i === 0 && llm.length > 1 ? raw('<span class="pill-err">slowest</span>') : ""}
      ${bar(m.ttft_p95_ms, max, i === 0 ? "#d97706" : undefined)}</div>
      <b class="mono">${fmtMs(m.ttft_p95_ms)}</b></li>`)}</ul>
    <div class="sub" style="margin-top:6px"><a href="#/models">Compare models →</a></div>`;
}

function costly(all) {
  const items = all.filter((s) => s.key).slice(0, 5); // calls outside any session have no key
  if (!items.length) return empty("No sessions yet", "Sessions come from session.id baggage or the x-llmobs-session-id header.");
  const max = Math.max(...items.map((s) => s.cost_usd || 0));
  return html`<ul class="list">${items.map((s) => html`
    <li><div style="flex:1;min-width:0"><a class="mono" href="#/sessions/${encodeURIComponent(s.key)}">${s.key}</a>
      <span class="sub">${fmtInt(s.requests)} calls · ${fmtCompact((s.input_tokens || 0) + (s.output_tokens || 0))} tokens</span>
      ${bar(s.cost_usd || 0, max, "#059669")}</div><b class="mono">${fmtUsd(s.cost_usd)}</b></li>`)}</ul>
    <div class="sub" style="margin-top:6px"><a href="${href("/usage", { group_by: "session" })}">All sessions by cost →</a></div>`;
}

function loops(items) {
  if (!items.length) return empty("No loops detected", "An agent repeating the same tool call 3+ times shows up here.");
  return html`<ul class="list">${items.slice(0, 6).map((l) => html`
    <li><div style="min-width:0"><span class="pill-loop">↻ ${l.repeats}×</span> <b>${l.tool_name}</b>
      <div class="sub mono" style="overflow:hidden;text-overflow:ellipsis;white-space:nowrap;max-width:260px" title="${l.arguments}">${l.arguments}</div></div>
      <div style="text-align:right"><a href="#/traces/${encodeURIComponent(l.trace_id)}">trace ${shortId(l.trace_id)}</a>
      <div class="sub">${fmtCompact(l.wasted_tokens)} tokens wasted</div></div></li>`)}</ul>`;
}

function errors(items) {
  if (!items.length) return empty("No errors in this time range");
  return html`<table class="data"><thead><tr><th>When</th><th>Span</th><th>Model</th><th>Error</th><th>Trace</th></tr></thead><tbody>
    ${items.map((e) => html`<tr>
      <td class="mono">${fmtAgo(e.start_ms)}</td><td>${e.name || e.span_name || ""}</td>
      <td>${e.model || e.request_model || ""}</td><td class="trunc status-error" title="${e.error || e.error_type || ""}">${e.error || e.error_type || e.status || "error"}</td>
      <td>${e.trace_id ? html`<a class="mono" href="#/traces/${encodeURIComponent(e.trace_id)}">${shortId(e.trace_id)}</a>` : ""}</td></tr>`)}
  </tbody></table>`;
}
