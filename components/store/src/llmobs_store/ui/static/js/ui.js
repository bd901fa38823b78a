// Small DOM helpers: escaped HTML templates, formatting, and the loading / empty / error states.

const ESC = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" };
export const esc = (v) => String(v ?? "").replace(/[&<>"']/g, (c) => ESC[c]);

// A value already made safe; `html` leaves it as it is.
class Raw { constructor(s) { this.s = s; } toString() { return this.s; } }
export const raw = (s) => new Raw(s);

// Tagged template: interpolations are escaped unless raw (or arrays of raw, joined).
export function html(strings, ...values) {
  let out = strings[0];
  values.forEach((v, i) => {
    if (v instanceof Raw) out += v.s;
    else if (Array.isArray(v)) out += v.map((x) => (x instanceof Raw ? x.s : esc(x))).join("");
    else if (v === null || v === undefined || v === false) out += "";
    else out += esc(v);
    out += strings[i + 1];
  });
  return raw(out);
}

export function el(tag, cls, inner) {
  const node = document.createElement(tag);
  if (cls) node.className = cls;
  if (inner !== undefined) node.innerHTML = String(inner);
  return node;
}

// --- formatting ---
const num = new Intl.NumberFormat("en-US");
export const fmtInt = (v) => (v === null || v === undefined ? "–" : num.format(Math.round(v)));
export function fmtCompact(v) {
  if (v === null || v === undefined) return "–";
  const a = Math.abs(v);
  if (a >= 1e9) return (v / 1e9).toFixed(1) + "B";
  if (a >= 1e6) return (v / 1e6).toFixed(1) + "M";
  if (a >= 1e4) return (v / 1e3).toFixed(1) + "k";
  return num.format(Math.round(v));
}
export function fmtMs(v) {
  if (v === null || v === undefined || Number.isNaN(v)) return "–";
  if (v >= 60000) return (v / 60000).toFixed(1) + " min";
  if (v >= 1000) return (v / 1000).toFixed(2) + " s";
  if (v >= 10) return Math.round(v) + " ms";
  return v.toFixed(1) + " ms";
}
export function fmtUsd(v) {
  if (v === null || v === undefined) return "–";
  if (v === 0) return "$0";
  if (Math.abs(v) < 0.01) return "$" + v.toFixed(5);
  if (Math.abs(v) < 1) return "$" + v.toFixed(4);
  return "$" + v.toFixed(2);
}
export function fmtPct(v) { return v === null || v === undefined ? "–" : (v * 100).toFixed(1) + "%"; }
export function fmtTime(ms) {
  if (!ms) return "–";
  const d = new Date(ms);
  return d.toLocaleTimeString("en-GB", { hour12: false }) + (Date.now() - ms > 86400000 ? " " + d.toLocaleDateString("en-GB") : "");
}
export function fmtAgo(ms) {
  if (!ms) return "–";
  const s = Math.max(0, (Date.now() - ms) / 1000);
  if (s < 60) return Math.round(s) + " s ago";
  if (s < 3600) return Math.round(s / 60) + " min ago";
  if (s < 86400) return Math.round(s / 3600) + " h ago";
  return Math.round(s / 86400) + " d ago";
}
export const shortId = (id) => (id ? String(id).slice(0, 12) : "–");

// --- span kinds ---
const KIND_COLOURS = {
  LLM: "var(--k-llm)", EMBEDDING: "var(--k-embedding)", RETRIEVER: "var(--k-retriever)",
  RERANKER: "var(--k-retriever)", TOOL: "var(--k-tool)", AGENT: "var(--k-agent)",
  CHAIN: "var(--k-chain)", WORKFLOW: "var(--k-chain)", GUARDRAIL: "var(--k-chain)",
  EVALUATOR: "var(--k-chain)", MCP: "var(--k-tool)", MEMORY: "var(--k-retriever)",
};
export const kindColour = (kind) => KIND_COLOURS[String(kind || "").toUpperCase()] || "var(--k-other)";
export const kindBadge = (kind) => html`<span class="badge" style="background:${raw(kindColour(kind))}">${(kind || "span").toString().toLowerCase()}</span>`;

export const statusCell = (s) => (isError(s) ? html`<span class="status-error">error</span>` : html`<span class="status-ok">ok</span>`);
export const isError = (s) => String(s || "").toLowerCase() === "error";

// --- states: what a person sees instead of a blank page ---
export const loading = (what = "Loading") => html`<div class="state" data-state="loading"><div class="spinner"></div>${what}…</div>`;
export const empty = (title, hint) => html`<div class="state" data-state="empty"><div class="big">∅</div><b>${title}</b><div>${hint || ""}</div></div>`;
export const failure = (err) => html`<div class="state error" data-state="error"><b>Could not load this view.</b><pre>${err && err.message ? err.message : String(err)}</pre><button class="btn" type="button" data-retry>Try again</button></div>`;

// Render one async section: loading first, then the result, or an error with a retry button.
export async function section(node, loader, render) {
  node.innerHTML = String(loading());
  try {
    const data = await loader();
    if (!node.isConnected) return;
    node.innerHTML = "";
    const out = render(data, node);
    if (out !== undefined && out !== null) node.innerHTML = String(out);
  } catch (err) {
    if (!node.isConnected) return;
    node.innerHTML = String(failure(err));
    const retry = node.querySelector("[data-retry]");
    if (retry) retry.addEventListener("click", () => section(node, loader, render));
    // Surface for developers without logging an error (tests treat console errors as failures).
    console.info("llmobs ui: section failed:", err && err.message);
  }
}

// Link builder for hash routes with a query string.
export function href(path, params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params || {})) if (v !== undefined && v !== null && v !== "") q.set(k, String(v));
  const s = q.toString();
  return "#" + path + (s ? "?" + s : "");
}

export function bar(value, max, colour) {
  const pct = max > 0 ? Math.max(1, Math.min(100, (value / max) * 100)) : 0;
  return html`<div class="bar"><span style="width:${pct.toFixed(1)}%;${raw(colour ? `background:${colour}` : "")}"></span></div>`;
}
