// The lightbox: a modal <dialog> (focus stays inside, Esc closes) showing one photo at a time,
// with arrow-key navigation, details, favourite, rename, share and delete.

import { api } from "./api.js";
import { loadInto } from "./grid.js";
import { $, describe, errorMessage, formatBytes, formatDate, toast } from "./ui.js";

const SIZES = "(max-width: 900px) 100vw, 70vw";
const TYPING = new Set(["INPUT", "TEXTAREA", "SELECT"]);

/** Attach the lightbox in `dialog` to a grid made by `createGrid`. */
export function createLightbox(dialog, grid) {
  const img = $("[data-lb-img]", dialog);
  const frame = $(".lightbox-figure", dialog);
  const favorite = $("[data-lb-favorite]", dialog);
  const shareButton = $("[data-lb-share]", dialog);
  const shareResult = $("[data-lb-share-result]", dialog);
  const shareUrl = $("[data-lb-share-url]", dialog);
  const renameForm = $("[data-lb-rename]", dialog);
  const prev = $("[data-lb-prev]", dialog);
  const next = $("[data-lb-next]", dialog);
  let index = -1;

  img.addEventListener("load", () => frame.classList.add("loaded"));
  // A photo that was still processing when shown gets its renditions in place when ready.
  grid.onUpdate((image) => {
    if (dialog.open && current()?.id === image.id) render();
  });

  const current = () => grid.items[index];

  function render() {
    const image = current();
    if (!image) return;
    loadInto(img, frame, image, SIZES);
    $("[data-lb-title]", dialog).textContent = describe(image);
    $("[data-lb-position]", dialog).textContent =
      `Photo ${index + 1} of ${grid.items.length}${grid.hasMore() ? "+" : ""}`;
    $("[data-lb-taken]", dialog).textContent = image.taken_at
      ? formatDate(image.taken_at)
      : "Unknown (no EXIF date)";
    $("[data-lb-created]", dialog).textContent = formatDate(image.created_at);
    $("[data-lb-dims]", dialog).textContent = `${image.width} × ${image.height} px`;
    $("[data-lb-size]", dialog).textContent = formatBytes(image.size);
    $("[data-lb-type]", dialog).textContent = image.content_type;
    $("[data-lb-original]", dialog).href = image.urls.original;
    renameForm.elements.title.value = image.title;
    paintFavorite(image);
    shareResult.hidden = true;
    prev.disabled = index === 0;
    next.disabled = index >= grid.items.length - 1 && !grid.hasMore();
  }

  function paintFavorite(image) {
    favorite.setAttribute("aria-pressed", String(image.favorite));
    favorite.textContent = image.favorite ? "\u2605 Favorite" : "\u2606 Favorite";
  }

  async function go(step) {
    let target = index + step;
    if (target >= grid.items.length && grid.hasMore()) await grid.loadMore();
    target = Math.max(0, Math.min(grid.items.length - 1, target));
    if (target === index) return;
    index = target;
    render();
  }

  function open(at) {
    if (at < 0 || at >= grid.items.length) return;
    index = at;
    render();
    if (!dialog.open) dialog.showModal();
    $("[data-lb-close]", dialog).focus();
  }

  dialog.addEventListener("close", () => {
    // Focus goes back to the tile of the photo last shown, not the one first opened.
    const tile = current() && grid.tile(current().id);
    tile?.querySelector(".tile-open")?.focus();
    tile?.scrollIntoView({ block: "nearest" });
  });

  dialog.addEventListener("keydown", (event) => {
    if (TYPING.has(event.target.tagName)) return;
    if (event.key === "ArrowRight") {
      event.preventDefault();
      go(1);
    } else if (event.key === "ArrowLeft") {
      event.preventDefault();
      go(-1);
    }
  });

  // A click on the backdrop (the dialog element itself, outside its content) closes it.
  dialog.addEventListener("click", (event) => {
    if (event.target === dialog) dialog.close();
  });

  prev.addEventListener("click", () => go(-1));
  next.addEventListener("click", () => go(1));
  $("[data-lb-close]", dialog).addEventListener("click", () => dialog.close());

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

  renameForm.addEventListener("submit", async (event) => {
    event.preventDefault();
    const title = renameForm.elements.title.value.trim();
    try {
      const updated = await api(`/api/images/${current().id}`, {
        method: "PATCH",
        body: { title },
      });
      grid.update(updated);
      render();
      toast("Title saved");
    } catch (error) {
      toast(errorMessage(error), "error");
    }
  });

  shareButton.addEventListener("click", async () => {
    try {
      const show = [...dialog.querySelectorAll("[data-lb-share-options] input:checked")].map(
        (box) => box.value,
      );
      const share = await api(`/api/images/${current().id}/share`, { method: "POST", body: { show } });
      shareUrl.value = `${location.origin}/share/${encodeURIComponent(share.token)}`;
      $("[data-lb-share-expiry]", dialog).textContent = formatDate(share.expires_at);
      shareResult.hidden = false;
      shareUrl.focus();
      shareUrl.select();
    } catch (error) {
      toast(errorMessage(error), "error");
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

  $("[data-lb-delete]", dialog).addEventListener("click", async () => {
    const image = current();
    // In the trash, Delete is for good; elsewhere it moves the photo to the trash.
    const question = image.trashed_at
      ? `Delete “${describe(image)}” for good?`
      : `Move “${describe(image)}” to the trash?`;
    if (!window.confirm(question)) return;
    try {
      const permanent = image.trashed_at ? "?permanent=true" : "";
      await api(`/api/images/${image.id}${permanent}`, { method: "DELETE" });
      grid.remove(image.id);
      toast(image.trashed_at ? "Photo deleted" : "Moved to the trash");
      if (grid.items.length === 0) dialog.close();
      else open(Math.min(index, grid.items.length - 1));
    } catch (error) {
      toast(errorMessage(error), "error");
    }
  });

  return { open, close: () => dialog.close() };
}
