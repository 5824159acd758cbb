// Page chrome shared by every signed-in page: menu toggle, account, log out, toasts, formats.

import { api, ApiError, msUntilExpiry, refreshSession } from "./api.js";

/** `document.querySelector` scoped to `root`, throwing when a template lost an element. */
export function $(selector, root = document) {
  const found = root.querySelector(selector);
  if (!found) throw new Error(`missing element ${selector}`);
  return found;
}

/** Create an element with attributes (`text` sets textContent, `class` the class list). */
export function el(tag, attributes = {}, children = []) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === undefined || value === null || value === false) continue;
    if (name === "text") node.textContent = value;
    else if (name === "class") node.className = value;
    else node.setAttribute(name, value === true ? "" : String(value));
  }
  for (const child of children) node.append(child);
  return node;
}

let toastTimer = 0;

/** A short message in the page's polite live region. */
export function toast(message, kind = "info") {
  const box = document.querySelector("[data-toast]");
  if (!box) return;
  box.textContent = message;
  box.dataset.kind = kind;
  box.classList.add("visible");
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => box.classList.remove("visible"), 4000);
}

/** Show an error message in a form's alert paragraph (or hide it with ""). */
export function showError(node, message) {
  node.textContent = message;
  node.hidden = !message;
}

export function errorMessage(error) {
  if (error instanceof ApiError) return error.detail || error.message;
  return error instanceof Error ? error.message : String(error);
}

const SIZE_UNITS = ["bytes", "KB", "MB", "GB"];

export function formatBytes(size) {
  let value = size;
  let unit = 0;
  while (value >= 1024 && unit < SIZE_UNITS.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return unit === 0 ? `${value} bytes` : `${value.toFixed(value < 10 ? 1 : 0)} ${SIZE_UNITS[unit]}`;
}

export function formatDate(iso, withTime = true, timeZone = undefined) {
  if (!iso) return "";
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return iso;
  const options = withTime
    ? { dateStyle: "medium", timeStyle: "short" }
    : { dateStyle: "medium" };
  return new Intl.DateTimeFormat(undefined, { ...options, timeZone }).format(date);
}

/** Whether a photo's `taken_at` is a camera's wall-clock time with no zone recorded (EXIF
 * without OffsetTime): it is stored as written, labelled UTC, and shown as written. */
export function takenLocally(image) {
  return (image.taken_at_zone || (image.metadata || {}).taken_at_zone) === "local";
}

/** When a photo was taken, in words: a moment in this browser's zone, or a camera's
 * wall-clock time as the camera showed it (not moved by the viewer's zone). */
export function formatTaken(image, withTime = true) {
  return formatDate(image.taken_at, withTime, takenLocally(image) ? "UTC" : undefined);
}

/** The words screen readers and tooltips use for a photo. */
export function describe(image) {
  if (image.title) return image.title;
  if (image.taken_at) return `Photo taken ${formatTaken(image, false)}`;
  return `Photo uploaded ${formatDate(image.created_at, false)}`;
}

const MIN_REFRESH_MS = 30_000;

/** Renew the session a little before the access cookie lapses: pictures load straight from
 * <img> tags with that cookie, and a lapsed one would leave them broken until the next API call. */
function keepSessionAlive() {
  const left = msUntilExpiry();
  const wait = left === null ? 10 * 60_000 : Math.max(MIN_REFRESH_MS, left * 0.8);
  setTimeout(async () => {
    if (await refreshSession()) keepSessionAlive();
  }, wait);
}

/** Wire the header: the phone menu, the account e-mail and the log-out button. */
export function initChrome() {
  keepSessionAlive();
  const toggle = document.querySelector("[data-menu-toggle]");
  const nav = document.getElementById("site-nav");
  if (toggle && nav) {
    toggle.addEventListener("click", () => {
      const open = toggle.getAttribute("aria-expanded") !== "true";
      toggle.setAttribute("aria-expanded", String(open));
      nav.classList.toggle("open", open);
    });
  }
  const logout = document.querySelector("[data-logout]");
  if (logout) {
    logout.addEventListener("click", async () => {
      logout.disabled = true;
      try {
        await api("/api/auth/logout", { method: "POST", authRedirect: false });
      } catch {
        // The access cookie lapsed: renew it once so the server can end the session (and
        // clear the refresh cookie, which would otherwise sign this browser back in).
        if (await refreshSession()) {
          await api("/api/auth/logout", { method: "POST", authRedirect: false }).catch(() => {});
        }
      }
      location.assign("/login");
    });
  }
  const email = document.querySelector("[data-user-email]");
  if (email) {
    api("/api/me")
      .then((me) => {
        email.textContent = me.email;
      })
      .catch(() => {});
  }
}
