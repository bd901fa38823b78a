// One trace as a waterfall with LLM semantics: span kinds, models, tokens, TTFT markers, the merged
// prompt and completion, tool calls, errors; and, when an agent looped, what it repeated.
import { api } from "../api.js";
import { html, raw, section, empty, fmtInt, fmtMs, fmtUsd, fmtTime, kindBadge, kindColour, isError, shortId, href } from "../ui.js";

export async function traceDetail(root, params, ctx) {
  ctx.setCrumbs([{ label: "Traces", href: "#/traces" }, { label: shortId(params.id) }]);
  root.innerHTML = '<div id="body"></div>';
  return section(root.querySelector("#body"), async () => {
    const t = await api.trace(params.id);
    const spans = t.spans || [];
    let loops = [];
    if (spans.length) {
      const t0 = Math.min(...spans.map((s) => s.start_ms));
      const t1 = Math.max(...spans.map((s) => s.end_ms || s.start_ms));
      const l = await api.loops({ start: t0 - 60000, end: t1 + 60000 }).catch(() => ({ items: [] }));
      loops = (l.items || []).filter((x) => x.trace_id === params.id);
    }
    return { t, spans, loops };
  }, ({ t, spans, loops }, node) => render(node, t, spans, loops, params.query || {}));
}

const isLlm = (s) => (s.kind || "").toUpperCase() === "LLM";

function tree(spans) {
  const ids = new Set(spans.map((s) => s.span_id));
  const kids = new Map();
  const roots = [];
  for (const s of spans) {
    if (s.parent_span_id && ids.has(s.parent_span_id)) {
      if (!kids.has(s.parent_span_id)) kids.set(s.parent_span_id, []);
      kids.get(s.parent_span_id).push(s);
    } else roots.push(s);
  }
  const byStart = (a, b) => a.start_ms - b.start_ms || (a.end_ms || 0) - (b.end_ms || 0);
  const out = [];
  const walk = (s, depth) => {
    out.push({ s, depth });
    (kids.get(s.span_id) || []).sort(byStart).forEach((c) => walk(c, depth + 1));
  };
  roots.sort(byStart).forEach((r) => walk(r, 0));
  return out;
}

