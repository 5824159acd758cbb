// What share links have in common: the body of the owner's link form (the lightbox's and the
// album page's), and on the two pages a link opens (a photo, an album): reading its JSON,
// which says 401 while a password is needed, 410 once the link was revoked or expired (the
// answer says which) and 404 when there is no such link; and the password form, whose
// password goes once in a POST body (never in the address) and whose answer's cookie opens
// the link in this browser.

import { $, showError } from "./ui.js";

/** The body of `POST .../share` from a link form: what the link shows besides the pictures,
 * for how many days it works, and its password (sent once, never shown again). */
export function shareRequest(form) {
  const show = [...form.querySelectorAll("input[name=show]:checked")].map((box) => box.value);
  const days = Number(form.elements.days.value) || 7;
  const body = { show, expires_in: Math.round(days * 86400) };
  if (form.elements.password.value) body.password = form.elements.password.value;
  return body;
}

/** The words a visitor sees for a link that does not (or no longer) work. */
function endedMessage(status, detail) {
  if (status === 410 && detail) return `${detail[0].toUpperCase()}${detail.slice(1)}.`;
  if (status === 404) return "No share link has this address: check that it was copied whole.";
  return detail || "This link could not be opened; try again later.";
}

/** GET a link's JSON: the parsed body, `{ locked: true }` (a password is needed), or an Error
 * whose message is for the visitor. */
export async function fetchShared(url) {
  const response = await fetch(url, {
    headers: { Accept: "application/json" },
    credentials: "same-origin",
  });
  if (response.status === 401) return { locked: true };
  if (!response.ok) {
    const body = await response.json().catch(() => ({}));
    throw new Error(endedMessage(response.status, body.detail));
  }
  return response.json();
}

/** The password form `form` (with `[data-unlock-error]`): POSTs to `${base}/unlock`, then
 * calls `opened()`. */
export function initUnlockForm(form, base, opened) {
  const unlockError = $("[data-unlock-error]", form);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const password = form.elements.password.value;
    if (!password) {
      showError(unlockError, "Enter the password you were given with the link.");
      return;
    }
    const button = form.querySelector("button[type=submit]");
    button.disabled = true;
    try {
      const response = await fetch(`${base}/unlock`, {
        method: "POST",
        headers: { "Content-Type": "application/json", Accept: "application/json" },
        body: JSON.stringify({ password }),
        credentials: "same-origin",
      });
      if (!response.ok) {
        const body = await response.json().catch(() => ({}));
        const message = response.status === 403 ? "Wrong password." : endedMessage(response.status, body.detail);
        showError(unlockError, message);
        form.elements.password.select();
        return;
      }
      showError(unlockError, "");
      form.reset();
      await opened();
    } finally {
      button.disabled = false;
    }
  });
}

/** Show the password form (and nothing else of the link yet). */
export function askPassword(form) {
  form.hidden = false;
  form.elements.password.focus();
}
