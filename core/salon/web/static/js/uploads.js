// The upload queue the Upload page and every gallery page share: each file goes through the
// direct-upload API (an intent, the bytes as a presigned POST straight to S3 when storage offers
// one, this server otherwise, then completion, which verifies and records the image), three at
// a time, each with its own progress bar. A failed file keeps its row, with a Retry button when
// trying again can help; once nothing is left, a link leads to the photos. `enablePageDrop` lets a whole page take a drop.

import { ApiError, api, xhrPost } from "./api.js";
import { watchReady } from "./ready.js";
import { el, errorMessage, formatBytes } from "./ui.js";

const PARALLEL = 3;

/** Whether trying again can help: a network failure, a server error or "not now" (408, 429)
 * can pass; any other refusal (415 not a photo, 413 too large, 400...) answers the same again. */
function retryable(error) {
  if (!(error instanceof ApiError)) return true;
  return error.status === 0 || error.status >= 500 || error.status === 408 || error.status === 429;
}

/** What a finished row says: a duplicate is not new; renditions come after the answer. */
function doneText(image) {
  if (image?.duplicate) return "Already in your library";
  return image?.status === "processing" ? "Uploaded (processing)" : "Uploaded";
}

/**
 * A queue drawing its rows into `list` and its counts into `summary`. With `albumId`, each
 * uploaded photo is also added to that album. `onUploaded(image)` runs for each success.
 */
export function createUploadQueue({ list, summary, albumId = null, onUploaded = () => {} }) {
  const waiting = [];
  const failures = new Set(); // rows Retry may help
  let refused = 0; // rows it cannot
  let active = 0;
  let finished = 0;
  let duplicates = 0; // of the finished: already in the library, nothing new
  let total = 0;

  // Beside the live summary, not in it: its words stay what screen readers are told.
  const actions = el("p", { class: "upload-actions", "data-upload-actions": true, hidden: true });
  summary.after(actions);

  function report() {
    const failed = failures.size + refused;
    const left = total - finished - failed;
    const already = duplicates ? `, ${duplicates} already in your library` : "";
    summary.textContent = left
      ? `Uploading: ${finished} of ${total} done${failed ? `, ${failed} failed` : ""}.`
      : `Finished: ${finished - duplicates} uploaded${already}${failed ? `, ${failed} failed` : ""}.`;
    const children = [];
    if (!left && finished) {
      const href = albumId ? `/albums/${albumId}` : "/";
      children.push(el("a", { href, "data-uploaded-link": true, text: albumId ? "See the album" : "See your photos" }));
    }
    if (!left && failures.size) {
      const retry = el("button", { type: "button", class: "button", text: `Retry ${failures.size} failed` });
      retry.addEventListener("click", retryFailed);
      children.push(retry);
    }
    actions.replaceChildren(...children);
    actions.hidden = children.length === 0;
  }

  function row(file) {
    const progress = el("progress", { max: "100", value: "0", "aria-label": `Uploading ${file.name}` });
    const status = el("span", { class: "upload-status", text: "Waiting" });
    const item = el("li", { class: "upload", "data-status": "waiting" }, [
      el("span", { class: "upload-name", text: file.name }),
      el("span", { class: "upload-size", text: formatBytes(file.size) }),
      progress,
      status,
    ]);
    list.append(item);
    return { item, progress, status, file, retry: null };
  }

  function set(view, status, text) {
    view.item.dataset.status = status;
    view.status.textContent = text;
  }

  async function send(view) {
    const { file } = view;
    set(view, "uploading", "Starting");
    view.progress.value = 0;
    const intent = await api("/api/uploads", {
      method: "POST",
      body: { filename: file.name, content_type: file.type || "application/octet-stream", size: file.size },
    });
    const form = new FormData();
    for (const [name, value] of Object.entries(intent.fields || {})) form.append(name, value);
    form.append("file", file, file.name);
    await xhrPost(intent.url, form, (fraction) => {
      // The last few percent are the server's check, so the bar stops at 95 until completion.
      view.progress.value = Math.round(fraction * 95);
      set(view, "uploading", `${Math.round(fraction * 100)}% sent`);
    });
    set(view, "verifying", "Checking");
    const image = await api(`/api/uploads/${intent.upload_id}/complete`, { method: "POST" });
    if (albumId) {
      // Uploading the same bytes again answers the same image, so a retry after this failed
      // only adds it to the album.
      await api(`/api/albums/${albumId}/images`, { method: "POST", body: { image_ids: [image.id] } });
    }
    view.progress.value = 100;
    set(view, "done", doneText(image));
    // The renditions are made after the answer: the row follows the photo as the grid does.
    watchReady(image, (fresh) => {
      if (fresh?.status === "failed") failedLater(view, fresh);
      else if (fresh) set(view, "done", doneText(fresh));
    });
    return image;
  }

  /** The renditions step refused the photo after the answer: the row and the summary now
   * count it as failed, not uploaded (no Retry: the same bytes get the same refusal). */
  function failedLater(view, image) {
    set(view, "failed", `Failed: ${image.error || "the photo could not be read"}`);
    if (view.failedLater) return;
    view.failedLater = true;
    refused += 1;
    if (view.counted) {
      finished -= 1;
      if (view.duplicate) duplicates -= 1;
    }
    report();
  }

  function fail(view, error) {
    set(view, "failed", `Failed: ${errorMessage(error)}`);
    if (!retryable(error)) {
      refused += 1;
      return;
    }
    failures.add(view);
    const retry = el("button", { type: "button", class: "button quiet", text: "Retry", "aria-label": `Retry ${view.file.name}` });
    retry.addEventListener("click", () => retryOne(view));
    view.retry = retry;
    view.item.append(retry);
  }

  function pump() {
    while (active < PARALLEL && waiting.length) {
      const view = waiting.shift();
      active += 1;
      send(view)
        .then((image) => {
          if (!view.failedLater) {
            view.counted = true;
            view.duplicate = Boolean(image?.duplicate);
            finished += 1;
            if (view.duplicate) duplicates += 1;
          }
          onUploaded(image);
        })
        .catch((error) => fail(view, error))
        .finally(() => {
          active -= 1;
          report();
          pump();
        });
    }
  }

  function retryOne(view) {
    if (!failures.delete(view)) return;
    view.retry?.remove();
    view.retry = null;
    set(view, "waiting", "Waiting");
    waiting.push(view);
    report();
    pump();
  }

  function retryFailed() {
    for (const view of [...failures]) retryOne(view);
  }

  function add(files) {
    for (const file of files) {
      total += 1;
      waiting.push(row(file));
    }
    report();
    pump();
  }

  return { add, retryFailed };
}

