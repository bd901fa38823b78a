// Usage and cost by model, service, user, session or namespace: input and output priced apart.
import { api } from "../api.js";
import { groupedBars } from "../charts.js";
import { html, section, empty, fmtInt, fmtCompact, fmtUsd, href } from "../ui.js";

const usdAxis = (v) => (v === 0 ? "$0" : "$" + Number(v.toPrecision(2)));

const GROUPS = { model: "Model", service: "Service", user: "User", session: "Session", namespace: "Namespace" };

// Where a key of each grouping leads.
const LINKS = {
  model: (k) => href("/traces", { model: k }),
  service: (k) => href("/traces", { service: k }),
  user: (k) => href("/sessions", { user_id: k }),
  session: (k) => `#/sessions/${encodeURIComponent(k)}`,
  namespace: () => null,
};

export async function usage(root, params, ctx) {
  const q = params.query || {};
  const group = GROUPS[q.group_by] ? q.group_by : "model";
  ctx.setCrumbs([{ label: "Usage & cost" }, { label: "by " + GROUPS[group].toLowerCase() }]);
  const w = ctx.window();
  root.innerHTML = String(html`
    <div class="tabs" role="tablist">${Object.entries(GROUPS).map(([k, label]) => html`<a class="tab ${k === group ? "active" : ""}" role="tab" href="${href("/usage", { group_by: k })}" data-testid="usage-tab-${k}">${label}</a>`)}</div>
    <div id="body"></div>`);
  return section(root.querySelector("#body"), () => api.usage({ ...w, group_by: group, limit: 50 }), (d, node) => {
    const items = (d.items || []).slice().sort((a, b) => (b.cost_usd || 0) - (a.cost_usd || 0));
    if (!items.length) {
      node.innerHTML = String(empty(`No usage by ${GROUPS[group].toLowerCase()} in this time range`,
        group === "namespace" ? "Namespaces come from Kubernetes resource attributes; local processes have none." : "Usage appears once model calls are recorded."));
      return;
    }
    const link = LINKS[group];
    const total = items.reduce((a, i) => a + (i.cost_usd || 0), 0);
    const top = items.slice(0, 12);
    node.innerHTML = String(html`
      <div class="grid g2">
        <div class="card"><h2>Cost by ${GROUPS[group].toLowerCase()} <span class="sub">input and output priced separately</span></h2><div class="chart tall" data-c="cost"></div></div>
        <div class="card"><h2>Tokens by ${GROUPS[group].toLowerCase()}</h2><div class="chart tall" data-c="tok"></div></div>
      </div>
      <div class="card flush section" data-testid="usage-table"><table class="data"><thead><tr>
        <th>${GROUPS[group]}</th><th class="num">Requests</th><th class="num">Input tokens</th><th class="num">Output tokens</th>
        <th class="num">Input cost</th><th class="num">Output cost</th><th class="num">Cost</th><th class="num">Share</th></tr></thead><tbody>
        ${items.map((i) => {
          const to = i.key ? link(i.key) : null; // "(none)": calls without this dimension
          return html`<tr data-testid="usage-row"><td class="trunc">${to ? html`<a href="${to}">${i.key || "(none)"}</a>` : i.key || "(none)"}</td>
            <td class="num">${fmtInt(i.requests)}</td><td class="num">${fmtInt(i.input_tokens)}</td><td class="num">${fmtInt(i.output_tokens)}</td>
            <td class="num">${fmtUsd(i.input_cost_usd)}</td><td class="num">${fmtUsd(i.output_cost_usd)}</td><td class="num"><b>${fmtUsd(i.cost_usd)}</b></td>
            <td class="num">${total ? ((100 * (i.cost_usd || 0)) / total).toFixed(1) + "%" : "–"}</td></tr>`;
        })}
      </tbody></table></div>`);
    const keys = top.map((i) => i.key || "(none)");
    const open = (idx) => { const to = top[idx].key ? link(top[idx].key) : null; if (to) location.hash = to; };
    groupedBars(node.querySelector("[data-c=cost]"), keys, [
      { name: "input", data: top.map((i) => i.input_cost_usd || 0), stack: "c", colour: "#0891b2" },
      { name: "output", data: top.map((i) => i.output_cost_usd || 0), stack: "c", colour: "#4f46e5" },
    ], { format: fmtUsd, axisFormat: usdAxis, horizontal: true, onClick: open });
    groupedBars(node.querySelector("[data-c=tok]"), keys, [
      { name: "input", data: top.map((i) => i.input_tokens || 0), stack: "t", colour: "#0891b2" },
      { name: "output", data: top.map((i) => i.output_tokens || 0), stack: "t", colour: "#4f46e5" },
    ], { format: fmtCompact, horizontal: true, onClick: open });
  });
}
