// Create an account; confirm it with a code when the auth provider asks for one; sign in.

import { api, noteExpiry } from "../api.js";
import { $, errorMessage, showError } from "../ui.js";

const form = $("[data-signup-form]");
const confirmForm = $("[data-confirm-form]");
const error = $("[data-form-error]");
const confirmError = $("[data-confirm-error]");
let credentials = null;

async function signIn() {
  const tokens = await api("/api/auth/login?session=cookie", { method: "POST", body: credentials });
  noteExpiry(tokens.expires_in);
  location.assign("/");
}

form?.addEventListener("submit", async (event) => {
  event.preventDefault();
  const email = form.elements.email.value.trim();
  const password = form.elements.password.value;
  if (!email || !email.includes("@")) {
    showError(error, "Enter a valid email address.");
    form.elements.email.focus();
    return;
  }
  if (password.length < 8) {
    showError(error, "The password needs at least 8 characters.");
    form.elements.password.focus();
    return;
  }
  const button = form.querySelector("button[type=submit]");
  button.disabled = true;
  showError(error, "");
  credentials = { email, password };
  try {
    const result = await api("/api/auth/signup", { method: "POST", body: credentials });
    if (result.confirmation_required) {
      form.hidden = true;
      confirmForm.hidden = false;
      $("[data-confirm-email]").textContent = email;
      confirmForm.elements.code.focus();
      return;
    }
    await signIn();
  } catch (failure) {
    showError(error, errorMessage(failure));
    button.disabled = false;
  }
});

confirmForm?.addEventListener("submit", async (event) => {
  event.preventDefault();
  const code = confirmForm.elements.code.value.trim();
  showError(confirmError, "");
  try {
    await api("/api/auth/confirm", { method: "POST", body: { email: credentials.email, code } });
    await signIn();
  } catch (failure) {
    showError(confirmError, errorMessage(failure));
  }
});
form.elements.email.focus();