function render(node, t, spans, loops, q) {
  if (!spans.length) {
    node.innerHTML = String(empty("This trace has no spans (yet)", "Spans can arrive a few seconds after the call ends; refresh in a moment."));
    return;
  }
  const rows = tree(spans);
  const t0 = Math.min(...spans.map((s) => s.start_ms));
  const t1 = Math.max(...spans.map((s) => s.end_ms || s.start_ms));
  const total = Math.max(1, t1 - t0);
  const llm = spans.filter((s) => (s.kind || "").toUpperCase() === "LLM");
  // One model call is seen by several layers (framework, SDK, gateway): the store counts it once
  // (the trace-tree rule, docs/ARCHITECTURE.md), so the trace's tokens and cost are those of its
  // counted spans, the same figures as the trace list and every aggregate.
  const counted = spans.filter((s) => s.counted);
  const sum = (k) => counted.reduce((a, s) => a + (s[k] || 0), 0);
  const cost = counted.reduce((a, s) => a + (s.cost_usd || 0), 0);
  const session = spans.find((s) => s.session_id)?.session_id;
  const user = spans.find((s) => s.user_id)?.user_id;
  const services = [...new Set(spans.map((s) => s.service).filter(Boolean))];
  const models = [...new Set(llm.map((s) => s.response_model || s.request_model).filter(Boolean))];
  const errs = spans.filter((s) => isError(s.status));
  const loopTools = new Set(loops.map((l) => l.tool_name));
  const root = rows[0].s;

  node.innerHTML = String(html`
    <div class="trace-head">
      <h2 style="margin:0;font-size:18px">${root.name}</h2>
      ${t.root_missing ? raw('<span class="chip" title="The root span of this trace is not in the store (a caller exporting elsewhere); the earliest span stands in for it.">root not received</span>') : ""}
      <span class="tid">${t.trace_id}</span>
      <span>${fmtTime(t0)}</span>
      <span><b>${fmtMs(total)}</b> total</span>
      <span>${fmtInt(spans.length)} spans</span>
      <span>${fmtInt(sum("input_tokens"))} in / ${fmtInt(sum("output_tokens"))} out tokens</span>
      <span><b>${fmtUsd(cost)}</b></span>
      ${models.map((m) => html`<a class="chip model" href="${href("/traces", { model: m })}">${m}</a>`)}
      ${services.map((s) => html`<span class="chip">${s}</span>`)}
      ${session ? html`<a href="#/sessions/${encodeURIComponent(session)}">session ${session} →</a>` : ""}
      ${user ? html`<span class="sub">user ${user}</span>` : ""}
      ${errs.length ? html`<span class="pill-err">${errs.length} error${errs.length > 1 ? "s" : ""}</span>` : ""}
    </div>
    ${loops.map((l) => html`<div class="callout loop" data-testid="loop-callout"><b>↻ Agent loop:</b> the agent called
      <b>${l.tool_name}</b> ${l.repeats} times with the same arguments <code>${l.arguments}</code>;
      the ${l.repeats - 1} repeats after the first wasted <b>${fmtInt(l.wasted_tokens)} tokens</b>. The repeated tool spans are outlined below.</div>`)}
    <div class="card flush">
      <div class="wf" data-testid="waterfall">
        <div class="wf-axis"><span>Span</span><div class="ticks"><span>0</span><span>${fmtMs(total / 4)}</span><span>${fmtMs(total / 2)}</span><span>${fmtMs((3 * total) / 4)}</span><span>${fmtMs(total)}</span></div><span style="text-align:right">Duration</span></div>
        ${rows.map(({ s, depth }) => {
          const left = ((s.start_ms - t0) / total) * 100;
          const width = Math.max(0.3, (((s.end_ms || s.start_ms) - s.start_ms) / total) * 100);
          const model = s.response_model || s.request_model;
          const looped = s.tool_name && loopTools.has(s.tool_name);
          return html`<div class="wf-row ${isError(s.status) ? "err" : ""}" data-span="${s.span_id}" data-testid="span-row"
              style="${raw(looped ? "box-shadow: inset 3px 0 0 #db2777;" : "")}">
            <div class="wf-name" style="padding-left:${depth * 16}px">${kindBadge(s.kind || s.otel_kind)}
              <span title="${s.name}">${s.name}</span>
              ${model ? html`<span class="chip model">${model}</span>` : ""}
              ${s.layer ? html`<span class="sub">${s.layer}</span>` : ""}
              ${isError(s.status) ? raw('<span class="pill-err">error</span>') : ""}
              ${looped ? raw('<span class="pill-loop">↻</span>') : ""}
              ${failover(s)}</div>
            <div class="wf-track"><div class="wf-bar" style="left:${left.toFixed(2)}%;width:${width.toFixed(2)}%;background:${raw(isError(s.status) ? "var(--err)" : kindColour(s.kind))}"></div>
              ${s.ttft_ms ? html`<div class="wf-ttft" title="first token after ${fmtMs(s.ttft_ms)}" style="left:${(((s.start_ms - t0 + s.ttft_ms) / total) * 100).toFixed(2)}%"></div>` : ""}</div>
            <div class="wf-dur">${fmtMs(s.duration_ms ?? (s.end_ms - s.start_ms))}</div></div>`;
        })}
      </div>
    </div>
    <div class="card detail" id="detail" data-testid="span-detail"></div>`);

  const detail = node.querySelector("#detail");
  const select = (id) => {
    node.querySelectorAll(".wf-row").forEach((r) => r.classList.toggle("sel", r.dataset.span === id));
    const s = spans.find((x) => x.span_id === id);
    detail.innerHTML = String(spanDetail(s));
  };
  node.querySelector(".wf").addEventListener("click", (ev) => {
    const row = ev.target.closest(".wf-row");
    if (row) select(row.dataset.span);
  });
  // Open on what a person looks for first: a failed model call, else the streamed answer.
  const streamed = llm.filter((s) => s.ttft_ms);
  const first = (q.span && spans.find((s) => s.span_id === q.span)) || errs.find(isLlm)
    || streamed.find((s) => s.layer === "app") || streamed[0] || llm.find((s) => s.layer === "app") || llm[0] || root;
  select(first.span_id);
}

