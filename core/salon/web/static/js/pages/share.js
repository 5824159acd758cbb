// A shared photo: whoever holds the link sees its large rendition and what the owner chose to
// show (title, date), nothing else; a password form first when the owner set one.

import { $, formatTaken, showError } from "../ui.js";
import { placeholderURL } from "../thumbhash.js";
import { askPassword, fetchShared, initUnlockForm } from "../share_link.js";

const main = $("main");
const base = `/s/${encodeURIComponent(main.dataset.token)}`;
const figure = $("[data-shared]");
const img = $("[data-shared-img]");
const form = $("[data-unlock-form]");

img.addEventListener("load", () => figure.classList.add("loaded"));

async function show() {
  let image;
  try {
    image = await fetchShared(base);
  } catch (failure) {
    figure.hidden = true;
    form.hidden = true;
    showError($("[data-form-error]"), failure.message);
    return;
  }
  if (image.locked) {
    figure.hidden = true;
    askPassword(form);
    return;
  }
  form.hidden = true;
  figure.hidden = false;
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
  if (image.taken_at) caption.push(formatTaken(image, false));
  $("[data-shared-caption]").textContent = caption.join(" · ");
  document.title = `${image.title || "Shared photo"} · Salon`;
  figure.setAttribute("aria-busy", "false");
}

initUnlockForm(form, base, show);
show();
