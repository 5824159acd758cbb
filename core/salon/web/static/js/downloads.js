// ZIP downloads: an album through a plain link (the browser streams it to disk), a selection
// through POST /api/images/download (ids in the body; the answer is saved as a file).

import { csrfToken, msUntilExpiry, refreshSession, toLogin } from "./api.js";
import { errorMessage, toast } from "./ui.js";

/** A fresh access cookie before a navigation the page's script cannot retry. */
async function freshSession() {
  const left = msUntilExpiry();
  if (left !== null && left < 60_000 && !(await refreshSession())) toLogin();
}

function savedName(response, fallback) {
  const header = response.headers.get("content-disposition") || "";
  const exact = header.match(/filename\*=UTF-8''([^;]+)/);
  return exact ? decodeURIComponent(exact[1]) : fallback;
}

/** Album links (`[data-download-album]`): make sure the session is fresh, then follow. */
export function initAlbumDownloads() {
  for (const link of document.querySelectorAll("[data-download-album]")) {
    link.addEventListener("click", async (event) => {
      event.preventDefault();
      await freshSession();
      location.assign(link.href);
    });
  }
}

/** Download the selected photos as one ZIP of their originals. */
export async function downloadSelection(ids) {
  if (!ids.length) return;
  toast(`Preparing a ZIP of ${ids.length} photo${ids.length === 1 ? "" : "s"}…`);
  try {
    await freshSession();
    const response = await fetch("/api/images/download", {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": csrfToken() },
      body: JSON.stringify({ image_ids: ids, kind: "original" }),
    });
    if (!response.ok) {
      const body = await response.json().catch(() => ({}));
      throw new Error(body.detail || `download failed (${response.status})`);
    }
    const url = URL.createObjectURL(await response.blob());
    const link = document.createElement("a");
    link.href = url;
    link.download = savedName(response, "photos.zip");
    document.body.append(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(url), 60_000);
  } catch (error) {
    toast(errorMessage(error), "error");
  }
}
