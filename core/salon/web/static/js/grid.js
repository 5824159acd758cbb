// The photo grid: keyset pages loaded as the sentinel nears the viewport, responsive renditions
// with a ThumbHash placeholder until they load, selection, and favourite toggles.

import { api } from "./api.js";
import { watchReady } from "./ready.js";
import { placeholderURL } from "./thumbhash.js";
import { describe, el, errorMessage, toast } from "./ui.js";

// The default sizes (SALON_RENDITIONS), for answers without `rendition_widths`.
const LONG_EDGE = { sm: 320, md: 1024, lg: 2048 };
const GRID_SIZES = "(max-width: 600px) 34vw, (max-width: 1200px) 25vw, 260px";
const STAR = "\u2605";

/** `srcset` candidates from the renditions: their widths as the server says (the sizes are
 * configuration), else worked out from the image's own size and the default sizes. */
export function srcsetOf(image) {
  const long = Math.max(image.width, image.height, 1);
  const known = image.rendition_widths || {};
  const seen = new Set();
  const parts = [];
  for (const [name, edge] of Object.entries(LONG_EDGE)) {
    const url = image.urls.renditions[name];
    if (!url) continue;
    const width = known[name] || Math.max(1, Math.round(image.width * Math.min(1, edge / long)));
    if (seen.has(width)) continue;
    seen.add(width);
    parts.push(`${url} ${width}w`);
  }
  return parts.join(", ");
}

/** The URL to use where no `srcset` applies. */
export function bestUrl(image, preferred = "md") {
  const r = image.urls.renditions;
  return r[preferred] || r.md || r.lg || r.sm || image.urls.original;
}

/** What a photo whose renditions are not made yet (or could not be) shows instead. */
export function statusText(image) {
  if (image.status === "processing") return "Processing…";
  if (image.status === "failed") return `Could not be processed: ${image.error || "unreadable"}`;
  return "";
}

/** Fill an <img> (inside `frame`) with an image's renditions and its placeholder; a photo
 * still processing gets a neutral box of its own shape, labelled, until it is ready. With
 * `moving`, an animated image shows the one rendition that moves (the others are stills of its
 * first frame), or its original when it has none. */
export function loadInto(img, frame, image, sizes, { moving = false } = {}) {
  frame.classList.remove("loaded");
  const placeholder = placeholderURL(image.placeholder);
  frame.style.backgroundImage = placeholder ? `url("${placeholder}")` : "";
  frame.dataset.status = image.status || "ready";
  frame.dataset.statusText = statusText(image);
  img.alt = describe(image);
  img.width = image.width;
  img.height = image.height;
  if (frame.dataset.status !== "ready") {
    img.removeAttribute("srcset");
    img.removeAttribute("src");
    return;
  }
  // The rendition that moves (made since s29), else the original, which only its owner gets.
  const animation = moving && image.metadata?.animated
    ? image.urls.renditions[image.metadata.animated_rendition] || image.urls.original
    : null;
  if (animation) {
    img.removeAttribute("srcset");
    img.src = animation;
  } else {
    img.sizes = sizes;
    img.srcset = srcsetOf(image);
    img.src = bestUrl(image);
  }
  if (img.complete && img.naturalWidth) frame.classList.add("loaded");
}

function pageSize() {
  const asked = Number(new URLSearchParams(location.search).get("limit"));
  return Number.isInteger(asked) && asked >= 1 && asked <= 200 ? asked : 30;
}

/** Tiles in one list, in the order placed (`next`: the photo the tile goes before). */
function plainLayout(list) {
  const byId = new Map();
  return {
    place(image, tile, next) {
      list.insertBefore(tile, (next && byId.get(next.id)) || null);
      byId.set(image.id, tile);
    },
    remove(id) {
      byId.get(id)?.remove();
      byId.delete(id);
    },
    reset() {
      byId.clear();
      list.replaceChildren();
    },
    settle() {},
  };
}

/**
 * Make a grid inside `root` (which holds [data-grid], [data-sentinel], [data-loading] and
 * [data-empty]). `mode` "browse" opens photos with `onOpen(index)`; "pick" toggles selection.
 * `layout(list)` makes what places the tiles (default: one list); with `sortsBefore(a, b)`
 * the grid keeps that order when photos are added or change (else new photos go first).
 */
