// Sessions: multi-turn conversations. The list ranks them; one session reads turn by turn with
// tokens, cost and latency per turn, and links each turn to its trace.
import { api } from "../api.js";
import { groupedBars } from "../charts.js";
import { html, raw, section, empty, fmtInt, fmtCompact, fmtMs, fmtUsd, fmtTime, fmtAgo, href, bar, statusCell, shortId } from "../ui.js";

const SORTS = { cost: ["cost_usd", "Cost"], recent: ["start_ms", "Most recent"], turns: ["turns", "Turns"], tokens: ["tokens", "Tokens"] };

export async function sessionList(root, params, ctx) {
  const q = params.query || {};
  const sort = SORTS[q.sort] ? q.sort : "recent";
  ctx.setCrumbs([{ label: "Sessions", href: "#/sessions" }, ...(q.user_id ? [{ label: "user " + q.user_id }] : [])]);
  const w = ctx.window();
  root.innerHTML = String(html`
    <div class="filters">
      <span class="muted">Sort by</span>
      ${Object.entries(SORTS).map(([k, [, label]]) => html`<a class="btn ${k === sort ? "primary" : ""}" href="${href("/sessions", { ...q, sort: k })}">${label}</a>`)}
      ${q.user_id ? html`<span class="chip">user ${q.user_id} <a href="${href("/sessions", { ...q, user_id: "" })}">✕</a></span>` : ""}
      <span class="count" id="count"></span>
    </div>
    <div class="card flush" id="list" data-testid="session-list"></div>`);
  root.querySelector("#list").addEventListener("click", (ev) => {
    const tr = ev.target.closest("tr[data-href]");
    if (tr && !ev.target.closest("a")) location.hash = tr.dataset.href;
  });
  return section(root.querySelector("#list"), () => api.sessions({ ...w, user_id: q.user_id, limit: 200 }), (d) => {
    root.querySelector("#count").textContent = `${fmtInt(d.total)} sessions`;
    const items = (d.items || []).map((s) => ({ ...s, tokens: (s.input_tokens || 0) + (s.output_tokens || 0) }));
    if (!items.length) return empty("No sessions in this time range", "A session groups the turns of one conversation (session.id baggage or x-llmobs-session-id).");
    const key = SORTS[sort][0];
    items.sort((a, b) => (b[key] || 0) - (a[key] || 0));
    const maxCost = Math.max(...items.map((s) => s.cost_usd || 0));
    return html`<table class="data"><thead><tr><th>Session</th><th>User</th><th>Started</th><th>Last turn</th>
      <th class="num">Turns</th><th class="num">Tokens in / out</th><th class="num">Cost</th><th class="num">Errors</th></tr></thead><tbody>
      ${items.map((s, i) => html`<tr class="rowlink ${sort === "cost" && i === 0 ? "worst" : ""}" data-href="#/sessions/${encodeURIComponent(s.session_id)}" data-testid="session-row">
        <td class="mono"><a href="#/sessions/${encodeURIComponent(s.session_id)}">${s.session_id}</a></td>
        <td>${s.user_id ? html`<a href="${href("/sessions", { user_id: s.user_id })}">${s.user_id}</a>` : "–"}</td>
        <td class="mono">${fmtTime(s.start_ms)}</td><td class="muted">${fmtAgo(s.end_ms)}</td>
        <td class="num">${fmtInt(s.turns)}</td><td class="num">${fmtCompact(s.input_tokens)} / ${fmtCompact(s.output_tokens)}</td>
        <td class="num"><div style="display:flex;gap:8px;align-items:center;justify-content:flex-end">${bar(s.cost_usd || 0, maxCost, "#059669")}${fmtUsd(s.cost_usd)}</div></td>
        <td class="num">${s.errors ? html`<span class="pill-err">${s.errors}</span>` : "0"}</td></tr>`)}
    </tbody></table>`;
  });
}

