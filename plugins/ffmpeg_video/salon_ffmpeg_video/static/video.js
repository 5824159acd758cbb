// Video maker: pick photos in order, choose pace, transition and size, start the job, follow
// its progress, then play the MP4 in the page. Earlier videos are listed above the photos, each
// with its player, date and a Delete button.

import { api } from "/static/js/api.js";
import { createGrid } from "/static/js/grid.js";
import { trackJob } from "/static/js/jobs.js";
import { $, el, errorMessage, formatDate, initChrome, showError, toast } from "/static/js/ui.js";

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
    loadVideos(true);
  } catch (failure) {
    showError(error, errorMessage(failure));
  } finally {
    start.disabled = false;
  }
});

const videoList = $("[data-video-list]");
const videosEmpty = $("[data-videos-empty]");
const videosMore = $("[data-videos-more]");
let videosCursor = null;

const STATUS_WORDS = { queued: "Waiting to start", running: "Being made", failed: "Failed" };

function videoLabel(video) {
  const photos = `${video.image_count} photo${video.image_count === 1 ? "" : "s"}`;
  return video.title ? `${video.title} (${photos})` : `Slideshow of ${photos}`;
}

function videoItem(video) {
  const label = videoLabel(video);
  const when = formatDate(video.created_at);
  const details = [when];
  if (video.duration) details.push(`${Math.round(video.duration)} s`);
  if (video.status !== "succeeded") details.push(STATUS_WORDS[video.status] || video.status);
  if (video.error) details.push(video.error);
  const children = [];
  if (video.url) {
    children.push(
      el("video", { class: "player", src: video.url, controls: true, playsinline: true, preload: "metadata", "aria-label": label }),
    );
  }
  const remove = el("button", { type: "button", class: "button quiet", text: "Delete", "aria-label": `Delete ${label} from ${when}` });
  const item = el("li", { class: "video-item", "data-video-id": video.id, "data-video-status": video.status }, [
    ...children,
    el("p", { class: "video-title", text: label }),
    el("p", { class: "video-date", text: details.join(" · ") }),
    remove,
  ]);
  remove.addEventListener("click", async () => {
    if (!window.confirm(`Delete "${label}" from ${when}? This cannot be undone.`)) return;
    remove.disabled = true;
    try {
      await api(`/api/videos/${video.id}`, { method: "DELETE" });
      item.remove();
      videosEmpty.hidden = videoList.children.length > 0;
      toast("Video deleted.");
    } catch (failure) {
      remove.disabled = false;
      toast(`Could not delete the video: ${errorMessage(failure)}`, "error");
    }
  });
  return item;
}

/** The newest page of videos (`fresh`), or the next older one. */
async function loadVideos(fresh = false) {
  const params = new URLSearchParams({ limit: "12" });
  if (!fresh && videosCursor) params.set("cursor", videosCursor);
  try {
    const page = await api(`/api/videos?${params}`);
    const items = page.items.map(videoItem);
    if (fresh) videoList.replaceChildren(...items);
    else videoList.append(...items);
    videosCursor = page.next_cursor;
    videosMore.hidden = !videosCursor;
    videosEmpty.hidden = videoList.children.length > 0;
  } catch (failure) {
    toast(`Could not list your videos: ${errorMessage(failure)}`, "error");
  }
}

videosMore.addEventListener("click", () => loadVideos(false));
loadVideos(true);

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
