// The llmobs single-page app: hash routes (#/traces/<id>), one view at a time, live refresh.
import { hasToken, signOut } from "./auth.js";
import { disposeAll, disposeDetached } from "./charts.js";
import { html, esc } from "./ui.js";
import { overview } from "./views/overview.js";
import { traceList } from "./views/traces.js";
import { traceDetail } from "./views/trace.js";
import { sessionList, sessionDetail } from "./views/sessions.js";
import { models } from "./views/models.js";
import { usage } from "./views/usage.js";
import { deadLetters } from "./views/dead_letters.js";
import { get } from "./api.js";

const BUCKETS = [5, 10, 15, 30, 60, 120, 300, 600, 1800, 3600, 10800];
const LIVE_EVERY_MS = 15000;

const rangeSelect = document.getElementById("range");
const liveBox = document.getElementById("live");
const viewNode = document.getElementById("view");
const crumbs = document.getElementById("crumbs");

const saved = localStorage.getItem("llmobs.range");
if (saved && [...rangeSelect.options].some((o) => o.value === saved)) rangeSelect.value = saved;
else rangeSelect.value = "900";

// The time window every query uses; "now" moves on each render so live views follow the clock.
export const ctx = {
  rangeS: () => Number(rangeSelect.value),
  window() {
    const end = Date.now();
    return { start: end - this.rangeS() * 1000, end };
  },
  bucket() {
    const want = this.rangeS() / 90;
    return BUCKETS.find((b) => b >= want) || BUCKETS[BUCKETS.length - 1];
  },
  setCrumbs(parts) {
    crumbs.innerHTML = parts.map((p) => (p.href ? `<a href="${esc(p.href)}">${esc(p.label)}</a>` : esc(p.label))).join('<span class="sep">/</span>');
  },
};

const ROUTES = [
  [/^\/?$/, () => ["overview", overview, {}]],
  [/^\/overview$/, () => ["overview", overview, {}]],
  [/^\/traces$/, () => ["traces", traceList, {}]],
  [/^\/traces\/([^/]+)$/, (m) => ["traces", traceDetail, { id: decodeURIComponent(m[1]) }]],
  [/^\/sessions$/, () => ["sessions", sessionList, {}]],
  [/^\/sessions\/(.+)$/, (m) => ["sessions", sessionDetail, { id: decodeURIComponent(m[1]) }]],
  [/^\/models$/, () => ["models", models, {}]],
  [/^\/usage$/, () => ["usage", usage, {}]],
  [/^\/dead-letters$/, () => ["dead-letters", deadLetters, {}]],
];

function parseHash() {
  const h = location.hash.replace(/^#/, "") || "/overview";
  const [path, qs] = h.split("?");
  const query = Object.fromEntries(new URLSearchParams(qs || ""));
  for (const [re, make] of ROUTES) {
    const m = path.match(re);
    if (m) {
      const [name, view, params] = make(m);
      return { name, view, params: { ...params, query }, path };
    }
  }
  return { name: "", view: null, params: { query }, path };
}

let generation = 0;
let current = null;

// The nav's dead-letter count, refreshed with every render, so an operator notices on any view.
const deadLetterCount = document.getElementById("dead-letter-count");
async function countDeadLetters() {
  try {
    const d = await get("/dead-letters", { limit: 1 });
    const n = (d.total || 0) + ((d.file_fallback && d.file_fallback.count) || 0);
    deadLetterCount.textContent = n > 999 ? "999+" : String(n);
    deadLetterCount.hidden = n === 0;
  } catch (err) {
    console.info("llmobs ui: dead-letter count failed:", err && err.message);
  }
}

async function render({ quiet = false } = {}) {
  const gen = ++generation;
  countDeadLetters();
  const route = parseHash();
  document.querySelectorAll(".nav").forEach((a) => a.classList.toggle("active", a.dataset.view === route.name));
  if (!route.view) {
    disposeAll();
    ctx.setCrumbs([{ label: "Not found" }]);
    viewNode.innerHTML = String(html`<div class="state" data-state="empty"><div class="big">?</div><b>No such page: ${route.path}</b><div><a href="#/overview">Back to the overview</a></div></div>`);
    return;
  }
  current = route;
  if (!quiet) {
    disposeAll();
    viewNode.innerHTML = "";
    const root = document.createElement("div");
    viewNode.appendChild(root);
    await route.view(root, route.params, ctx);
    if (gen === generation) viewNode.dataset.ready = route.name;
    return;
  }
  // Live refresh: draw the new copy hidden behind the old one, then swap, so nothing flickers.
  const next = document.createElement("div");
  next.style.cssText = "position:absolute;left:0;right:0;top:0;visibility:hidden;";
  viewNode.style.position = "relative";
  viewNode.appendChild(next);
  try { await route.view(next, route.params, ctx); } catch { /* the view shows its own errors */ }
  if (gen !== generation || !next.isConnected) { next.remove(); disposeDetached(); return; }
  [...viewNode.children].forEach((c) => { if (c !== next) c.remove(); });
  next.style.cssText = "";
  disposeDetached();
  window.dispatchEvent(new Event("resize"));
}

const signOutButton = document.getElementById("signout");
const showSignOut = () => { signOutButton.hidden = !hasToken(); };
signOutButton.addEventListener("click", () => signOut());
// Signed in or out: draw the view again with (or without) the token.
window.addEventListener("llmobs-auth", () => { showSignOut(); render(); });
showSignOut();

window.addEventListener("hashchange", () => render());
rangeSelect.addEventListener("change", () => { localStorage.setItem("llmobs.range", rangeSelect.value); render(); });
document.getElementById("refresh").addEventListener("click", () => render());
setInterval(() => {
  // Only views without selection state refresh themselves; a trace or session stays as it is.
  // Nor while a person is typing in a filter: a redraw would throw their input away.
  const typing = viewNode.contains(document.activeElement) && /^(INPUT|SELECT|TEXTAREA)$/.test(document.activeElement.tagName);
  // Nor while something is expanded (a dead letter's record): a redraw would fold it again.
  const reading = Boolean(viewNode.querySelector("details[open]"));
  if (liveBox.checked && current && !current.params.id && !typing && !reading && document.visibilityState === "visible") render({ quiet: true });
}, LIVE_EVERY_MS);

render();
