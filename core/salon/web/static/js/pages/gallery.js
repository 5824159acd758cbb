// Photos, Favorites and one album: the grid, the lightbox, and the selection toolbar.

import { api } from "../api.js";
import { createGrid } from "../grid.js";
import { createLightbox } from "../lightbox.js";
import { $, el, errorMessage, initChrome, toast } from "../ui.js";

initChrome();

const main = $("main");
const view = main.dataset.view;
const albumId = main.dataset.albumId;
const filters = view === "favorites" ? { favorite: "true" } : albumId ? { album_id: albumId } : {};
const toolbar = $("[data-toolbar]");
const albumSelect = $("[data-album-select]");
let lightbox = null;

const grid = createGrid({
  root: main,
  filters,
  onOpen: (index) => lightbox.open(index),
  onSelectionChange(ids) {
    toolbar.hidden = ids.length === 0;
    $("[data-selected-count]").textContent =
      ids.length === 1 ? "1 photo selected" : `${ids.length} photos selected`;
  },
});
lightbox = createLightbox($("[data-lightbox]"), grid);

main.addEventListener("grid:page", (event) => {
  const { count, done } = event.detail;
  $("[data-count]").textContent = `${count}${done ? "" : "+"} photo${count === 1 ? "" : "s"}`;
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
      albumSelect.append(el("option", { value: album.id, text: album.name }));
    }
  } catch (error) {
    toast(errorMessage(error), "error");
  }
}

$("[data-add-to-album]").addEventListener("click", async () => {
  const target = albumSelect.value;
  if (!target) {
    toast("Choose an album first (or create one on the Albums page).");
    albumSelect.focus();
    return;
  }
  const ids = [...grid.selected];
  try {
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

$("[data-make-video]").addEventListener("click", () => {
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

$("[data-clear-selection]").addEventListener("click", () => grid.clearSelection());

loadAlbums();
grid.loadMore();
