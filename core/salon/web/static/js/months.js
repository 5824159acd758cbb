// The months of the photos a page lists (`GET /api/images/months` with the page's filters),
// read at start and again a moment after the grid changes (uploads, trash, new dates; the
// server answers from its cache while nothing did). Its `total` is the whole count, which the
// header and the lightbox show before every page is loaded.

import { api } from "./api.js";
import { errorMessage, toast } from "./ui.js";

/** Call `listener(body)` with each answer (`{months, total}`) for `filters` on `root`. */
export function followMonths(root, filters, listener) {
  let timer = 0;
  async function load() {
    const params = new URLSearchParams();
    for (const [key, value] of Object.entries(filters)) if (value) params.set(key, String(value));
    try {
      listener(await api(`/api/images/months?${params}`));
    } catch (error) {
      toast(errorMessage(error), "error");
    }
  }
  root.addEventListener("grid:page", () => {
    clearTimeout(timer);
    timer = setTimeout(load, 800);
  });
  load();
}
