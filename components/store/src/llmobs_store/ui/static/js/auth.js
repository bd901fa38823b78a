// The query token (LLMOBS_STORE_QUERY_TOKEN). The store answers 401 when one is set and the
// request lacks it; the UI then asks for it once, keeps it in this browser's localStorage and
// sends it as a bearer token on every API call. "Sign out" forgets it. (docs/SECURITY.md)

const KEY = "llmobs.queryToken";
let dialog = null;

export function authHeaders() {
  const token = localStorage.getItem(KEY);
  return token ? { Authorization: `Bearer ${token}` } : {};
}

export function hasToken() {
  return Boolean(localStorage.getItem(KEY));
}

export function signOut() {
  localStorage.removeItem(KEY);
  window.dispatchEvent(new Event("llmobs-auth"));
}

// Ask for the token (once, however many sections were refused); a stored token that the store
// refused is dropped and the prompt says so.
export function askForToken() {
  const refused = hasToken();
  localStorage.removeItem(KEY);
  if (dialog) return;
  dialog = document.createElement("div");
  dialog.className = "login-backdrop";
  dialog.dataset.testid = "login";
  dialog.innerHTML = `<form class="login card" role="dialog" aria-modal="true" aria-labelledby="login-title">
      <h2 id="login-title">Sign in to the store</h2>
      <p class="sub">This store requires its query token (LLMOBS_STORE_QUERY_TOKEN).</p>
      <p class="login-error" data-testid="login-error" ${refused ? "" : "hidden"}>The store refused that token.</p>
      <label>Query token <input type="password" name="token" autocomplete="current-password" required></label>
      <button class="btn primary" type="submit">Sign in</button>
    </form>`;
  const form = dialog.querySelector("form");
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const value = form.elements.token.value.trim();
    if (!value) return;
    localStorage.setItem(KEY, value);
    dialog.remove();
    dialog = null;
    window.dispatchEvent(new Event("llmobs-auth"));
  });
  document.body.appendChild(dialog);
  form.elements.token.focus();
}
