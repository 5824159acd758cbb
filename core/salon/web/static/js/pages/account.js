// Account: change the password (other sessions end) and log out everywhere.

import { api } from "../api.js";
import { $, errorMessage, initChrome, showError, toast } from "../ui.js";

initChrome();

const form = $("[data-password-form]");
const error = $("[data-password-error]");

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  const current = form.elements.current_password.value;
  const next = form.elements.new_password.value;
  if (!current || next.length < 8) {
    showError(error, "Enter your current password and a new one of at least 8 characters.");
    return;
  }
  const button = form.querySelector("button[type=submit]");
  button.disabled = true;
  showError(error, "");
  try {
    const answer = await api("/api/auth/change-password", {
      method: "POST",
      body: { current_password: current, new_password: next },
    });
    form.reset();
    toast(answer.detail);
  } catch (failure) {
    showError(error, errorMessage(failure));
  } finally {
    button.disabled = false;
  }
});

const everywhere = $("[data-logout-all]");
const sessionsError = $("[data-sessions-error]");

everywhere.addEventListener("click", async () => {
  everywhere.disabled = true;
  try {
    await api("/api/auth/logout-all", { method: "POST" });
    location.assign("/login");
  } catch (failure) {
    showError(sessionsError, errorMessage(failure));
    everywhere.disabled = false;
  }
});
