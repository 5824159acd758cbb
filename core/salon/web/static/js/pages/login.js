// Sign in: cookies for this browser (?session=cookie), then back to where the user was going.

import { api, noteExpiry } from "../api.js";
import { $, errorMessage, LOGIN_NOTICE, showError, showStatus } from "../ui.js";

/** Only same-origin pages are followed after sign-in (no open redirect). `next` is parsed the
 * way the browser will resolve it (a tab, CR or LF after the slash is dropped, so "/\t/evil"
 * is "//evil", another host): anything that lands on another origin goes to "/". */
export function nextPath() {
  const raw = new URLSearchParams(location.search).get("next") || "/";
  let target;
  try {
    target = new URL(raw, location.origin);
  } catch {
    return "/";
  }
  if (target.origin !== location.origin) return "/";
  // "/.//evil.example" resolves on this origin to the path "//evil.example", which
  // location.assign would read as another host: a path must start with exactly one slash.
  if (target.pathname.startsWith("//") || target.pathname.includes("\\")) return "/";
  const path = target.pathname + target.search + target.hash;
  // Back to the sign-in or sign-up page would go round in a circle.
  const auth = /^\/(login|signup)(?:[/?#]|$)/.test(target.pathname);
  return auth ? "/" : path;
}

const form = $("[data-login-form]");
const error = $("[data-form-error]");

// Why the user is here, left by the page that sent them (a password change that ended this
// session): shown once.
const notice = sessionStorage.getItem(LOGIN_NOTICE);
if (notice) {
  sessionStorage.removeItem(LOGIN_NOTICE);
  showStatus($("[data-login-notice]"), notice);
}

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  const email = form.elements.email.value.trim();
  const password = form.elements.password.value;
  if (!email || !password) {
    showError(error, "Enter your email and password.");
    return;
  }
  const button = form.querySelector("button[type=submit]");
  button.disabled = true;
  showError(error, "");
  try {
    const tokens = await api("/api/auth/login?session=cookie", {
      method: "POST",
      body: { email, password },
    });
    noteExpiry(tokens.expires_in);
    location.assign(nextPath());
  } catch (failure) {
    showError(error, errorMessage(failure));
    button.disabled = false;
    form.elements.password.focus();
  }
});

// Already signed in (or the refresh cookie can still renew the session): carry on at once.
api("/api/me", { authRedirect: false })
  .then(() => location.assign(nextPath()))
  .catch(() => {});
form.elements.email.focus();
