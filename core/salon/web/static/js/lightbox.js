// The lightbox: a modal <dialog> (focus stays inside, Esc closes) showing one photo at a time,
// with arrow-key and swipe navigation, zoom (double-click, wheel, pinch, +/-) and pan, details
// (camera, lens, exposure, size), favourite, editing (title, description, date taken), share
// and delete. The address follows the photo (?photo=<id>): Back closes the lightbox and returns
// to the grid, and a reload (or a shared address) opens the same photo again.

import { api } from "./api.js";
import { loadInto } from "./grid.js";
import { shareRequest } from "./share_link.js";
import { $, describe, errorMessage, formatBytes, formatDate, formatTaken, offsetText, takenLocally, takenOffset, takenWallClock, toast, typedWithOffset } from "./ui.js";

const SIZES = "(max-width: 900px) 100vw, 70vw";
const TYPING = new Set(["INPUT", "TEXTAREA", "SELECT"]);
const PHOTO_PARAM = "photo";
const MAX_ZOOM = 5;
const DOUBLE_CLICK_ZOOM = 2.5;
const SWIPE_MIN_PX = 60;
const SWIPE_MAX_MS = 1000;
// How many more pages a reload may load to find the photo in its address.
const FIND_PAGES = 20;

/** The photo id in the address, if any. */
export function photoInAddress() {
  return new URLSearchParams(location.search).get(PHOTO_PARAM);
}

function addressWith(id) {
  const url = new URL(location.href);
  if (id) url.searchParams.set(PHOTO_PARAM, id);
  else url.searchParams.delete(PHOTO_PARAM);
  return `${url.pathname}${url.search}${url.hash}`;
}

/** "Canon EOS R5", not "Canon Canon EOS R5". */
export function cameraText(meta) {
  const make = (meta.camera_make || "").trim();
  const model = (meta.camera_model || "").trim();
  if (!model) return make;
  return make && !model.toLowerCase().startsWith(make.split(" ")[0].toLowerCase())
    ? `${make} ${model}`
    : model;
}

/** "1/250 s · ƒ/2.8 · ISO 200 · 50 mm" from the EXIF facts that are known. */
export function exposureText(meta) {
  const parts = [];
  const time = Number(meta.exposure_time);
  if (time > 0) parts.push(time < 1 ? `1/${Math.round(1 / time)} s` : `${+time.toFixed(1)} s`);
  if (Number(meta.f_number) > 0) parts.push(`\u0192/${+Number(meta.f_number).toFixed(1)}`);
  if (Number(meta.iso) > 0) parts.push(`ISO ${Math.round(meta.iso)}`);
  if (Number(meta.focal_length) > 0) parts.push(`${+Number(meta.focal_length).toFixed(1)} mm`);
  return parts.join(" \u00b7 ");
}

/** The date-time input's value for a photo's capture time: the camera's wall clock when its
 * offset is known or it is a wall-clock time (`takenWallClock`), else in this browser's zone. */
function localInputValue(image) {
  if (!image.taken_at) return "";
  const date = new Date(image.taken_at);
  if (Number.isNaN(date.getTime())) return "";
  const wall = takenWallClock(image);
  if (wall) return wall.toISOString().slice(0, 19);
  const pad = (n) => String(n).padStart(2, "0");
  return (
    `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}` +
    `T${pad(date.getHours())}:${pad(date.getMinutes())}:${pad(date.getSeconds())}`
  );
}

