// Traces: a searchable, filterable list; filters live in the URL so other views can link here
// (e.g. a model's slow requests: #/traces?model=m&min_duration_ms=1200).
import { api } from "../api.js";
import { html, raw, section, empty, fmtInt, fmtCompact, fmtMs, fmtUsd, fmtTime, href, statusCell, shortId, bar } from "../ui.js";

const PAGE = 50;
const FILTERS = ["q", "service", "model", "kind", "status", "session_id", "user_id", "min_duration_ms"];

export async function traceList(root, params, ctx) {
  const q = params.query || {};
  ctx.setCrumbs([{ label: "Traces", href: "#/traces" }, ...(q.model ? [{ label: q.model }] : []), ...(q.session_id ? [{ label: "session " + q.session_id }] : [])]);
  const w = ctx.window();
  const offset = Number(q.offset || 0);
  root.innerHTML = String(html`
    <form class="filters" id="f" autocomplete="off" data-testid="trace-filters">
      <input type="search" name="q" placeholder="Search name, content, ids, errors…" value="${q.q || ""}" aria-label="Search traces">
      <select name="service" aria-label="Service"><option value="">All services</option></select>
      <select name="model" aria-label="Model"><option value="">All models</option></select>
      <select name="kind" aria-label="Span kind">${["", "LLM", "EMBEDDING", "RETRIEVER", "TOOL", "AGENT", "CHAIN"].map((k) => html`<option value="${k}" ${raw(k === (q.kind || "") ? "selected" : "")}>${k ? k.toLowerCase() : "All kinds"}</option>`)}</select>
      <select name="status" aria-label="Status">${["", "ok", "error"].map((k) => html`<option value="${k}" ${raw(k === (q.status || "") ? "selected" : "")}>${k || "Any status"}</option>`)}</select>
      <input type="number" name="min_duration_ms" min="0" step="50" placeholder="min ms" style="width:90px" value="${q.min_duration_ms || ""}" aria-label="Minimum duration (ms)">
      ${q.session_id ? html`<input type="hidden" name="session_id" value="${q.session_id}"><span class="chip">session ${q.session_id} <a href="${href("/traces", { ...q, session_id: "", offset: "" })}">✕</a></span>` : ""}
      ${q.user_id ? html`<input type="hidden" name="user_id" value="${q.user_id}"><span class="chip">user ${q.user_id} <a href="${href("/traces", { ...q, user_id: "", offset: "" })}">✕</a></span>` : ""}
      <button class="btn primary" type="submit">Search</button>
      <a class="btn" href="#/traces">Clear</a>
      <span class="count" id="count"></span>
    </form>
    <div class="card flush" id="list" data-testid="trace-list"></div>`);
  const form = root.querySelector("#f");
  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    const data = Object.fromEntries(new FormData(form));
    location.hash = href("/traces", data);
  });
  form.querySelectorAll("select").forEach((s) => s.addEventListener("change", () => form.requestSubmit()));

  // Fill the service and model pickers from what the store has seen in this window.
  const options = Promise.all([
    api.usage({ ...w, group_by: "service", limit: 50 }).catch(() => ({ items: [] })),
    api.usage({ ...w, group_by: "model", limit: 50 }).catch(() => ({ items: [] })),
  ]).then(([svc, mod]) => {
    fill(form.elements.service, svc.items.map((i) => i.key), q.service);
    fill(form.elements.model, mod.items.map((i) => i.key), q.model);
  });

  const filters = Object.fromEntries(FILTERS.map((k) => [k, q[k]]));
  const load = () => Promise.all([
    api.traces({ ...w, ...filters, limit: PAGE, offset }),
    api.loops(w).catch(() => ({ items: [] })),
  ]);
  const listing = section(root.querySelector("#list"), load, ([d, loops]) => {
    root.querySelector("#count").textContent = `${fmtInt(d.total)} traces`;
    return table(d, new Set((loops.items || []).map((l) => l.trace_id)), q, offset);
  });
  root.querySelector("#list").addEventListener("click", (ev) => {
    const tr = ev.target.closest("tr[data-href]");
    if (tr && !ev.target.closest("a")) location.hash = tr.dataset.href;
  });
  return Promise.all([options, listing]);
}

