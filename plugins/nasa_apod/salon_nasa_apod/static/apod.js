// NASA APOD browser: look at a day, a range or random picks without importing, then import
// one entry or all shown; each import is a background job with its own progress bar. A star
// favorites an entry in one step: the first star imports it (a job, asked with favorite), later
// ones only flip the image's favorite; entries already favorited show a filled star.

import { api } from "/static/js/api.js";
import { trackJob } from "/static/js/jobs.js";
import { $, el, errorMessage, formatDate, initChrome, showError, toast } from "/static/js/ui.js";

initChrome();

const SOURCE = "apod";
const form = $("[data-apod-form]");
const list = $("[data-apod-list]");
const jobs = $("[data-job-list]");
const status = $("[data-apod-status]");
const error = $("[data-form-error]");
const importAll = $("[data-apod-import-all]");
let shown = { query: null, entries: [] };

function mode() {
  return form.elements.mode.value;
}

function showModeFields() {
  for (const box of form.querySelectorAll("[data-mode-fields]")) {
    box.hidden = box.dataset.modeFields !== mode();
  }
}

/** The query for the chosen mode, or a message saying what is missing. */
function query() {
  const f = form.elements;
  if (mode() === "date") return f.date.value ? { date: f.date.value } : "Pick a date.";
  if (mode() === "range") {
    if (!f.start_date.value || !f.end_date.value) return "Pick both dates of the range.";
    if (f.start_date.value > f.end_date.value) return "The range ends before it starts.";
    return { start_date: f.start_date.value, end_date: f.end_date.value };
  }
  const count = Number(f.count.value);
  return Number.isInteger(count) && count >= 1 && count <= 20
    ? { count: String(count) }
    : "Ask for 1 to 20 random pictures.";
}

/** Run an import job; resolves with the finished job when it succeeded, else null. */
async function startImport(body, label) {
  try {
    const accepted = await api(`/api/sources/${SOURCE}/import`, { method: "POST", body });
    const job = await trackJob(jobs, accepted.job_id, label);
    if (job.status === "succeeded") {
      toast(`${label}: ${body.favorite ? "imported and favorited" : "imported"}. See Photos.`);
      for (const [id, imageId] of Object.entries(job.result?.image_ids || {})) {
        const entry = shown.entries.find((candidate) => candidate.external_id === id);
        if (entry) entry.image_id = imageId;
      }
      return job;
    }
    toast(`${label}: ${job.error || "failed"}`, "error");
  } catch (failure) {
    toast(`${label}: ${errorMessage(failure)}`, "error");
  }
  return null;
}

function showStar(button, entry) {
  button.setAttribute("aria-pressed", String(Boolean(entry.favorite)));
  button.textContent = entry.favorite ? "★" : "☆";
  button.title = entry.favorite ? "Favorite (click to unfavorite)" : "Import and favorite";
}

/** The star: favorite in one step (importing the entry the first time), or unfavorite. */
function starButton(entry, onImported) {
  const button = el("button", { type: "button", class: "button star", "aria-label": `Favorite ${entry.title}` });
  showStar(button, entry);
  button.addEventListener("click", async () => {
    button.disabled = true;
    const wanted = !entry.favorite;
    try {
      if (entry.image_id) {
        await api(`/api/images/${entry.image_id}/favorite`, { method: wanted ? "PUT" : "DELETE" });
        entry.favorite = wanted;
      } else if (wanted) {
        const job = await startImport({ date: entry.date, favorite: true }, `${entry.title} (${entry.date})`);
        entry.favorite = Boolean(job && entry.image_id);
        if (entry.image_id) onImported();
      }
    } catch (failure) {
      toast(`${entry.title}: ${errorMessage(failure)}`, "error");
    } finally {
      showStar(button, entry);
      button.disabled = false;
    }
  });
  return button;
}

