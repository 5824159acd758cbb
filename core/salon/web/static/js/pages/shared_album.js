// A shared album: through a link (/share/album/{token}, no account; a password form when the
// owner set one) or shared with the signed-in user (/albums/shared/{id}). Read-only: the
// photos' renditions and what the owner chose to show.

import { api } from "../api.js";
import { initAlbumDownloads } from "../downloads.js";
import { askPassword, fetchShared, initUnlockForm } from "../share_link.js";
import { placeholderURL } from "../thumbhash.js";
import { $, el, formatTaken, initChrome, showError } from "../ui.js";

const main = $("main");
const token = main.dataset.token;
const albumId = main.dataset.albumId;
const base = token
  ? `/s/album/${encodeURIComponent(token)}`
  : `/api/albums/shared/${encodeURIComponent(albumId)}`;
const grid = $("[data-shared-grid]");
const more = $("[data-more]");
const error = $("[data-form-error]");
const form = $("[data-unlock-form]");
const viewer = $("[data-viewer]");
const viewerImg = $("[data-viewer-img]");
const items = [];
let cursor = null;
let current = 0;

if (!token) {
  initChrome();
  initAlbumDownloads(); // a member downloads the large renditions (the originals stay the owner's)
}

function caption(image) {
  const parts = [image.title || "Photo"];
  if (image.taken_at) parts.push(formatTaken(image, false));
  return parts.join(" · ");
}

function tile(image, index) {
  const frame = el("span", { class: "tile-frame" });
  const placeholder = placeholderURL(image.placeholder);
  if (placeholder) frame.style.backgroundImage = `url("${placeholder}")`;
  const renditions = image.urls.renditions;
  const img = el("img", { class: "tile-img", alt: image.title || "Photo", loading: "lazy" });
  img.addEventListener("load", () => frame.classList.add("loaded"));
  img.src = renditions.sm || renditions.md || renditions.lg || "";
  frame.append(img);
  const open = el("button", { type: "button", class: "tile-open", "aria-label": `Open ${caption(image)}` }, [
    frame,
  ]);
  open.addEventListener("click", () => show(index));
  return el("li", { class: "tile", "data-image-id": image.id }, [open]);
}

function show(index) {
  current = (index + items.length) % items.length;
  const image = items[current];
  const r = image.urls.renditions;
  viewerImg.src = r.lg || r.md || r.sm || "";
  viewerImg.alt = image.title || "Photo";
  $("[data-viewer-caption]").textContent = caption(image);
  if (!viewer.open) viewer.showModal();
}

$("[data-viewer-prev]").addEventListener("click", () => show(current - 1));
$("[data-viewer-next]").addEventListener("click", () => show(current + 1));
$("[data-viewer-close]").addEventListener("click", () => viewer.close());
viewer.addEventListener("keydown", (event) => {
  if (event.key === "ArrowLeft") show(current - 1);
  if (event.key === "ArrowRight") show(current + 1);
});

async function fetchPage() {
  const url = cursor ? `${base}?cursor=${encodeURIComponent(cursor)}` : base;
  return token ? fetchShared(url) : api(url);
}

async function load() {
  let page;
  try {
    page = await fetchPage();
  } catch (failure) {
    showError(error, failure.detail || failure.message);
    return;
  }
  if (page.locked) {
    askPassword(form);
    return;
  }
  form.hidden = true;
  $("[data-album-title]").textContent = page.name;
  document.title = `${page.name} · Salon`;
  const count = `${page.image_count} photo${page.image_count === 1 ? "" : "s"}`;
  $("[data-count]").textContent = page.owner_email ? `${count} · shared by ${page.owner_email}` : count;
  for (const image of page.images) {
    grid.append(tile(image, items.length));
    items.push(image);
  }
  $("[data-empty]").hidden = items.length > 0;
  cursor = page.next_cursor;
  more.hidden = !cursor;
}

more.addEventListener("click", load);

initUnlockForm(form, base, load);

load();
