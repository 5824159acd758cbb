// "Jump to month" on the timeline: the months that hold photos (`GET /api/images/months`, with
// the page's search), each jumping to its first photo. A month already on the page is
// scrolled to; another starts the timeline at its cursor, with "Back to the newest" above.

import { monthLabel } from "./timeline.js";

/** Wire the page's [data-jump] form (if any) to `grid`; its `showMonths(body)` lists them. */
export function setupJump(root, grid) {
  const form = root.querySelector("[data-jump]");
  if (!form) return null;
  const select = form.querySelector("[data-jump-month]");
  const newest = form.querySelector("[data-jump-newest]");
  const months = new Map();
  let shown = "";

  /** Show the months of a `GET /api/images/months` answer (../months.js reads them). */
  function showMonths(body) {
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

  return { showMonths };
}
