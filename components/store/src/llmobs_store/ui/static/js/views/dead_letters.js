// Dead letters: what ingest acknowledged but could not store (ClickHouse refused it, or the
// normaliser could not turn it into rows), newest first, from GET /api/v1/dead-letters.
// A record is hostile input by definition: it is only ever shown as text (escaped by `html`,
// or set as textContent when expanded), never parsed or injected as HTML.
import { get } from "../api.js";
import { html, section, empty, fmtInt, fmtTime, fmtAgo, href, shortId } from "../ui.js";

const PAGE = 50;
const PREVIEW_CHARS = 160;
const SIGNALS = ["traces", "logs", "metrics"];

export async function deadLetters(root, params, ctx) {
  ctx.setCrumbs([{ label: "Dead letters", href: "#/dead-letters" }]);
  const q = params.query || {};
  const limit = Math.min(1000, Math.max(1, Number(q.limit) || PAGE));
  const offset = Math.max(0, Number(q.offset) || 0);
  root.innerHTML = String(html`
    <div id="dl-totals" class="kpis" data-testid="dead-letter-totals"></div>
    <div id="dl-fallback"></div>
    <div class="card flush" data-testid="dead-letter-list"><h2>Not stored <span class="sub">newest first · all time, not only the selected range</span></h2><div id="dl-list"></div></div>`);
  return section(root.querySelector("#dl-list"), () => get("/dead-letters", { limit, offset }), (d, node) => {
    root.querySelector("#dl-totals").innerHTML = String(totals(d));
    root.querySelector("#dl-fallback").innerHTML = String(fallback(d.file_fallback || {}));
    node.innerHTML = String(table(d, q, limit, offset));
    // Expanding a record fills its box with the whole text, as text.
    const items = d.items || [];
    node.querySelectorAll("details[data-row]").forEach((box) => {
      box.addEventListener("toggle", () => {
        const pre = box.querySelector("pre");
        if (box.open && !pre.dataset.filled) {
          pre.textContent = items[Number(box.dataset.row)].record || "";
          pre.dataset.filled = "1";
        }
      });
    });
  });
}

function totals(d) {
  const t = d.totals || {};
  const k = (label, value, hint, cls = "") => html`<div class="kpi ${cls}" data-testid="dead-letter-total-${label}"><div class="label">${label}</div><div class="value">${value}</div><div class="hint">${hint}</div></div>`;
  return html`
    ${k("dead letters", fmtInt(d.total || 0), "rows in the dead_letters table", d.total ? "bad" : "")}
    ${SIGNALS.map((s) => k(s, fmtInt(t[s] || 0), s === "traces" ? "spans not stored" : s === "logs" ? "log records not stored" : "points not stored", t[s] ? "bad" : ""))}`;
}

function fallback(f) {
  if (!f.count) return "";
  return html`<div class="callout warn" data-testid="dead-letter-fallback"><b>${fmtInt(f.count)} dead letters are on disk only</b>:
    ClickHouse refused even the dead-letter table, so they were appended to <code>${f.path || ""}</code> on the store's machine.</div>`;
}

function table(d, q, limit, offset) {
  const items = d.items || [];
  if (!items.length) {
    return offset > 0
      ? empty("No dead letters on this page", html`<a href="${href("/dead-letters", { ...q, offset: "" })}">Back to the newest</a>`)
      : empty("No dead letters", "Everything the store acknowledged was stored.");
  }
  return html`<table class="data"><thead><tr>
      <th>When</th><th>Signal</th><th>Category</th><th>Reason</th><th>Table</th><th class="num">Items</th><th>Trace / span</th><th>Record</th></tr></thead><tbody>
    ${items.map((x, i) => html`<tr data-testid="dead-letter-row">
      <td class="mono nowrap" title="${fmtAgo(x.time_ms)}">${fmtTime(x.time_ms)}</td>
      <td>${x.signal}</td>
      <td class="nowrap"><span class="pill-err">${x.category}</span></td>
      <td class="trunc" title="${x.reason}">${x.reason}</td>
      <td class="mono">${x.table_name || "–"}</td>
      <td class="num">${fmtInt(x.items)}</td>
      <td class="nowrap">${x.trace_id ? html`<a class="mono" href="#/traces/${encodeURIComponent(x.trace_id)}" title="${x.trace_id}">${shortId(x.trace_id)}</a>${x.span_id ? html` <span class="sub mono" title="${x.span_id}">/ ${shortId(x.span_id)}</span>` : ""}` : html`<span class="muted">–</span>`}</td>
      <td class="record">${record(x.record || "", i)}</td>
    </tr>`)}</tbody></table>
    <div class="pager">
      ${offset > 0 ? html`<a class="btn" href="${href("/dead-letters", { ...q, offset: Math.max(0, offset - limit) || "" })}">← Newer</a>` : ""}
      <span data-testid="dead-letter-range">${fmtInt(offset + 1)}–${fmtInt(offset + items.length)} of ${fmtInt(d.total)}</span>
      ${offset + items.length < d.total ? html`<a class="btn" href="${href("/dead-letters", { ...q, offset: offset + limit })}">Older →</a>` : ""}
    </div>`;
}

function record(text, i) {
  if (text.length <= PREVIEW_CHARS) return html`<code class="dl-record" data-testid="dead-letter-record">${text}</code>`;
  return html`<details data-row="${i}"><summary><code class="dl-record" data-testid="dead-letter-record">${text.slice(0, PREVIEW_CHARS)}…</code>
    <span class="sub">(${fmtInt(text.length)} characters; show all)</span></summary><pre class="json dl-full" data-testid="dead-letter-full"></pre></details>`;
}