// The gateway tried more than one upstream: the first failed and it failed over.
function failover(s) {
  const attempts = Number((s.attributes || {})["llmobs.gateway.attempts"] || 1);
  if (attempts <= 1) return "";
  const upstream = (s.attributes || {})["llmobs.gateway.upstream"];
  return html`<span class="pill-warn" title="the gateway failed over: ${attempts} attempts">⇄ failover${upstream ? " → " + upstream : ""}</span>`;
}

function kv(label, value) {
  if (value === null || value === undefined || value === "" || (Array.isArray(value) && !value.length)) return "";
  return html`<div><span>${label}</span><b>${Array.isArray(value) ? value.join(", ") : value}</b></div>`;
}

function spanDetail(s) {
  const k8s = s.k8s || {};
  const attrs = s.attributes || {};
  const toolArgs = attrs["gen_ai.tool.call.arguments"];
  const toolResult = attrs["gen_ai.tool.call.result"];
  return html`
    <h2>${kindBadge(s.kind || s.otel_kind)} ${s.name} <span class="sub mono">${s.span_id}</span></h2>
    ${s.error || isError(s.status) ? html`<div class="callout warn"><b>Error:</b> ${s.error || "the span ended with status error"}</div>` : ""}
    <div class="kv">
      ${kv("Service", s.service)}${kv("Layer", s.layer)}${kv("Duration", fmtMs(s.duration_ms))}
      ${kv("Provider", s.provider)}${kv("Request model", s.request_model)}${kv("Response model", s.response_model)}
      ${kv("Input tokens", s.input_tokens ? fmtInt(s.input_tokens) : null)}${kv("Output tokens", s.output_tokens ? fmtInt(s.output_tokens) : null)}
      ${kv("Cached tokens", s.cached_tokens ? fmtInt(s.cached_tokens) : null)}${kv("Cache write tokens", s.cache_creation_tokens ? fmtInt(s.cache_creation_tokens) : null)}
      ${kv("Reasoning tokens", s.reasoning_tokens ? fmtInt(s.reasoning_tokens) : null)}
      ${kv("TTFT", s.ttft_ms ? fmtMs(s.ttft_ms) : null)}${kv("TPOT", s.tpot_ms ? fmtMs(s.tpot_ms) : null)}
      ${kv("Max gap between tokens", s.tbt_max_ms ? fmtMs(s.tbt_max_ms) : null)}${kv("Gap p95", s.tbt_p95_ms ? fmtMs(s.tbt_p95_ms) : null)}
      ${kv("Finish reasons", s.finish_reasons)}${kv("Cost", s.cost_usd ? fmtUsd(s.cost_usd) : null)}
      ${kv("Tool", s.tool_name)}${kv("MCP method", attrs["mcp.method.name"])}${kv("Session", s.session_id)}${kv("User", s.user_id)}
      ${kv("Upstream", attrs["llmobs.gateway.upstream"])}${kv("Gateway attempts", attrs["llmobs.gateway.attempts"])}
      ${kv("Namespace", k8s.namespace)}${kv("Pod", k8s.pod)}${kv("Node", k8s.node)}
    </div>
    ${toolArgs ? html`<h2>Tool call arguments</h2><pre class="json">${pretty(toolArgs)}</pre>` : ""}
    ${toolResult ? html`<h2>Tool result</h2><pre class="json">${pretty(toolResult)}</pre>` : ""}
    ${hasContent(s) ? html`<div class="grid g2">
      <div><h2>Prompt ${completeness(s.content?.input)}</h2><div class="contentbox" data-testid="prompt">${content(s.content?.input)}</div></div>
      <div><h2>Completion ${completeness(s.content?.output)}</h2><div class="contentbox" data-testid="completion">${content(s.content?.output)}</div></div>
    </div>` : ""}
    <details style="margin-top:12px"><summary class="sub">All attributes (${Object.keys(attrs).length})</summary><pre class="json">${JSON.stringify(attrs, null, 2)}</pre></details>`;
}

