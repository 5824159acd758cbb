// Albums: create one, list them with their cover and photo count, open one; and the albums
// other users shared with this one (read-only).

import { api } from "../api.js";
import { $, el, errorMessage, formatDate, initChrome, showError, toast } from "../ui.js";
import { enablePageDrop } from "../uploads.js";

initChrome();
// Photos dropped on the albums list go to the library (no album is chosen here).
enablePageDrop();

const form = $("[data-album-form]");
const list = $("[data-album-list]");
const error = $("[data-form-error]");

function cover(url) {
  if (!url) return el("span", { class: "album-cover empty" });
  return el("img", { class: "album-cover", src: url, alt: "", loading: "lazy" });
}

function albumItem(album) {
  const count = `${album.image_count} photo${album.image_count === 1 ? "" : "s"}`;
  const coverUrl = album.cover_id ? `/api/images/${album.cover_id}/renditions/sm` : "";
  return el("li", { class: "album", "data-album-id": album.id }, [
    el("a", { href: `/albums/${album.id}`, class: "album-link" }, [
      cover(coverUrl),
      el("span", { class: "album-name", text: album.name }),
      el("span", { class: "album-meta", text: `${count} · created ${formatDate(album.created_at, false)}` }),
    ]),
  ]);
}

function sharedItem(album) {
  const count = `${album.image_count} photo${album.image_count === 1 ? "" : "s"}`;
  const coverUrl = album.cover_id
    ? `/api/albums/shared/${album.id}/images/${album.cover_id}/renditions/sm`
    : "";
  return el("li", { class: "album", "data-shared-album-id": album.id }, [
    el("a", { href: `/albums/shared/${album.id}`, class: "album-link" }, [
      cover(coverUrl),
      el("span", { class: "album-name", text: album.name }),
      el("span", { class: "album-meta", text: `${count} · shared by ${album.owner_email || "another user"}` }),
    ]),
  ]);
}

async function load() {
  try {
    const [albums, shared] = await Promise.all([api("/api/albums"), api("/api/albums/shared")]);
    list.replaceChildren(...albums.map(albumItem));
    $("[data-empty]").hidden = albums.length > 0;
    $("[data-shared-list]").replaceChildren(...shared.map(sharedItem));
    $("[data-shared-section]").hidden = shared.length === 0;
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
