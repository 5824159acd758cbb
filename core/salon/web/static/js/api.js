// The JSON API with the session cookies: CSRF header on writes, one silent refresh on 401.

const UNSAFE = new Set(["POST", "PUT", "PATCH", "DELETE"]);

/** An API answer that was not 2xx; `detail` is the server's message. */
export class ApiError extends Error {
  constructor(status, detail) {
    super(detail || `request failed (${status})`);
    this.status = status;
    this.detail = detail;
  }
}

/** The value of the readable `salon_csrf` cookie ("" when signed out). */
export function csrfToken() {
  const match = document.cookie.match(/(?:^|;\s*)salon_csrf=([^;]*)/);
  return match ? decodeURIComponent(match[1]) : "";
}

/** Go to the sign-in page, coming back here afterwards. */
export function toLogin() {
  const next = location.pathname + location.search;
  location.assign(`/login?next=${encodeURIComponent(next)}`);
}

let refreshing = null;
const EXPIRY_KEY = "salon.session.expires_at";

/** Remember when the access cookie lapses (from a login or refresh answer's `expires_in`). */
export function noteExpiry(expiresIn) {
  if (Number.isFinite(expiresIn) && expiresIn > 0) {
    localStorage.setItem(EXPIRY_KEY, String(Date.now() + expiresIn * 1000));
  }
}

/** Milliseconds until the access cookie lapses, or null when unknown. */
export function msUntilExpiry() {
  const at = Number(localStorage.getItem(EXPIRY_KEY));
  return at ? at - Date.now() : null;
}

/** Renew the access cookie with the refresh cookie; concurrent callers share one request
 * because refresh tokens rotate (a second use of the old one would be refused). */
export function refreshSession() {
  if (!refreshing) {
    refreshing = fetch("/api/auth/refresh?session=cookie", {
      method: "POST",
      credentials: "same-origin",
      headers: { "X-CSRF-Token": csrfToken() },
    })
      .then(async (response) => {
        if (response.ok) noteExpiry((await response.json()).expires_in);
        return response.ok;
      })
      .catch(() => false)
      .finally(() => {
        setTimeout(() => {
          refreshing = null;
        }, 0);
      });
  }
  return refreshing;
}

async function errorDetail(response) {
  try {
    const body = await response.json();
    return typeof body.detail === "string" ? body.detail : JSON.stringify(body.detail);
  } catch {
    return response.statusText;
  }
}

/**
 * Call the API. `body` is sent as JSON. On 401 the session is refreshed once and the call
 * repeated; if that fails the browser goes to the sign-in page (unless `authRedirect` is false).
 */
export async function api(path, { method = "GET", body, authRedirect = true, retried = false } = {}) {
  const headers = { Accept: "application/json" };
  if (UNSAFE.has(method)) headers["X-CSRF-Token"] = csrfToken();
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const response = await fetch(path, {
    method,
    headers,
    credentials: "same-origin",
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (response.status === 401 && !retried && !path.startsWith("/api/auth/")) {
    if (await refreshSession()) return api(path, { method, body, authRedirect, retried: true });
    if (authRedirect) toLogin();
  }
  if (!response.ok) throw new ApiError(response.status, await errorDetail(response));
  if (response.status === 204) return null;
  const type = response.headers.get("content-type") || "";
  return type.includes("json") ? response.json() : null;
}

/**
 * POST a form with XMLHttpRequest (fetch has no upload progress). Same-origin targets get the
 * cookies and the CSRF header; another origin (a presigned S3 POST) gets neither.
 * `onProgress(fraction)` is called as bytes leave the browser.
 */
export function xhrPost(url, form, onProgress) {
  return new Promise((resolve, reject) => {
    const target = new URL(url, location.href);
    const sameOrigin = target.origin === location.origin;
    const xhr = new XMLHttpRequest();
    xhr.open("POST", target.href);
    if (sameOrigin) {
      xhr.withCredentials = true;
      xhr.setRequestHeader("X-CSRF-Token", csrfToken());
    }
    xhr.upload.addEventListener("progress", (event) => {
      if (event.lengthComputable) onProgress(event.loaded / event.total);
    });
    xhr.addEventListener("load", () => {
      if (xhr.status >= 200 && xhr.status < 300) {
        onProgress(1);
        resolve(xhr.status);
        return;
      }
      let detail = xhr.statusText || `upload failed (${xhr.status})`;
      try {
        detail = JSON.parse(xhr.responseText).detail || detail;
      } catch {
        // S3 answers XML; keep the status text.
      }
      reject(new ApiError(xhr.status, detail));
    });
    xhr.addEventListener("error", () => reject(new ApiError(0, "network error during upload")));
    xhr.addEventListener("abort", () => reject(new ApiError(0, "upload cancelled")));
    xhr.send(form);
  });
}