export function createGrid({
  root,
  filters = {},
  mode = "browse",
  onOpen,
  onSelectionChange,
  layout: makeLayout = plainLayout,
  sortsBefore = null,
}) {
  const list = root.querySelector("[data-grid]");
  const layout = makeLayout(list);
  const sentinel = root.querySelector("[data-sentinel]");
  const loading = root.querySelector("[data-loading]");
  const empty = root.querySelector("[data-empty]");
  const items = [];
  const tiles = new Map();
  const selected = new Set();
  const listeners = [];
  let lastClicked = null;
  let cursor = null;
  let done = false;
  let busy = null;
  // Photos above the first one loaded (after a jump into the middle of the listing).
  let skipped = 0;

  // Photos answered before their renditions existed are swapped in once ready (../ready.js).
  function watch(image) {
    watchReady(image, (fresh) => (fresh ? update(fresh) : remove(image.id)));
  }

  function selectionChanged() {
    for (const [id, tile] of tiles) {
      const on = selected.has(id);
      tile.classList.toggle("selected", on);
      const check = tile.querySelector(".tile-check");
      if (check) check.checked = on;
      const pick = tile.querySelector(".tile-pick");
      if (pick) pick.setAttribute("aria-pressed", String(on));
      const order = tile.querySelector(".tile-order");
      if (order) order.textContent = on ? String([...selected].indexOf(id) + 1) : "";
    }
    if (onSelectionChange) onSelectionChange([...selected]);
  }

  function toggle(id, on = !selected.has(id)) {
    if (on) selected.add(id);
    else selected.delete(id);
    selectionChanged();
  }

  async function setFavorite(image, value) {
    try {
      const updated = await api(`/api/images/${image.id}/favorite`, {
        method: value ? "PUT" : "DELETE",
      });
      update(updated);
      toast(value ? "Added to favorites" : "Removed from favorites");
      if (!value && filters.favorite) remove(image.id);
      return updated;
    } catch (error) {
      toast(errorMessage(error), "error");
      return image;
    }
  }

  function favButton(image) {
    const button = el("button", { type: "button", class: "tile-fav", text: STAR });
    button.addEventListener("click", () => {
      const current = items.find((item) => item.id === image.id) || image;
      setFavorite(current, !current.favorite);
    });
    return button;
  }

  /** The tile's own button is named after the photo: its image alone gives no name while
   * the photo is processing (hidden), and screen readers need one to say what opens. */
  function paintName(tile, image) {
    const open = tile.querySelector(".tile-open");
    if (open) open.setAttribute("aria-label", `Open ${describe(image)}`);
    const pick = tile.querySelector(".tile-pick");
    if (pick) pick.setAttribute("aria-label", describe(image));
  }

  function paintFavorite(tile, image) {
    const button = tile.querySelector(".tile-fav");
    if (!button) return;
    button.setAttribute("aria-pressed", String(image.favorite));
    const label = `${image.favorite ? "Remove from" : "Add to"} favorites: ${describe(image)}`;
    button.setAttribute("aria-label", label);
    button.title = label;
  }

  function makeTile(image) {
    const img = el("img", { class: "tile-img", loading: "lazy", decoding: "async" });
    const frame = el("span", { class: "tile-frame" }, [img]);
    img.addEventListener("load", () => frame.classList.add("loaded"));
    img.addEventListener("error", () => frame.classList.add("failed"));
    const tile = el("li", { class: "tile", "data-id": image.id });
    loadInto(img, frame, image, GRID_SIZES);
    if (mode === "pick") {
      const pick = el("button", { type: "button", class: "tile-pick", "aria-pressed": "false" }, [
        frame,
        el("span", { class: "tile-order", "aria-hidden": "true" }),
      ]);
      pick.addEventListener("click", () => toggle(image.id));
      tile.append(pick);
    } else {
      const open = el("button", { type: "button", class: "tile-open" }, [frame]);
      open.addEventListener("click", () => onOpen?.(items.findIndex((i) => i.id === image.id)));
      const check = el("input", {
        type: "checkbox",
        class: "tile-check",
        "aria-label": `Select ${describe(image)}`,
      });
      // Shift-click selects the range from the last photo clicked to this one, as in a file
      // manager; a plain click toggles one.
      check.addEventListener("click", (event) => {
        const index = items.findIndex((i) => i.id === image.id);
        const anchor = lastClicked === null ? -1 : items.findIndex((i) => i.id === lastClicked);
        lastClicked = image.id;
        if (!event.shiftKey || anchor < 0 || anchor === index) return;
        const [from, to] = anchor < index ? [anchor, index] : [index, anchor];
        for (const item of items.slice(from, to + 1)) {
          if (check.checked) selected.add(item.id);
          else selected.delete(item.id);
        }
        selectionChanged();
      });
      check.addEventListener("change", () => toggle(image.id, check.checked));
      tile.append(open, check);
      // A photo in the trash is not favoured (its star would say "Added" to no effect).
      if (!image.trashed_at) tile.append(favButton(image));
    }
    paintFavorite(tile, image);
    paintName(tile, image);
    tiles.set(image.id, tile);
    return tile;
  }

  function update(image) {
    const index = items.findIndex((item) => item.id === image.id);
    const before = index >= 0 ? items[index] : null;
    if (index >= 0) items[index] = image;
    if (before && sortsBefore && moved(before, image)) {
      // A new date moves the photo along the timeline (or out of what is loaded).
      items.splice(index, 1);
      layout.remove(image.id);
      if (!place(image, tiles.get(image.id))) forget(image.id);
      layout.settle();
      announce();
    }
    const tile = tiles.get(image.id);
    if (tile) {
      paintFavorite(tile, image);
      const img = tile.querySelector(".tile-img");
      if (before && before.status !== image.status) {
        loadInto(img, tile.querySelector(".tile-frame"), image, tile.dataset.sizes || GRID_SIZES);
      }
      img.alt = describe(image);
      paintName(tile, image);
    }
    watch(image);
    for (const listener of listeners) listener(image);
  }

  function moved(was, now) {
    return sortsBefore(was, now) || sortsBefore(now, was);
  }

  /** Where `image` goes in `items`: first without an order, else by it; -1 when that is
   * outside what is loaded (its page, or the part above a jump, shows it when loaded). */
  function position(image) {
    if (!sortsBefore) return 0;
    const at = items.findIndex((item) => sortsBefore(image, item));
    if (at === 0 && skipped > 0) return -1;
    if (at < 0) return done ? items.length : -1;
    return at;
  }

  /** Put `image` (its `tile`) where it belongs; false when it does not show yet. */
  function place(image, tile) {
    const at = position(image);
    if (at < 0) return false;
    items.splice(at, 0, image);
    layout.place(image, tile, items[at + 1] || null);
    return true;
  }

  function forget(id) {
    tiles.delete(id);
    selected.delete(id);
    selectionChanged();
  }

  function announce() {
    const detail = { count: items.length, done, skipped };
    root.dispatchEvent(new CustomEvent("grid:page", { detail }));
  }

  /** Put a photo just uploaded on this page where a fresh listing would show it. */
  function prepend(image) {
    if (tiles.has(image.id)) return;
    const tile = makeTile(image);
    if (!place(image, tile)) {
      tiles.delete(image.id);
      return;
    }
    layout.settle();
    watch(image);
    empty.hidden = true;
    announce();
  }

  function remove(id) {
    const index = items.findIndex((item) => item.id === id);
    if (index >= 0) items.splice(index, 1);
    layout.remove(id);
    layout.settle();
    forget(id);
    empty.hidden = items.length > 0 || !done;
    // The page's photo count follows what is shown, not only what a page load brought.
    if (index >= 0) announce();
  }

  async function fetchPage() {
    const params = new URLSearchParams({ limit: String(pageSize()) });
    for (const [key, value] of Object.entries(filters)) if (value) params.set(key, String(value));
    if (cursor) params.set("cursor", cursor);
    loading.textContent = "Loading photos…";
    try {
      const page = await api(`/api/images?${params}`);
      for (const image of page.items) {
        if (tiles.has(image.id)) continue;
        items.push(image);
        layout.place(image, makeTile(image), null);
        watch(image);
      }
      layout.settle();
      cursor = page.next_cursor;
      done = !cursor;
      loading.textContent = "";
      empty.hidden = items.length > 0 || !done;
      announce();
    } catch (error) {
      loading.textContent = `Could not load photos: ${errorMessage(error)}`;
      done = true;
    }
  }

  /** Load the next page (one at a time); resolves when it is in the grid. */
  function loadMore() {
    if (done) return Promise.resolve();
    if (!busy) {
      busy = fetchPage().finally(() => {
        busy = null;
        // Observe again so a sentinel that is still on screen fires once more.
        if (!done) {
          observer.unobserve(sentinel);
          observer.observe(sentinel);
        } else {
          observer.disconnect();
        }
      });
    }
    return busy;
  }

  const observer = new IntersectionObserver(
    (entries) => {
      if (entries.some((entry) => entry.isIntersecting)) loadMore();
    },
    { rootMargin: "600px 0px" },
  );
  observer.observe(sentinel);

  /** Start again from `start` (a cursor; null: the top), `above` photos lying above it. */
  async function jump(start, above = 0) {
    await busy;
    items.length = 0;
    tiles.clear();
    layout.reset();
    selected.clear();
    selectionChanged();
    cursor = start;
    skipped = start ? above : 0;
    done = false;
    observer.observe(sentinel);
    await loadMore();
  }

  return {
    items,
    selected,
    loadMore,
    jump,
    hasMore: () => !done,
    update,
    /** Call `listener(image)` whenever a photo in the grid changes (renamed, now ready...). */
    onUpdate: (listener) => listeners.push(listener),
    remove,
    prepend,
    toggle,
    tile: (id) => tiles.get(id),
    setFavorite,
    clearSelection() {
      selected.clear();
      selectionChanged();
    },
    selectAll() {
      for (const image of items) selected.add(image.id);
      selectionChanged();
    },
  };
}
