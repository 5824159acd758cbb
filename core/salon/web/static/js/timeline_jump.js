// "Jump to month" on the timeline: the months that hold photos (`GET /api/images/months`, with
// the page's search), each jumping to its first photo. A month already on the page is
// scrolled to; another starts the timeline at its cursor, with "Back to the newest" above.

import { api } from "./api.js";
import { monthLabel } from "./timeline.js";
import { errorMessage, toast } from "./ui.js";

/** Wire the page's [data-jump] form (if any) to `grid`, listing months under `filters`. */
export function setupJump(root, grid, filters) {
  const form = root.querySelector("[data-jump]");
  if (!form) return;
  const select = form.querySelector("[data-jump-month]");
  const newest = form.querySelector("[data-jump-newest]");
  const months = new Map();
  let shown = "";
  let timer = 0;

  async function loadMonths() {
    const params = new URLSearchParams();
    for (const [key, value] of Object.entries(filters)) if (value) params.set(key, String(value));
    try {
      const body = await api(`/api/images/months?${params}`);
      const seen = JSON.stringify(body.months);
      if (seen === shown) return; // leave an open list alone when nothing changed
      shown = seen;
      const chosen = select.value;
      months.clear();
      select.replaceChildren();
      let above = 0;
      for (const { month, count, cursor } of body.months) {
        months.set(month, { cursor, above });
        above += count;
        const label = `${monthLabel(month)} (${count} photo${count === 1 ? "" : "s"})`;
        select.append(new Option(label, month, false, month === chosen));
      }
      form.hidden = body.months.length < 2 && newest.hidden;
    } catch (error) {
      toast(errorMessage(error), "error");
    }
  }

  function showHeading(month) {
    const heading = root.querySelector(`#month-${CSS.escape(month)}`);
    if (!heading) return false;
    heading.scrollIntoView({ block: "start" });
    heading.focus({ preventScroll: true });
    return true;
  }

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const month = select.value;
    const target = months.get(month);
    if (!target || showHeading(month)) return;
    await grid.jump(target.cursor, target.above);
    newest.hidden = target.above === 0;
    showHeading(month);
  });

  newest.addEventListener("click", async () => {
    await grid.jump(null);
    newest.hidden = true;
    window.scrollTo({ top: 0 });
    select.focus();
  });

  // Counts change as photos come and go (uploads, trash, new dates): read them again a moment
  // after the grid changes (the server answers from its cache while nothing did).
  root.addEventListener("grid:page", () => {
    clearTimeout(timer);
    timer = setTimeout(loadMonths, 800);
  });
  loadMonths();
}