function entryItem(entry) {
  const date = entry.date ? formatDate(`${entry.date}T12:00:00`, false) : "";
  const picture = entry.thumbnail_url || entry.image_url;
  const children = [];
  if (picture) {
    children.push(
      el("img", {
        class: "apod-thumb",
        src: picture,
        alt: entry.title,
        loading: "lazy",
        referrerpolicy: "no-referrer",
      }),
    );
  } else {
    children.push(el("div", { class: "apod-thumb none", text: entry.media_type }));
  }
  const body = el("div", { class: "apod-body" }, [
    el("h2", { class: "apod-title", text: entry.title }),
    el("p", { class: "apod-date", text: `${date} · ${entry.media_type}` }),
  ]);
  if (entry.importable && entry.date) {
    const button = el("button", { type: "button", class: "button" });
    const showImported = (done) => {
      button.textContent = done ? "Imported" : "Import";
      button.setAttribute("aria-label", `${button.textContent} ${entry.title}`);
      button.disabled = done;
    };
    showImported(Boolean(entry.image_id));
    button.addEventListener("click", async () => {
      button.disabled = true;
      showImported(Boolean(await startImport({ date: entry.date }, `${entry.title} (${entry.date})`)));
    });
    body.append(el("div", { class: "apod-actions" }, [starButton(entry, () => showImported(true)), button]));
  } else {
    body.append(el("p", { class: "hint", text: "Not an image: nothing to import." }));
  }
  if (entry.page_url) {
    body.append(el("a", { href: entry.page_url, rel: "noopener noreferrer", target: "_blank", text: "On apod.nasa.gov" }));
  }
  return el("li", { class: "apod-entry", "data-date": entry.date || "" }, [...children, body]);
}

form.addEventListener("change", (event) => {
  if (event.target.name === "mode") showModeFields();
});

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  const q = query();
  if (typeof q === "string") {
    showError(error, q);
    return;
  }
  showError(error, "");
  status.textContent = "Asking NASA…";
  list.replaceChildren();
  importAll.hidden = true;
  try {
    const entries = await api(`/api/sources/${SOURCE}/entries?${new URLSearchParams(q)}`);
    shown = { query: q, entries };
    list.replaceChildren(...entries.map(entryItem));
    const importable = entries.filter((entry) => entry.importable && entry.date);
    status.textContent = `${entries.length} entr${entries.length === 1 ? "y" : "ies"}, ${importable.length} importable.`;
    importAll.hidden = importable.length === 0;
  } catch (failure) {
    status.textContent = "";
    showError(error, errorMessage(failure));
  }
});

importAll.addEventListener("click", () => {
  importAll.disabled = true;
  const { query: q, entries } = shown;
  if (q && !q.count) {
    startImport(q, q.date ? `APOD ${q.date}` : `APOD ${q.start_date} to ${q.end_date}`);
  } else {
    // Random picks cannot be asked for again: import them one date at a time.
    for (const entry of entries) {
      if (entry.importable && entry.date) startImport({ date: entry.date }, `${entry.title} (${entry.date})`);
    }
  }
  setTimeout(() => {
    importAll.disabled = false;
  }, 2000);
});

/** APOD's today, YYYY-MM-DD. Its dates follow US Eastern time: in the hours when the UTC
 * date is already the next day, that day has no picture yet and the API refuses it. */
function apodToday(now = new Date()) {
  const parts = new Intl.DateTimeFormat("en-US", {
    timeZone: "America/New_York",
    year: "numeric",
    month: "2-digit",
    day: "2-digit",
  }).formatToParts(now);
  const part = (type) => parts.find((p) => p.type === type).value;
  return `${part("year")}-${part("month")}-${part("day")}`;
}

async function init() {
  const today = apodToday();
  for (const name of ["date", "start_date", "end_date"]) form.elements[name].max = today;
  // Today's picture by default, so Browse works at once.
  if (!form.elements.date.value) form.elements.date.value = today;
  showModeFields();
  try {
    const sources = await api("/api/sources");
    if (!sources.some((source) => source.name === SOURCE)) {
      $("[data-apod-unavailable]").hidden = false;
      form.hidden = true;
    }
  } catch (failure) {
    showError(error, errorMessage(failure));
  }
}

init();