// Prompts and completions belong to model calls; other spans show them only when they have some.
function hasContent(s) {
  return ["LLM", "EMBEDDING"].includes(String(s.kind || "").toUpperCase()) || !!(s.content?.input || s.content?.output);
}

function completeness(c) {
  if (!c) return "";
  return c.complete === false ? raw('<span class="pill-err">incomplete</span>') : "";
}

function pretty(v) {
  if (typeof v !== "string") return JSON.stringify(v, null, 2);
  try { return JSON.stringify(JSON.parse(v), null, 2); } catch { return v; }
}

// Prompts and completions arrive as text or JSON; chat messages are shown as bubbles.
function content(c) {
  if (!c || !c.text) return raw('<div class="muted">Not captured (content capture is off unless enabled).</div>');
  let parsed = null;
  if (c.format === "json" || /^\s*[[{]/.test(c.text)) { try { parsed = JSON.parse(c.text); } catch { parsed = null; } }
  const msgs = Array.isArray(parsed) ? parsed : parsed && Array.isArray(parsed.messages) ? parsed.messages : null;
  if (msgs && msgs.every((m) => m && typeof m === "object" && "role" in m)) {
    return html`<div class="msgs">${msgs.map(message)}</div>`;
  }
  if (parsed && typeof parsed === "object" && "role" in parsed) return html`<div class="msgs">${message(parsed)}</div>`;
  if (parsed && typeof parsed === "object" && ("tool_calls" in parsed || "content" in parsed)) {
    return html`<div class="msgs">${message({ role: "assistant", ...parsed })}</div>`;
  }
  if (parsed !== null) return html`<pre class="json">${JSON.stringify(parsed, null, 2)}</pre>`;
  return html`<div class="msg assistant">${c.text}</div>`;
}

// Message shapes: OpenAI-style {role, content, tool_calls} (per-message events, OpenLLMetry's
// flattened prompts), OTel GenAI {role, parts[]} (gen_ai.input.messages, inference events) and
// OpenInference's rebuilt {role, content | contents[]}.
function message(m) {
  const parts = [];
  const show = (v) => (typeof v === "string" ? v : JSON.stringify(v));
  if (typeof m.content === "string") parts.push(m.content);
  else if (Array.isArray(m.content)) m.content.forEach((p) => parts.push(p.text ?? JSON.stringify(p)));
  if (Array.isArray(m.contents)) m.contents.forEach((p) => parts.push(p.text ?? JSON.stringify(p)));
  if (Array.isArray(m.parts)) {
    m.parts.forEach((p) => {
      if (["text", "reasoning", "refusal"].includes(p.type)) parts.push(p.content ?? p.text ?? "");
      else if (p.type === "tool_call") parts.push(`→ tool call ${p.name}(${show(p.arguments)})`);
      else if (p.type === "tool_call_response") parts.push(`← ${show(p.response ?? p.result)}`);
      else parts.push(JSON.stringify(p));
    });
  }
  (m.tool_calls || []).forEach((tc) => {
    const f = tc.function || tc;
    parts.push(`→ tool call ${f.name}(${typeof f.arguments === "string" ? f.arguments : JSON.stringify(f.arguments)})`);
  });
  const role = String(m.role || "message");
  return html`<div class="msg ${role}"><span class="role">${role}${m.name ? " · " + m.name : ""}${m.tool_call_id ? " · " + m.tool_call_id : ""}</span>${parts.join("\n")}</div>`;
}