/** Attach the lightbox in `dialog` to a grid made by `createGrid`. */
export function createLightbox(dialog, grid, { total = () => null } = {}) {
  const img = $("[data-lb-img]", dialog);
  const frame = $(".lightbox-figure", dialog);
  const favorite = $("[data-lb-favorite]", dialog);
  const zoomButton = $("[data-lb-zoom]", dialog);
  const shareButton = $("[data-lb-share]", dialog);
  const shareResult = $("[data-lb-share-result]", dialog);
  const shareUrl = $("[data-lb-share-url]", dialog);
  const editForm = $("[data-lb-edit]", dialog);
  // What the edit form held when the photo was shown: moving on with other values asks first,
  // since typed but unsaved edits would be lost without a word.
  let editedFrom = "";
  const editValues = () =>
    JSON.stringify(["title", "description", "taken_at"].map((name) => editForm.elements[name].value));
  const mayLeave = () =>
    editValues() === editedFrom || window.confirm("Discard your unsaved changes to this photo?");

  const shareForm = $("[data-lb-share-form]", dialog);
  const restoreButton = $("[data-lb-restore]", dialog);
  const deleteButton = $("[data-lb-delete]", dialog);
  const prev = $("[data-lb-prev]", dialog);
  const next = $("[data-lb-next]", dialog);
  let index = -1;
  // Whether this page put the ?photo= entry in the history (Back then closes the lightbox).
  let pushed = false;

  img.addEventListener("load", () => frame.classList.add("loaded"));
  // A photo that was still processing when shown gets its renditions in place when ready.
  grid.onUpdate((image) => {
    if (dialog.open && current()?.id === image.id) render();
  });

  const current = () => grid.items[index];

  function detail(name, text, unknown = "Unknown") {
    const node = $(`[data-lb-${name}]`, dialog);
    node.textContent = text || unknown;
    node.classList.toggle("unknown", !text);
  }

  /** How many photos the view has: all loaded, the library's total, or "N+" unknown. */
  function ofCount() {
    const count = grid.items.length;
    if (!grid.hasMore()) return count;
    const whole = total();
    return whole === null ? `${count}+` : Math.max(whole, count);
  }

  function render() {
    const image = current();
    if (!image) return;
    resetZoom();
    loadInto(img, frame, image, SIZES, { moving: true });
    const meta = image.metadata || {};
    $("[data-lb-title]", dialog).textContent = describe(image);
    $("[data-lb-position]", dialog).textContent = `Photo ${index + 1} of ${ofCount()}`;
    const description = $("[data-lb-description]", dialog);
    description.textContent = meta.description || "";
    description.hidden = !meta.description;
    detail("taken", image.taken_at && formatTaken(image), "Unknown (no EXIF date)");
    detail("camera", cameraText(meta));
    detail("lens", meta.lens);
    detail("exposure", exposureText(meta));
    detail("created", formatDate(image.created_at));
    detail("dims", `${image.width} × ${image.height} px`);
    detail("size", formatBytes(image.size));
    detail("type", image.content_type);
    $("[data-lb-original]", dialog).href = image.urls.original;
    editForm.elements.title.value = image.title;
    editForm.elements.description.value = meta.description || "";
    editForm.elements.taken_at.value = localInputValue(image);
    editedFrom = editValues();
    const offset = takenOffset(image);
    $("[data-lb-taken-label]", dialog).textContent = takenLocally(image)
      ? "Date taken (as on the camera)"
      : offset !== null
        ? `Date taken (local time, UTC${offsetText(offset)})`
        : "Date taken (your time zone)";
    paintFavorite(image);
    paintTrashed(Boolean(image.trashed_at));
    shareResult.hidden = true;
    prev.disabled = index === 0;
    next.disabled = index >= grid.items.length - 1 && !grid.hasMore();
  }

  /** A photo in the trash can be restored or deleted for good; favouring, sharing (its link
   * would be dead) and editing it wait until it is restored. */
  function paintTrashed(trashed) {
    for (const node of [favorite, shareButton, shareForm, $("[data-lb-edit-box]", dialog)]) {
      node.hidden = trashed;
    }
    restoreButton.hidden = !trashed;
    deleteButton.textContent = trashed ? "Delete forever" : "Delete";
  }

  function paintFavorite(image) {
    favorite.setAttribute("aria-pressed", String(image.favorite));
    favorite.textContent = image.favorite ? "\u2605 Favorite" : "\u2606 Favorite";
  }

  /** Keep the address on the photo shown: a new entry when the lightbox opens, the same
   * entry while moving between photos (Back goes to the grid, not through every photo). */
  function follow(id) {
    const address = addressWith(id);
    if (address === `${location.pathname}${location.search}${location.hash}`) return;
    if (dialog.open && (pushed || photoInAddress())) {
      history.replaceState({ photo: id }, "", address);
    } else {
      history.pushState({ photo: id }, "", address);
      pushed = true;
    }
  }

  async function go(step) {
    if (!mayLeave()) return;
    let target = index + step;
    if (target >= grid.items.length && grid.hasMore()) await grid.loadMore();
    target = Math.max(0, Math.min(grid.items.length - 1, target));
    if (target === index) return;
    index = target;
    follow(current().id);
    render();
  }

  function open(at) {
    if (at < 0 || at >= grid.items.length) return;
    index = at;
    follow(current().id);
    render();
    if (!dialog.open) dialog.showModal();
    $("[data-lb-close]", dialog).focus();
  }

  /** Open the photo with `id`, loading more of the grid until it is found. */
  async function openId(id) {
    let at = grid.items.findIndex((item) => item.id === id);
    for (let page = 0; at < 0 && grid.hasMore() && page < FIND_PAGES; page += 1) {
      await grid.loadMore();
      at = grid.items.findIndex((item) => item.id === id);
    }
    if (at < 0) {
      history.replaceState(null, "", addressWith(null));
      toast("That photo is not in this view (deleted, or in another album).", "error");
      return false;
    }
    index = at;
    render();
    if (!dialog.open) dialog.showModal();
    $("[data-lb-close]", dialog).focus();
    return true;
  }

  dialog.addEventListener("close", () => {
    resetZoom();
    // Closing by Esc, the close button or the backdrop is the same as Back.
    if (photoInAddress()) {
      if (pushed) history.back();
      else history.replaceState(null, "", addressWith(null));
    }
    pushed = false;
    // Focus goes back to the tile of the photo last shown, not the one first opened.
    const tile = current() && grid.tile(current().id);
    tile?.querySelector(".tile-open")?.focus();
    tile?.scrollIntoView({ block: "nearest" });
  });

  // Back (or Forward) through the addresses this lightbox made.
  window.addEventListener("popstate", () => {
    const id = photoInAddress();
    if (!id) {
      pushed = false;
      if (dialog.open) dialog.close();
      return;
    }
    if (current()?.id !== id || !dialog.open) openId(id);
  });

  // ------------------------------------------------------------------ zoom and pan

  let zoom = 1;
  let panX = 0;
  let panY = 0;

  function applyZoom() {
    img.style.transform = zoom === 1 ? "" : `translate(${panX}px, ${panY}px) scale(${zoom})`;
    frame.classList.toggle("zoomed", zoom > 1);
    zoomButton.setAttribute("aria-pressed", String(zoom > 1));
    zoomButton.textContent = zoom > 1 ? `Zoom ${zoom.toFixed(1)}×` : "Zoom";
  }

  function resetZoom() {
    zoom = 1;
    panX = 0;
    panY = 0;
    applyZoom();
  }

  /** Zoom to `level`, keeping the point (x, y) of the window where it is on screen. */
  function zoomTo(level, x, y) {
    const target = Math.max(1, Math.min(MAX_ZOOM, level));
    if (target === 1) {
      resetZoom();
      return;
    }
    const box = frame.getBoundingClientRect();
    const cx = (x ?? box.left + box.width / 2) - (box.left + box.width / 2);
    const cy = (y ?? box.top + box.height / 2) - (box.top + box.height / 2);
    panX = cx - (target / zoom) * (cx - panX);
    panY = cy - (target / zoom) * (cy - panY);
    zoom = target;
    applyZoom();
  }

  zoomButton.addEventListener("click", () => zoomTo(zoom > 1 ? 1 : DOUBLE_CLICK_ZOOM));
  frame.addEventListener("dblclick", (event) => {
    zoomTo(zoom > 1 ? 1 : DOUBLE_CLICK_ZOOM, event.clientX, event.clientY);
  });
  frame.addEventListener(
    "wheel",
    (event) => {
      event.preventDefault();
      zoomTo(zoom * (event.deltaY < 0 ? 1.25 : 0.8), event.clientX, event.clientY);
    },
    { passive: false },
  );

  // One pointer: pan when zoomed, swipe to the next or previous photo when not. Two: pinch.
  const pointers = new Map();
  let gesture = null;

  frame.addEventListener("pointerdown", (event) => {
    if (event.button !== 0) return;
    pointers.set(event.pointerId, { x: event.clientX, y: event.clientY });
    frame.setPointerCapture(event.pointerId);
    if (pointers.size === 2) {
      const [a, b] = [...pointers.values()];
      gesture = { kind: "pinch", distance: Math.hypot(a.x - b.x, a.y - b.y), zoom };
    } else if (pointers.size === 1) {
      gesture = {
        kind: zoom > 1 ? "pan" : "swipe",
        x: event.clientX,
        y: event.clientY,
        panX,
        panY,
        at: performance.now(),
      };
    }
  });

  frame.addEventListener("pointermove", (event) => {
    if (!pointers.has(event.pointerId) || !gesture) return;
    pointers.set(event.pointerId, { x: event.clientX, y: event.clientY });
    if (gesture.kind === "pinch" && pointers.size === 2) {
      const [a, b] = [...pointers.values()];
      const distance = Math.hypot(a.x - b.x, a.y - b.y);
      zoomTo((gesture.zoom * distance) / gesture.distance, (a.x + b.x) / 2, (a.y + b.y) / 2);
    } else if (gesture.kind === "pan") {
      panX = gesture.panX + event.clientX - gesture.x;
      panY = gesture.panY + event.clientY - gesture.y;
      applyZoom();
    }
  });

  function endPointer(event) {
    if (!pointers.delete(event.pointerId)) return;
    if (gesture?.kind === "swipe" && event.type === "pointerup") {
      const dx = event.clientX - gesture.x;
      const dy = event.clientY - gesture.y;
      const quick = performance.now() - gesture.at < SWIPE_MAX_MS;
      if (quick && Math.abs(dx) >= SWIPE_MIN_PX && Math.abs(dx) > 1.5 * Math.abs(dy)) {
        go(dx < 0 ? 1 : -1);
      }
    }
    if (pointers.size === 0) gesture = null;
  }
  frame.addEventListener("pointerup", endPointer);
  frame.addEventListener("pointercancel", endPointer);

  dialog.addEventListener("keydown", (event) => {
    if (TYPING.has(event.target.tagName)) return;
    if (event.key === "ArrowRight") {
      event.preventDefault();
      go(1);
    } else if (event.key === "ArrowLeft") {
      event.preventDefault();
      go(-1);
    } else if (event.key === "+" || event.key === "=") {
      zoomTo(zoom * 1.5);
    } else if (event.key === "-") {
      zoomTo(zoom / 1.5);
    } else if (event.key === "0") {
      resetZoom();
    }
  });

  // A click on the backdrop (the dialog element itself, outside its content) closes it.
  dialog.addEventListener("click", (event) => {
    if (event.target === dialog && mayLeave()) dialog.close();
  });

  prev.addEventListener("click", () => go(-1));
  next.addEventListener("click", () => go(1));
  $("[data-lb-close]", dialog).addEventListener("click", () => {
    if (mayLeave()) dialog.close();
  });
  // Escape: the dialog's cancel event, kept open when the edits are to stay.
  dialog.addEventListener("cancel", (event) => {
    if (!mayLeave()) event.preventDefault();
  });

  favorite.addEventListener("click", async () => {
    const image = current();
    const updated = await grid.setFavorite(image, !image.favorite);
    if (!grid.items.some((item) => item.id === updated.id)) {
      // Un-favourited in the favourites view: the photo left the list.
      if (grid.items.length === 0) dialog.close();
      else open(Math.min(index, grid.items.length - 1));
      return;
    }
    paintFavorite(updated);
  });

  editForm.addEventListener("submit", async (event) => {
    event.preventDefault();
    const image = current();
    const fields = editForm.elements;
    const body = {};
    const title = fields.title.value.trim();
    if (title !== image.title) body.title = title;
    const description = fields.description.value.trim();
    if (description !== ((image.metadata || {}).description || "")) body.description = description;
    // The input drops ":00" seconds; the API wants them.
    const typed = fields.taken_at.value.length === 16 ? `${fields.taken_at.value}:00` : fields.taken_at.value;
    if (typed && typed !== localInputValue(image)) {
      const taken = new Date(typed); // read in the browser's time zone
      if (Number.isNaN(taken.getTime())) {
        toast("That date is not valid", "error");
        return;
      }
      // A camera's wall-clock time stays one: sent without an offset, kept as written; one
      // at a known offset is typed (and sent) at that offset, so it keeps it.
      // Else the browser's offset goes with it, and is kept from then on.
      const offset = takenOffset(image);
      if (takenLocally(image)) body.taken_at = typed;
      else if (offset !== null) body.taken_at = `${typed}${offsetText(offset)}`;
      else body.taken_at = typedWithOffset(typed);
    }
    if (Object.keys(body).length === 0) {
      toast("Nothing changed");
      return;
    }
    try {
      const updated = await api(`/api/images/${image.id}`, { method: "PATCH", body });
      grid.update(updated);
      // A new date can move the photo along the timeline: keep showing it where it went.
      const at = grid.items.findIndex((item) => item.id === updated.id);
      if (at < 0) {
        dialog.close();
        toast("Saved: the photo moved to its new date, further down the timeline");
        return;
      }
      index = at;
      render();
      toast("Saved");
    } catch (error) {
      toast(errorMessage(error), "error");
    }
  });

  // The link's choices: what it shows, how many days it works, an optional password (sent
  // once in the body; the answer says only whether the link has one).
  shareForm.addEventListener("submit", async (event) => {
    event.preventDefault();
    const body = shareRequest(shareForm);
    shareButton.disabled = true;
    try {
      const share = await api(`/api/images/${current().id}/share`, { method: "POST", body });
      shareUrl.value = `${location.origin}/share/${encodeURIComponent(share.token)}`;
      $("[data-lb-share-expiry]", dialog).textContent = formatDate(share.expires_at);
      $("[data-lb-share-lock]", dialog).hidden = !share.password;
      shareForm.elements.password.value = "";
      shareResult.hidden = false;
      shareUrl.focus();
      shareUrl.select();
    } catch (error) {
      toast(errorMessage(error), "error");
    } finally {
      shareButton.disabled = false;
    }
  });

  $("[data-lb-copy]", dialog).addEventListener("click", async () => {
    try {
      await navigator.clipboard.writeText(shareUrl.value);
      toast("Link copied");
    } catch {
      shareUrl.select();
      toast("Press Ctrl+C to copy the selected link");
    }
  });

  /** The photo left this view (deleted or restored): show the next one, or close. */
  function leave(image, message) {
    grid.remove(image.id);
    toast(message);
    if (grid.items.length === 0) dialog.close();
    else open(Math.min(index, grid.items.length - 1));
  }

  restoreButton.addEventListener("click", async () => {
    const image = current();
    try {
      await api(`/api/images/${image.id}/restore`, { method: "POST" });
      leave(image, "Restored");
    } catch (error) {
      toast(errorMessage(error), "error");
    }
  });

  deleteButton.addEventListener("click", async () => {
    const image = current();
    // In the trash, Delete is for good; elsewhere it moves the photo to the trash.
    const question = image.trashed_at
      ? `Delete “${describe(image)}” for good?`
      : `Move “${describe(image)}” to the trash?`;
    if (!window.confirm(question)) return;
    try {
      const permanent = image.trashed_at ? "?permanent=true" : "";
      await api(`/api/images/${image.id}${permanent}`, { method: "DELETE" });
      leave(image, image.trashed_at ? "Photo deleted" : "Moved to the trash");
    } catch (error) {
      toast(errorMessage(error), "error");
    }
  });

  return { open, openId, close: () => dialog.close() };
}
