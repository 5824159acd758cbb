// The folder_source plugin's page: browse the server's photo folder a page at a time (the
// source answers the next page's cursor in X-Next-Cursor) and import a photo as a job.

import { api, refreshSession, toLogin } from "/static/js/api.js";
import { trackJob } from "/static/js/jobs.js";
import { $, el, errorMessage, formatBytes, initChrome, showError, toast } from "/static/js/ui.js";

initChrome();

const SOURCE = "folder";
const list = $("[data-folder-list]");
const jobs = $("[data-job-list]");
const status = $("[data-folder-status]");
const error = $("[data-form-error]");
const more = $("[data-folder-more]");
let cursor = null;
let shown = 0;

/** One page of entries and the next page's cursor (null on the last page). `api()` answers
 * the body only, and the cursor is a header: a plain GET (no CSRF header needed). */
async function fetchPage(after, retried = false) {
  const query = new URLSearchParams(after ? { cursor: after } : {});
  const response = await fetch(`/api/sources/${SOURCE}/entries?${query}`, {
    headers: { Accept: "application/json" },
    credentials: "same-origin",
  });
  if (response.status === 401 && !retried) {
    if (await refreshSession()) return fetchPage(after, true);
    toLogin();
  }
  if (!response.ok) throw new Error((await response.json()).detail || response.statusText);
  return { entries: await response.json(), next: response.headers.get("X-Next-Cursor") };
}

function openLink(imageId) {
  return el("a", { href: `/?photo=${encodeURIComponent(imageId)}`, text: "Open in Photos" });
}

function entryItem(entry) {
  const item = el("li", { class: "folder-entry", "data-name": entry.external_id }, [
    el("h2", { class: "folder-title", text: entry.title }),
    el("p", { class: "folder-meta", text: `${entry.external_id} · ${formatBytes(entry.metadata.folder_bytes || 0)}` }),
  ]);
  if (entry.image_id) {
    item.append(el("p", { class: "hint", text: "In your gallery" }), openLink(entry.image_id));
    return item;
  }
  const button = el("button", { type: "button", class: "button", "aria-label": `Import ${entry.title}`, text: "Import" });
  button.addEventListener("click", async () => {
    button.disabled = true;
    try {
      const body = { name: entry.external_id };
      const accepted = await api(`/api/sources/${SOURCE}/import`, { method: "POST", body });
      const job = await trackJob(jobs, accepted.job_id, entry.title);
      const imageId = job.result?.image_ids?.[entry.external_id];
      if (job.status === "succeeded" && imageId) {
        button.replaceWith(el("p", { class: "hint", text: "Imported" }), openLink(imageId));
        toast(`${entry.title}: imported. See Photos.`);
        return;
      }
      toast(`${entry.title}: ${job.error || "failed"}`, "error");
    } catch (failure) {
      toast(`${entry.title}: ${errorMessage(failure)}`, "error");
    }
    button.disabled = false;
  });
  item.append(button);
  return item;
}

async function showNextPage() {
  more.disabled = true;
  showError(error, "");
  try {
    const page = await fetchPage(cursor);
    list.append(...page.entries.map(entryItem));
    shown += page.entries.length;
    cursor = page.next;
    more.hidden = cursor === null;
    status.textContent = shown === 0 ? "No photos in the folder yet." : `${shown} photo${shown === 1 ? "" : "s"} shown${cursor ? "; more on the next page" : ""}.`;
  } catch (failure) {
    showError(error, errorMessage(failure));
  } finally {
    more.disabled = false;
  }
}

more.addEventListener("click", showNextPage);

async function init() {
  try {
    const sources = await api("/api/sources");
    if (!sources.some((source) => source.name === SOURCE)) {
      $("[data-folder-unavailable]").hidden = false;
      return;
    }
  } catch (failure) {
    showError(error, errorMessage(failure));
    return;
  }
  await showNextPage();
}

init();
