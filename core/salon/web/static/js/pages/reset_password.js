// Reset password: the mailed link carries the address and a single-use code in its fragment
// (#email=...&code=...), which the browser never sends to a server.

import { api } from "../api.js";
import { $, errorMessage, showError } from "../ui.js";

const params = new URLSearchParams(location.hash.slice(1));
const email = params.get("email") || "";
const code = params.get("code") || "";
// Out of the address bar and history as soon as it is read.
history.replaceState(null, "", location.pathname);

const form = $("[data-reset-form]");
const error = $("[data-form-error]");

if (!email || !code) {
  form.hidden = true;
  $("[data-bad-link]").hidden = false;
} else {
  $("[data-reset-email]").textContent = email;
  form.elements.password.focus();
}

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  const password = form.elements.password.value;
  if (password.length < 8) {
    showError(error, "Choose a password of at least 8 characters.");
    return;
  }
  const button = form.querySelector("button[type=submit]");
  button.disabled = true;
  showError(error, "");
  try {
    await api("/api/auth/confirm-forgot-password", {
      method: "POST",
      body: { email, code, password },
      authRedirect: false,
    });
    form.hidden = true;
    $("[data-done]").hidden = false;
  } catch (failure) {
    showError(error, errorMessage(failure));
    button.disabled = false;
  }
});
