// Upload page: drag-and-drop or choose many files; the shared queue (../uploads.js) sends each
// with its own progress bar, keeps failed ones with a Retry button and links to the photos.

import { createUploadQueue } from "../uploads.js";
import { $, initChrome } from "../ui.js";

initChrome();

const dropzone = $("[data-dropzone]");
const input = $("[data-file-input]");
const queue = createUploadQueue({ list: $("[data-upload-list]"), summary: $("[data-upload-summary]") });

function takeChosen() {
  if (!input.files.length) return;
  queue.add([...input.files]);
  input.value = "";
}
input.addEventListener("change", takeChosen);
// Files chosen before this module ran (a slow phone, a page still loading) fired their change
// event with nobody listening; they are still in the input.
takeChosen();

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
  if (files.length) queue.add(files);
});
// A file dropped beside the zone would make the browser navigate away to show it.
window.addEventListener("dragover", (event) => event.preventDefault());
window.addEventListener("drop", (event) => event.preventDefault());
