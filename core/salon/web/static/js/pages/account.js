// Account: change the password (other sessions end), log out everywhere, and the share links
// (listed, revoked).

import { api } from "../api.js";
import { $, el, errorMessage, formatDate, initChrome, LOGIN_NOTICE, showError, showStatus, toast } from "../ui.js";

initChrome();

const form = $("[data-password-form]");
const error = $("[data-password-error]");
const done = $("[data-password-done]");

const CHANGED = "Password changed. Your other sessions were signed out and your API keys revoked.";
const CHANGED_SIGNED_OUT =
  "Password changed. Every session was signed out, this one too, and your API keys revoked: " +
  "sign in with your new password.";

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
  showStatus(done, "");
  try {
    const answer = await api("/api/auth/change-password", {
      method: "POST",
      body: { current_password: current, new_password: next },
    });
    form.reset();
    if (answer.signed_out) {
      // The provider (Cognito) ended this session too: say so where the user signs in again.
      sessionStorage.setItem(LOGIN_NOTICE, CHANGED_SIGNED_OUT);
      location.assign("/login");
      return;
    }
    showStatus(done, CHANGED);
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

const shareList = $("[data-share-list]");
const sharesError = $("[data-shares-error]");
const SHOWN = { title: "title", taken_at: "date taken", file: "file details" };

function shareItem(share) {
  const extra = share.show.map((what) => SHOWN[what] || what).join(", ");
  const state = share.expired ? "expired" : `until ${formatDate(share.expires_at)}`;
  const revoke = el("button", { type: "button", class: "button danger", text: "Revoke" });
  const album = share.kind === "album";
  const subject = album
    ? `Album “${share.album_name}”`
    : share.image_title
      ? `Photo “${share.image_title}”`
      : "Untitled photo";
  revoke.addEventListener("click", async () => {
    // Whoever has the link loses the photo at once, and a new link is a new address.
    if (!window.confirm(`Revoke the link to ${subject}? Anyone who has it can no longer open it.`)) return;
    revoke.disabled = true;
    try {
      await api(`/api/shares/${share.id}`, { method: "DELETE" });
      toast("Link revoked");
      await loadShares();
    } catch (failure) {
      showError(sharesError, errorMessage(failure));
      revoke.disabled = false;
    }
  });
  const name = `${subject} shared ${formatDate(share.created_at)}`;
  const what = album ? "the photos" : "the photo";
  const lock = share.password ? " · password" : "";
  return el("li", { class: "share-item", "data-share-id": share.id }, [
    el("span", { class: "share-name", text: name }),
    el("span", { class: "hint", text: `${state} · shows ${what}${extra ? ` and ${extra}` : ""}${lock}` }),
    revoke,
  ]);
}

async function loadShares() {
  try {
    const shares = await api("/api/shares");
    shareList.replaceChildren(...shares.map(shareItem));
    $("[data-shares-empty]").hidden = shares.length > 0;
    showError(sharesError, "");
  } catch (failure) {
    showError(sharesError, errorMessage(failure));
  }
}

loadShares();
