// Photos, Favorites and one album: the grid, the lightbox, and the selection toolbar.

import { initAlbumTools } from "../album_tools.js";
import { api } from "../api.js";
import { wireBulkDates } from "../bulk_dates.js";
import { downloadSelection, initAlbumDownloads } from "../downloads.js";
import { createGrid } from "../grid.js";
import { createLightbox, photoInAddress } from "../lightbox.js";
import { followMonths } from "../months.js";
import { setupSearch } from "../search.js";
import { createTimelineLayout, sortsBefore } from "../timeline.js";
import { setupJump } from "../timeline_jump.js";
import { $, el, errorMessage, initChrome, toast } from "../ui.js";
import { enablePageDrop } from "../uploads.js";

initChrome();

const main = $("main");
const view = main.dataset.view;
const albumId = main.dataset.albumId;
const filters = {
  ...(view === "favorites"
    ? { favorite: "true" }
    : view === "trash"
      ? { trashed: "true" }
      : albumId
        ? { album_id: albumId }
        : {}),
  ...setupSearch(main),
};
// The Photos page is the timeline: by date taken, under date headings, in justified rows.
const timeline = view === "";
const toolbar = $("[data-toolbar]");
const albumSelect = document.querySelector("[data-album-select]");
let lightbox = null;

const grid = createGrid({
  root: main,
  filters: timeline ? { ...filters, order: "taken" } : filters,
  ...(timeline ? { layout: createTimelineLayout, sortsBefore } : {}),
  onOpen: (index) => lightbox.open(index),
  onSelectionChange(ids) {
    toolbar.hidden = ids.length === 0;
    $("[data-selected-count]").textContent =
      ids.length === 1 ? "1 photo selected" : `${ids.length} photos selected`;
  },
});
// The whole count under these filters (GET /api/images/months), null until first read.
let total = null;
let loaded = { count: 0, done: false };
lightbox = createLightbox($("[data-lightbox]"), grid, { total: () => total });
wireBulkDates(grid);

function paintCount() {
  const { count, done } = loaded;
  // All loaded: what the grid holds. Else the library's total (the larger while a fresh
  // upload is ahead of it), or "N+" until that is known.
  const shown = done ? count : total === null ? `${count}+` : Math.max(total, count);
  $("[data-count]").textContent = `${shown} photo${shown === 1 ? "" : "s"}`;
}

main.addEventListener("grid:page", (event) => {
  loaded = { count: event.detail.count + event.detail.skipped, done: event.detail.done };
  paintCount();
});
const jump = timeline ? setupJump(main, grid) : null;
followMonths(main, filters, (body) => {
  total = body.total;
  paintCount();
  jump?.showMonths(body);
});

async function loadAlbums() {
  try {
    const albums = await api("/api/albums");
    for (const album of albums) {
      if (album.id === albumId) {
        $("[data-page-title]").textContent = album.name;
        document.title = `${album.name} · Salon`;
        continue;
      }
      // Above "New album…", which stays last.
      albumSelect?.lastElementChild.before(el("option", { value: album.id, text: album.name }));
    }
  } catch (error) {
    toast(errorMessage(error), "error");
  }
}

/** "New album…": ask for a name and create it (its option is added, chosen); null: cancelled. */
async function newAlbum() {
  const name = window.prompt("Name of the new album")?.trim();
  if (!name) return null;
  const album = await api("/api/albums", { method: "POST", body: { name } });
  const option = el("option", { value: album.id, text: album.name });
  albumSelect.lastElementChild.before(option);
  albumSelect.value = album.id;
  return album.id;
}

document.querySelector("[data-add-to-album]")?.addEventListener("click", async () => {
  if (!albumSelect.value) {
    toast("Choose an album first (or “New album…”).");
    albumSelect.focus();
    return;
  }
  const ids = [...grid.selected];
  try {
    const target = albumSelect.value === "new" ? await newAlbum() : albumSelect.value;
    if (!target) return;
    const album = await api(`/api/albums/${target}/images`, {
      method: "POST",
      body: { image_ids: ids },
    });
    toast(`Added ${ids.length} to “${album.name}” (${album.image_count} in all)`);
    grid.clearSelection();
  } catch (error) {
    toast(errorMessage(error), "error");
  }
});

document.querySelector("[data-make-video]")?.addEventListener("click", () => {
  sessionStorage.setItem("salon.video.selection", JSON.stringify([...grid.selected]));
  location.assign("/video");
});

const removeButton = document.querySelector("[data-remove-from-album]");
removeButton?.addEventListener("click", async () => {
  const ids = [...grid.selected];
  try {
    for (const id of ids) {
      await api(`/api/albums/${albumId}/images/${id}`, { method: "DELETE" });
      grid.remove(id);
    }
    toast(`Removed ${ids.length} from the album`);
  } catch (error) {
    toast(errorMessage(error), "error");
  }
});

// Trash, restore, delete for good, favorite: one request for the whole selection.
const DONE = {
  trash: (n) => `Moved ${n} to the trash`,
  restore: (n) => `Restored ${n}`,
  delete: (n) => `Deleted ${n} for good`,
  favorite: (n) => `Added ${n} to favorites`,
};
for (const button of document.querySelectorAll("[data-bulk]")) {
  button.addEventListener("click", async () => {
    const action = button.dataset.bulk;
    const ids = [...grid.selected];
    if (action === "delete" && !window.confirm(`Delete ${ids.length} photo(s) for good?`)) return;
    try {
      const result = await api("/api/images/bulk", {
        method: "POST",
        body: { action, image_ids: ids },
      });
      if (action === "favorite") {
        for (const id of ids) {
          const image = grid.items.find((item) => item.id === id);
          if (image) grid.update({ ...image, favorite: true });
        }
        grid.clearSelection();
      } else {
        for (const id of ids) grid.remove(id);
      }
      toast(DONE[action](result.count));
    } catch (error) {
      toast(errorMessage(error), "error");
    }
  });
}

document.querySelector("[data-empty-trash]")?.addEventListener("click", async () => {
  if (!window.confirm("Delete every photo in the trash for good?")) return;
  try {
    const result = await api("/api/images/trash", { method: "DELETE" });
    for (const image of [...grid.items]) grid.remove(image.id);
    toast(`Deleted ${result.count} for good`);
  } catch (error) {
    toast(errorMessage(error), "error");
  }
});

$("[data-clear-selection]").addEventListener("click", () => grid.clearSelection());

// Photos dropped on the page are uploaded (on an album page, into the album) and, where the
// grid would list them, shown first.
if (view !== "trash") {
  const listsNew = Object.entries(filters).every(([key, value]) => key === "album_id" || !value);
  enablePageDrop({ albumId, onUploaded: (image) => listsNew && grid.prepend(image) });
}

document
  .querySelector("[data-download-selection]")
  ?.addEventListener("click", () => downloadSelection([...grid.selected]));
initAlbumDownloads();

if (albumId) {
  initAlbumTools({
    albumId,
    grid,
    onRenamed(name) {
      $("[data-page-title]").textContent = name;
      document.title = `${name} · Salon`;
    },
  });
}

loadAlbums();
// A reload (or an address shared) with ?photo=<id> opens that photo again.
grid.loadMore().then(() => photoInAddress() && lightbox.openId(photoInAddress()));
