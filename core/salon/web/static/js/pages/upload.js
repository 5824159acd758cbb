// Drag-and-drop upload of many files, each with its own progress bar. Each file goes through
// the direct-upload API: an intent, the bytes (a presigned POST straight to S3 when storage
// offers one, this server otherwise), then completion, which verifies and records the image.

import { api, xhrPost } from "../api.js";
import { $, el, errorMessage, formatBytes, initChrome } from "../ui.js";

initChrome();

const PARALLEL = 3;
const dropzone = $("[data-dropzone]");
const input = $("[data-file-input]");
const list = $("[data-upload-list]");
const summary = $("[data-upload-summary]");
const queue = [];
let active = 0;
let finished = 0;
let failed = 0;
let total = 0;

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
  return { item, progress, status };
}

function report() {
  const left = total - finished - failed;
  summary.textContent = left
    ? `Uploading: ${finished} of ${total} done${failed ? `, ${failed} failed` : ""}.`
    : `Finished: ${finished} uploaded${failed ? `, ${failed} failed` : ""}.`;
}

async function send(file, view) {
  const set = (status, text) => {
    view.item.dataset.status = status;
    view.status.textContent = text;
  };
  set("uploading", "Starting");
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
    set("uploading", `${Math.round(fraction * 100)}% sent`);
  });
  set("verifying", "Checking");
  const image = await api(`/api/uploads/${intent.upload_id}/complete`, { method: "POST" });
  view.progress.value = 100;
  // The renditions are made after the answer; the gallery shows the photo once they exist.
  set("done", image?.status === "processing" ? "Uploaded (processing)" : "Uploaded");
  return image;
}

function pump() {
  while (active < PARALLEL && queue.length) {
    const { file, view } = queue.shift();
    active += 1;
    send(file, view)
      .then(() => {
        finished += 1;
      })
      .catch((error) => {
        failed += 1;
        view.item.dataset.status = "failed";
        view.status.textContent = `Failed: ${errorMessage(error)}`;
      })
      .finally(() => {
        active -= 1;
        report();
        pump();
      });
  }
}

function add(files) {
  for (const file of files) {
    total += 1;
    queue.push({ file, view: row(file) });
  }
  report();
  pump();
}

input.addEventListener("change", () => {
  add([...input.files]);
  input.value = "";
});

for (const name of ["dragenter", "dragover"]) {
  dropzone.addEventListener(name, (event) => {
    event.preventDefault();
    dropzone.classList.add("dragging");
  });
}
for (const name of ["dragleave", "drop"]) {
  dropzone.addEventListener(name, (event) => {
    event.preventDefault();
    dropzone.classList.remove("dragging");
  });
}
dropzone.addEventListener("drop", (event) => {
  const files = [...(event.dataTransfer?.files || [])];
  if (files.length) add(files);
});
// A file dropped beside the zone would make the browser navigate away to show it.
window.addEventListener("dragover", (event) => event.preventDefault());
window.addEventListener("drop", (event) => event.preventDefault());
