// The store's query API (/api/v1): JSON, times in unix ms, durations in ms.
// Every call returns parsed JSON or throws an ApiError whose message says what went wrong.
import { askForToken, authHeaders } from "./auth.js";

export class ApiError extends Error {
  constructor(message, status) { super(message); this.status = status; }
}

const BASE = "/api/v1";

function query(params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params || {})) {
    if (v !== undefined && v !== null && v !== "") q.set(k, String(v));
  }
  const s = q.toString();
  return s ? `?${s}` : "";
}

export async function get(path, params) {
  const url = `${BASE}${path}${query(params)}`;
  let resp;
  try {
    resp = await fetch(url, { headers: { Accept: "application/json", ...authHeaders() } });
  } catch (err) {
    throw new ApiError(`The store did not answer (${url}): ${err.message}. Is it still running?`, 0);
  }
  if (resp.status === 401) {
    askForToken();
    throw new ApiError("The store needs its query token: sign in to see this view.", 401);
  }
  if (!resp.ok) {
    let detail = "";
    try {
      const body = await resp.json();
      detail = typeof body.detail === "string" ? body.detail : JSON.stringify(body.detail ?? body);
    } catch { detail = resp.statusText; }
    throw new ApiError(`${resp.status} from ${url}: ${detail}`, resp.status);
  }
  return resp.json();
}

export const api = {
  overview: (p) => get("/overview", p),
  traces: (p) => get("/traces", p),
  trace: (id) => get(`/traces/${encodeURIComponent(id)}`),
  sessions: (p) => get("/sessions", p),
  session: (id) => get(`/sessions/${encodeURIComponent(id)}`),
  models: (p) => get("/models", p),
  modelServers: (p) => get("/model-servers", p),
  usage: (p) => get("/usage", p),
  errors: (p) => get("/errors", p),
  loops: (p) => get("/loops", p),
};