function hasFiles(event) {
  return [...(event.dataTransfer?.types || [])].includes("Files");
}

/**
 * Let photos be dropped anywhere on the page: a hint covers the page while files are dragged
 * over it, and a panel (made here, so templates need nothing) shows each upload's progress.
 */
export function enablePageDrop({ albumId = null, onUploaded = () => {} } = {}) {
  const where = albumId ? "to this album" : "to your photos";
  const overlay = el("div", { class: "drop-overlay", "data-drop-overlay": true, hidden: true }, [
    el("p", { text: `Drop photos to upload them ${where}` }),
  ]);
  const summary = el("p", { class: "summary", "data-upload-summary": true, role: "status", "aria-live": "polite" });
  const list = el("ul", { class: "upload-list", "data-upload-list": true, "aria-label": "Uploads" });
  const close = el("button", { type: "button", class: "button quiet", text: "Close", "aria-label": "Close the uploads panel" });
  const panel = el("aside", { class: "upload-panel", "data-upload-panel": true, "aria-labelledby": "upload-panel-title", hidden: true }, [
    el("div", { class: "upload-panel-head" }, [el("h2", { id: "upload-panel-title", text: "Uploads" }), close]),
    summary,
    list,
  ]);
  document.body.append(overlay, panel);
  const queue = createUploadQueue({ list, summary, albumId, onUploaded });
  close.addEventListener("click", () => {
    panel.hidden = true;
  });

  let depth = 0; // dragenter/dragleave fire for every element crossed
  document.addEventListener("dragenter", (event) => {
    if (!hasFiles(event)) return;
    event.preventDefault();
    depth += 1;
    overlay.hidden = false;
  });
  document.addEventListener("dragover", (event) => {
    if (hasFiles(event)) event.preventDefault();
  });
  document.addEventListener("dragleave", () => {
    depth = Math.max(0, depth - 1);
    if (!depth) overlay.hidden = true;
  });
  document.addEventListener("drop", (event) => {
    // A file dropped anywhere would otherwise make the browser navigate away to show it.
    event.preventDefault();
    depth = 0;
    overlay.hidden = true;
    const files = [...(event.dataTransfer?.files || [])];
    if (!files.length) return;
    panel.hidden = false;
    queue.add(files);
  });
  return queue;
}
