// Forgot password: ask for a reset link. The answer is the same whether or not the address
// has an account.

import { api } from "../api.js";
import { $, errorMessage, showError } from "../ui.js";

const form = $("[data-forgot-form]");
const error = $("[data-form-error]");
const sent = $("[data-sent]");

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  const email = form.elements.email.value.trim();
  if (!email) {
    showError(error, "Enter your email address.");
    return;
  }
  const button = form.querySelector("button[type=submit]");
  button.disabled = true;
  showError(error, "");
  try {
    await api("/api/auth/forgot-password", { method: "POST", body: { email }, authRedirect: false });
    form.hidden = true;
    sent.hidden = false;
  } catch (failure) {
    showError(error, errorMessage(failure));
    button.disabled = false;
  }
});
form.elements.email.focus();