// Chat models first (what a person scans for), embedding models after, dimmer.
function models(list) {
  const all = list || [];
  const chat = all.filter((m) => !/embed/i.test(m));
  const other = all.filter((m) => /embed/i.test(m));
  return html`${chat.map((m) => html`<span class="chip model">${m}</span>`)}${other.map((m) => html`<span class="chip" title="${m}">${m.length > 14 ? m.slice(0, 13) + "…" : m}</span>`)}`;
}

function fill(select, values, chosen) {
  const all = new Set(values.filter(Boolean));
  if (chosen) all.add(chosen);
  for (const v of [...all].sort()) {
    const o = document.createElement("option");
    o.value = v; o.textContent = v; o.selected = v === chosen;
    select.appendChild(o);
  }
}

function table(d, loopIds, q, offset) {
  const items = d.items || [];
  if (!items.length) {
    const filtered = FILTERS.some((k) => q[k]);
    return empty(filtered ? "No traces match these filters" : "No traces in this time range",
      filtered ? "Widen the time range or clear a filter." : "Run `make demo`, or point an app's OTLP exporter at this store.");
  }
  const maxDur = Math.max(...items.map((t) => t.duration_ms || 0));
  return html`<table class="data"><thead><tr>
      <th>Started</th><th>Trace</th><th>Service</th><th>Models</th><th class="num">Duration</th><th class="num">TTFT</th>
      <th class="num">Spans</th><th class="num">Tokens in / out</th><th class="num">Cost</th><th>Status</th><th>Session</th></tr></thead><tbody>
    ${items.map((t) => html`<tr class="rowlink" data-href="#/traces/${encodeURIComponent(t.trace_id)}" data-testid="trace-row">
      <td class="mono">${fmtTime(t.start_ms)}</td>
      <td class="trunc"><a href="#/traces/${encodeURIComponent(t.trace_id)}">${t.name || shortId(t.trace_id)}</a>
        ${loopIds.has(t.trace_id) ? raw('<span class="pill-loop" title="an agent repeated the same tool call">↻ loop</span>') : ""}
        ${t.root_missing ? raw('<span class="chip" title="root span not in the store: listed from its earliest span">no root</span>') : ""}</td>
      <td class="nowrap">${t.service}</td>
      <td class="nowrap">${models(t.models)}</td>
      <td class="num"><div style="display:flex;gap:8px;align-items:center;justify-content:flex-end">${bar(t.duration_ms || 0, maxDur)}${fmtMs(t.duration_ms)}</div></td>
      <td class="num">${fmtMs(t.ttft_ms)}</td>
      <td class="num">${fmtInt(t.span_count)}</td>
      <td class="num">${fmtCompact(t.input_tokens)} / ${fmtCompact(t.output_tokens)}</td>
      <td class="num">${fmtUsd(t.cost_usd)}</td>
      <td>${statusCell(t.status)}</td>
      <td class="trunc narrow">${t.session_id ? html`<a class="mono" href="#/sessions/${encodeURIComponent(t.session_id)}">${t.session_id}</a>` : raw('<span class="muted">–</span>')}</td>
    </tr>`)}</tbody></table>
    <div class="pager">
      ${offset > 0 ? html`<a class="btn" href="${href("/traces", { ...q, offset: Math.max(0, offset - PAGE) })}">← Newer</a>` : ""}
      <span>${fmtInt(offset + 1)}–${fmtInt(offset + items.length)} of ${fmtInt(d.total)}</span>
      ${offset + items.length < d.total ? html`<a class="btn" href="${href("/traces", { ...q, offset: offset + PAGE })}">Older →</a>` : ""}
    </div>`;
}
