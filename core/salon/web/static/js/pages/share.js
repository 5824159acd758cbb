// A shared photo: whoever holds the link sees its large rendition and what the owner chose to
// show (title, date), nothing else.

import { $, formatDate, showError } from "../ui.js";
import { placeholderURL } from "../thumbhash.js";

const main = $("main");
const token = main.dataset.token;
const figure = $("[data-shared]");
const img = $("[data-shared-img]");

img.addEventListener("load", () => figure.classList.add("loaded"));

async function show() {
  const response = await fetch(`/s/${encodeURIComponent(token)}`, {
    headers: { Accept: "application/json" },
    credentials: "omit",
  });
  if (!response.ok) {
    figure.hidden = true;
    showError($("[data-form-error]"), "This link has expired or does not exist.");
    return;
  }
  const image = await response.json();
  const placeholder = placeholderURL(image.placeholder);
  if (placeholder) figure.style.backgroundImage = `url("${placeholder}")`;
  img.alt = image.title || "Shared photo";
  img.width = image.width;
  img.height = image.height;
  figure.dataset.status = image.status || "ready";
  if (image.status === "processing") {
    // Shared right after the upload: the large rendition is still being made.
    figure.dataset.statusText = "Processing…";
    setTimeout(show, 2000);
    return;
  }
  img.src = image.urls.renditions.lg || image.urls.renditions.md || image.urls.original;
  // Only what the owner chose to show arrives; the rest is null.
  const caption = [image.title || "Shared photo"];
  if (image.taken_at) caption.push(formatDate(image.taken_at, false));
  $("[data-shared-caption]").textContent = caption.join(" · ");
  document.title = `${image.title || "Shared photo"} · Salon`;
  figure.setAttribute("aria-busy", "false");
}

show();
