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
  // API messages are lower-case phrases ("invalid or expired access token"): a toast is a sentence.
  const text = String(message);
  box.textContent = text.charAt(0).toUpperCase() + text.slice(1);
  box.dataset.kind = kind;
  box.classList.add("visible");
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => box.classList.remove("visible"), 4000);
}

/** sessionStorage key of a message the sign-in page shows once (why the user was sent there). */
export const LOGIN_NOTICE = "salon.login.notice";

/** Show an error message in a form's alert paragraph (or hide it with ""). */
export function showError(node, message) {
  node.textContent = message;
  node.hidden = !message;
}

/** The same for a role="status" paragraph (an outcome, not an error). */
export const showStatus = showError;

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
  return takenZone(image) === "local";
}

function takenZone(image) {
  return image.taken_at_zone || (image.metadata || {}).taken_at_zone;
}

/** The offset from UTC, in minutes, at which a photo's capture time reads as the camera's
 * wall clock: its recorded offset ("+01:00"), 0 for a wall-clock time stored as written, or
 * null when none is known (the time is shown in this browser's zone). */
export function takenOffset(image) {
  const zone = takenZone(image);
  if (zone === "local") return 0;
  const match = /^([+-])(\d\d):(\d\d)$/.exec(zone || "");
  if (!match) return null;
  return (match[1] === "-" ? -1 : 1) * (Number(match[2]) * 60 + Number(match[3]));
}

/** Minutes from UTC as an ISO 8601 offset: 60 is "+01:00". */
export function offsetText(minutes) {
  const pad = (n) => String(n).padStart(2, "0");
  const abs = Math.abs(minutes);
  return `${minutes < 0 ? "-" : "+"}${pad(Math.floor(abs / 60))}:${pad(abs % 60)}`;
}

/** A typed <input type="datetime-local"> value ("2024-01-01T00:30[:00]") sent with the
 * browser's offset at that time, so the server keeps the wall clock the person typed. */
export function typedWithOffset(value) {
  const full = value.length === 16 ? `${value}:00` : value;
  return `${full}${offsetText(-new Date(full).getTimezoneOffset())}`;
}

/** The camera's wall-clock capture time as a Date whose UTC fields read as it (null when the
 * offset is unknown). */
export function takenWallClock(image) {
  const offset = takenOffset(image);
  if (!image.taken_at || offset === null) return null;
  return new Date(Date.parse(image.taken_at) + offset * 60_000);
}

/** When a photo was taken, in words: the camera's local time when its offset is known (as
 * Google Photos shows it, whoever looks), a camera's wall-clock time as written, or else a
 * moment in this browser's zone. */
export function formatTaken(image, withTime = true) {
  const wall = takenWallClock(image);
  if (wall && !Number.isNaN(wall.getTime())) return formatDate(wall.toISOString(), withTime, "UTC");
  return formatDate(image.taken_at, withTime);
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