export async function sessionDetail(root, params, ctx) {
  ctx.setCrumbs([{ label: "Sessions", href: "#/sessions" }, { label: params.id }]);
  root.innerHTML = '<div id="body"></div>';
  const load = async () => {
    const d = await api.session(params.id);
    const starts = (d.turns || []).map((t) => t.start_ms);
    let looped = new Map();
    if (starts.length) {
      const l = await api.loops({ start: Math.min(...starts) - 60000, end: Date.now() + 60000 }).catch(() => ({ items: [] }));
      looped = new Map((l.items || []).map((x) => [x.trace_id, x]));
    }
    return { d, looped };
  };
  return section(root.querySelector("#body"), load, ({ d, looped }, node) => {
    const turns = d.turns || [];
    if (!turns.length) {
      node.innerHTML = String(empty("This session has no turns", "Turns appear once their traces reach the store."));
      return;
    }
    const tot = d.totals || {};
    const sum = (k) => tot[k] ?? turns.reduce((a, t) => a + (t[k] || 0), 0);
    node.innerHTML = String(html`
      <div class="kpis">
        <div class="kpi"><div class="label">User</div><div class="value" style="font-size:18px">${d.user_id || "–"}</div><div class="hint"><a href="${href("/traces", { session_id: d.session_id })}">this session's traces →</a></div></div>
        <div class="kpi"><div class="label">Turns</div><div class="value">${fmtInt(turns.length)}</div><div class="hint">${fmtTime(turns[0].start_ms)}</div></div>
        <div class="kpi"><div class="label">Tokens</div><div class="value">${fmtCompact(sum("input_tokens") + sum("output_tokens"))}</div><div class="hint">${fmtInt(sum("input_tokens"))} in / ${fmtInt(sum("output_tokens"))} out</div></div>
        <div class="kpi"><div class="label">Cost</div><div class="value">${fmtUsd(sum("cost_usd"))}</div><div class="hint">whole conversation</div></div>
        <div class="kpi"><div class="label">Errors</div><div class="value">${fmtInt(turns.filter((t) => String(t.status).toLowerCase() === "error").length)}</div><div class="hint">failed turns</div></div>
      </div>
      <div class="grid g2">
        <div class="card"><h2>Cost per turn</h2><div class="chart" data-c="cost"></div></div>
        <div class="card"><h2>Latency per turn <span class="sub">TTFT and total</span></h2><div class="chart" data-c="lat"></div></div>
      </div>
      <div class="card flush section" data-testid="conversation"><h2>Conversation</h2>
        ${turns.map((t, i) => html`<div class="turn" data-testid="turn">
          <div><div class="turn-n">Turn ${i + 1}
            ${looped.has(t.trace_id) ? html`<a class="pill-loop" href="#/traces/${encodeURIComponent(t.trace_id)}" title="the agent repeated ${looped.get(t.trace_id).tool_name} with the same arguments">↻ agent loop: ${looped.get(t.trace_id).tool_name} × ${looped.get(t.trace_id).repeats}</a>` : ""}</div>
            <div class="msgs"><div class="msg user"><span class="role">user</span>${lastUser(t.input) || raw('<span class="muted">prompt not captured</span>')}</div>
            <div class="msg assistant"><span class="role">assistant</span>${answer(t.output) || raw('<span class="muted">completion not captured</span>')}</div></div></div>
          <div class="meta">
            <span>model</span><b>${t.model ? html`<a href="${href("/traces", { model: t.model })}">${t.model}</a>` : "–"}</b>
            <span>tokens</span><b>${fmtInt(t.input_tokens)} / ${fmtInt(t.output_tokens)}</b>
            <span>cost</span><b>${fmtUsd(t.cost_usd)}</b>
            <span>TTFT</span><b>${fmtMs(t.ttft_ms)}</b>
            <span>latency</span><b>${fmtMs(t.duration_ms)}</b>
            <span>status</span><b>${statusCell(t.status)}</b>
            <span>trace</span><b><a class="mono" href="#/traces/${encodeURIComponent(t.trace_id)}">${shortId(t.trace_id)} →</a></b>
          </div></div>`)}
      </div>`);
    const labels = turns.map((_, i) => `#${i + 1}`);
    const open = (i) => { location.hash = `#/traces/${encodeURIComponent(turns[i].trace_id)}`; };
    groupedBars(node.querySelector("[data-c=cost]"), labels, [{ name: "cost", data: turns.map((t) => t.cost_usd || 0), colour: "#059669" }], { format: fmtUsd, onClick: open });
    groupedBars(node.querySelector("[data-c=lat]"), labels, [
      { name: "TTFT", data: turns.map((t) => t.ttft_ms || 0), colour: "#d97706" },
      { name: "total", data: turns.map((t) => t.duration_ms || 0), colour: "#4f46e5" },
    ], { format: fmtMs, onClick: open });
  });
}

// A turn's input may be the whole message list (JSON); the person wants the last user message.
function lastUser(text) {
  const msgs = parseMessages(text);
  if (!msgs) return text || "";
  const users = msgs.filter((m) => m.role === "user");
  return flat(users.length ? users[users.length - 1] : msgs[msgs.length - 1]);
}

function answer(text) {
  const msgs = parseMessages(text);
  if (!msgs) return text || "";
  return msgs.map(flat).filter(Boolean).join("\n");
}

function parseMessages(text) {
  if (!text || !/^\s*[[{]/.test(text)) return null;
  try {
    const v = JSON.parse(text);
    if (Array.isArray(v)) return v.filter((m) => m && typeof m === "object");
    if (v && Array.isArray(v.messages)) return v.messages;
    if (v && typeof v === "object" && "role" in v) return [v];
    if (v && typeof v === "object" && ("tool_calls" in v || "content" in v)) return [{ role: "assistant", ...v }];
  } catch { /* plain text */ }
  return null;
}

function flat(m) {
  if (!m) return "";
  if (typeof m.content === "string" && m.content) return m.content;
  if (Array.isArray(m.content)) return m.content.map((p) => p.text ?? "").join("");
  if (Array.isArray(m.parts)) return m.parts.map((p) => p.content ?? p.text ?? (p.type === "tool_call" ? `→ ${p.name}(…)` : "")).join("");
  if (Array.isArray(m.tool_calls)) {
    return m.tool_calls.map((tc) => { const f = tc.function || tc; return `→ tool call ${f.name}(${f.arguments ?? ""})`; }).join("\n");
  }
  return "";
}
