// One album's own settings on its page: rename, cover (from the grid's selection), share by
// link (expiry, what it shows, optional password), share with other users, delete.

import { api } from "./api.js";
import { shareRequest } from "./share_link.js";
import { $, el, errorMessage, formatDate, showError, toast } from "./ui.js";

export function initAlbumTools({ albumId, grid, onRenamed }) {
  const tools = document.querySelector("[data-album-tools]");
  if (!tools) return;
  const error = $("[data-album-tools-error]", tools);
  const fail = (failure) => showError(error, errorMessage(failure));

  const renameForm = $("[data-rename-form]", tools);
  api(`/api/albums/${albumId}`)
    .then((album) => {
      renameForm.elements.name.value = album.name;
    })
    .catch(fail);
  renameForm.addEventListener("submit", async (event) => {
    event.preventDefault();
    try {
      const album = await api(`/api/albums/${albumId}`, {
        method: "PATCH",
        body: { name: renameForm.elements.name.value },
      });
      renameForm.elements.name.value = album.name;
      onRenamed(album.name);
      showError(error, "");
      toast(`Renamed to “${album.name}”`);
    } catch (failure) {
      fail(failure);
    }
  });

  document.querySelector("[data-set-cover]")?.addEventListener("click", async () => {
    const ids = [...grid.selected];
    if (ids.length !== 1) {
      toast("Select exactly one photo to use as the cover.");
      return;
    }
    try {
      await api(`/api/albums/${albumId}`, { method: "PATCH", body: { cover_image_id: ids[0] } });
      grid.clearSelection();
      toast("Cover chosen");
    } catch (failure) {
      toast(errorMessage(failure), "error");
    }
  });

  const shareForm = $("[data-album-share-form]", tools);
  shareForm.addEventListener("submit", async (event) => {
    event.preventDefault();
    const body = shareRequest(shareForm);
    try {
      const link = await api(`/api/albums/${albumId}/share`, { method: "POST", body });
      const url = $("[data-album-share-url]", tools);
      url.value = `${location.origin}/share/album/${encodeURIComponent(link.token)}`;
      $("[data-album-share-expiry]", tools).textContent = formatDate(link.expires_at);
      $("[data-album-share-result]", tools).hidden = false;
      shareForm.elements.password.value = "";
      showError(error, "");
      url.focus();
      url.select();
      toast(link.password ? "Link made (with a password)" : "Link made");
    } catch (failure) {
      fail(failure);
    }
  });

  const memberForm = $("[data-member-form]", tools);
  const memberList = $("[data-member-list]", tools);

  function memberItem(member) {
    const unshare = el("button", { type: "button", class: "button danger", text: "Unshare" });
    unshare.addEventListener("click", async () => {
      unshare.disabled = true;
      try {
        await api(`/api/albums/${albumId}/members/${member.user_id}`, { method: "DELETE" });
        toast(`No longer shared with ${member.email}`);
        await loadMembers();
      } catch (failure) {
        fail(failure);
        unshare.disabled = false;
      }
    });
    return el("li", { class: "share-item", "data-member-id": member.user_id }, [
      el("span", { class: "share-name", text: member.email || member.user_id }),
      el("span", { class: "hint", text: `since ${formatDate(member.added_at)}` }),
      unshare,
    ]);
  }

  async function loadMembers() {
    try {
      const members = await api(`/api/albums/${albumId}/members`);
      memberList.replaceChildren(...members.map(memberItem));
    } catch (failure) {
      fail(failure);
    }
  }

  memberForm.addEventListener("submit", async (event) => {
    event.preventDefault();
    const email = memberForm.elements.email.value.trim();
    try {
      await api(`/api/albums/${albumId}/members`, { method: "POST", body: { email } });
      memberForm.reset();
      showError(error, "");
      toast(`Shared with ${email}`);
      await loadMembers();
    } catch (failure) {
      fail(failure);
    }
  });

  $("[data-delete-album]", tools).addEventListener("click", async () => {
    if (!window.confirm("Delete this album? Its photos stay in your library; its links stop.")) return;
    try {
      await api(`/api/albums/${albumId}`, { method: "DELETE" });
      location.assign("/albums");
    } catch (failure) {
      fail(failure);
    }
  });

  loadMembers();
}
