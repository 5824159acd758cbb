// Video maker: pick photos in order, choose pace, transition and size, start the job, follow
// its progress, then play the MP4 in the page.

import { api } from "../api.js";
import { createGrid } from "../grid.js";
import { trackJob } from "../jobs.js";
import { $, errorMessage, initChrome, showError } from "../ui.js";

initChrome();

const main = $("main");
const form = $("[data-video-form]");
const error = $("[data-form-error]");
const result = $("[data-video-result]");
const player = $("[data-video-player]");
const download = $("[data-video-download]");
const count = $("[data-selected-count]");

const grid = createGrid({
  root: main,
  mode: "pick",
  onSelectionChange(ids) {
    count.textContent = ids.length
      ? `${ids.length} photo${ids.length === 1 ? "" : "s"} selected, in the order shown by the numbers.`
      : "Select the photos for the slideshow, in order.";
  },
});

$("[data-select-all]").addEventListener("click", () => grid.selectAll());

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  const ids = [...grid.selected];
  if (!ids.length) {
    showError(error, "Select at least one photo below.");
    return;
  }
  showError(error, "");
  const f = form.elements;
  const [width, height] = f.size.value.split("x").map(Number);
  const body = {
    image_ids: ids,
    seconds_per_image: Number(f.seconds_per_image.value) || 3,
    transition: f.transition.value,
    width,
    height,
  };
  if (f.title.value.trim()) body.title = f.title.value.trim();
  const start = $("[data-video-start]");
  start.disabled = true;
  try {
    const created = await api("/api/videos", { method: "POST", body });
    result.hidden = false;
    player.hidden = true;
    download.hidden = true;
    result.scrollIntoView({ block: "nearest" });
    const job = await trackJob($("[data-job-list]", result), created.job_id, `Video of ${ids.length} photos`);
    if (job.status !== "succeeded") {
      showError(error, `The video failed: ${job.error || "unknown error"}`);
      return;
    }
    const video = await api(`/api/videos/${created.video_id}`);
    player.src = video.url;
    player.hidden = false;
    download.href = video.url;
    download.hidden = false;
    player.focus();
  } catch (failure) {
    showError(error, errorMessage(failure));
  } finally {
    start.disabled = false;
  }
});

// Photos chosen on the gallery page ("Make a video") arrive selected.
async function restoreSelection() {
  const raw = sessionStorage.getItem("salon.video.selection");
  sessionStorage.removeItem("salon.video.selection");
  await grid.loadMore();
  if (!raw) return;
  try {
    for (const id of JSON.parse(raw)) grid.toggle(id, true);
  } catch {
    // A stale or hand-edited value: start with nothing selected.
  }
}

restoreSelection();
