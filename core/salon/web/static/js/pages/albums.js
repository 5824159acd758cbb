// Albums: create one, list them with their photo counts, open one.

import { api } from "../api.js";
import { $, el, errorMessage, formatDate, initChrome, showError, toast } from "../ui.js";
import { enablePageDrop } from "../uploads.js";

initChrome();
// Photos dropped on the albums list go to the library (no album is chosen here).
enablePageDrop();

const form = $("[data-album-form]");
const list = $("[data-album-list]");
const error = $("[data-form-error]");

function albumItem(album) {
  const count = `${album.image_count} photo${album.image_count === 1 ? "" : "s"}`;
  return el("li", { class: "album", "data-album-id": album.id }, [
    el("a", { href: `/albums/${album.id}`, class: "album-link" }, [
      el("span", { class: "album-name", text: album.name }),
      el("span", { class: "album-meta", text: `${count} · created ${formatDate(album.created_at, false)}` }),
    ]),
  ]);
}

async function load() {
  try {
    const albums = await api("/api/albums");
    list.replaceChildren(...albums.map(albumItem));
    $("[data-empty]").hidden = albums.length > 0;
  } catch (failure) {
    showError(error, errorMessage(failure));
  }
}

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  const name = form.elements.name.value.trim();
  if (!name) {
    showError(error, "Give the album a name.");
    form.elements.name.focus();
    return;
  }
  showError(error, "");
  try {
    const album = await api("/api/albums", { method: "POST", body: { name } });
    list.prepend(albumItem(album));
    $("[data-empty]").hidden = true;
    form.reset();
    toast(`Album “${album.name}” created`);
  } catch (failure) {
    showError(error, errorMessage(failure));
  }
});

load();
