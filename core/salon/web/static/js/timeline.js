// The Photos page's timeline: photos by date taken (upload time when unknown) under month and
// day headings, each day's photos in justified rows that keep their shape, and the months
// list that jumps to any month (`GET /api/images/months` gives each one's cursor). Days and
// months are UTC, as the API's months, order and month filter are, so "Jump to month" and the
// headings always agree (a photo taken at 00:30 on 1 January at +01:00 is a December one in
// both); a camera's wall-clock time (no offset) is stored as written, so it counts on the day
// the camera shows. Captions still show the camera's local time.

import { justifyRows, tileAspect } from "./justify.js";
import { el } from "./ui.js";

const PHONE = 600;

/** When a photo sits on the timeline, in ms (taken, else uploaded). */
export function takenMs(image) {
  return Date.parse(image.taken_at || image.created_at);
}

/** Whether `a` comes before `b` on the timeline (newest first, then by id, as the API). */
export function sortsBefore(a, b) {
  const [ta, tb] = [takenMs(a), takenMs(b)];
  return ta !== tb ? ta > tb : a.id > b.id;
}

/** A photo's day: its UTC day, the day the server's months and order count it on. */
const dayOf = (image) => new Date(takenMs(image)).toISOString().slice(0, 10);

/** "March 2024" for "2024-03". */
export function monthLabel(month) {
  const [year, number] = month.split("-").map(Number);
  const date = new Date(Date.UTC(year, number - 1, 1));
  return date.toLocaleDateString(undefined, { month: "long", year: "numeric", timeZone: "UTC" });
}

function dayLabel(day) {
  const date = new Date(`${day}T00:00:00Z`);
  const options = { weekday: "long", day: "numeric", month: "long", timeZone: "UTC" };
  return date.toLocaleDateString(undefined, options);
}

/**
 * The layout `createGrid` places tiles with, grouping them in `root` by month and day. Tiles
 * are placed in timeline order: `next` is the photo after `image` (null: none loaded yet).
 */
export function createTimelineLayout(root) {
  const dayOfTile = new Map();
  const dirty = new Set();
  let width = 0;

  function monthSection(month, beforeMonth) {
    let section = root.querySelector(`[data-month="${month}"]`);
    if (section) return section;
    // A plain group, not a <section>: a landmark per month would crowd the landmarks list;
    // the headings are how a screen reader moves through the timeline.
    const heading = el("h2", { class: "tl-month-head", id: `month-${month}`, tabindex: "-1" });
    heading.textContent = monthLabel(month);
    section = el("div", { class: "tl-month", "data-month": month }, [heading]);
    const after = beforeMonth ? root.querySelector(`[data-month="${beforeMonth}"]`) : null;
    root.insertBefore(section, after);
    return section;
  }

  function dayList(day, next) {
    let list = root.querySelector(`[data-day="${day}"]`);
    if (list) return list;
    const month = day.slice(0, 7);
    const nextDay = next && dayOf(next);
    const nextMonth = nextDay && nextDay.slice(0, 7);
    const section = monthSection(month, nextMonth !== month ? nextMonth : null);
    list = el("ul", { class: "tl-day-tiles", "data-day": day, "aria-labelledby": `day-${day}` });
    const group = el("div", { class: "tl-day" }, [
      el("h3", { class: "tl-day-head", id: `day-${day}`, text: dayLabel(day) }),
      list,
    ]);
    const after = nextMonth === month ? root.querySelector(`[data-day="${nextDay}"]`) : null;
    section.insertBefore(group, after ? after.parentElement : null);
    return list;
  }

  function layoutDay(list) {
    const tiles = [...list.children];
    if (!tiles.length || !list.clientWidth) return;
    const boxWidth = list.clientWidth;
    const gap = Number.parseFloat(getComputedStyle(list).columnGap) || 0;
    const target = boxWidth < PHONE ? 110 : 200;
    const aspects = tiles.map((tile) => Number(tile.dataset.aspect));
    for (const row of justifyRows(aspects, boxWidth, target, gap)) {
      // Floored to 1/100 px so a full row never wraps by a rounding error.
      const height = Math.floor(row.height * 100) / 100;
      for (let i = row.start; i < row.end; i += 1) {
        const tileWidth = Math.floor(aspects[i] * row.height * 100) / 100;
        tiles[i].style.width = `${tileWidth}px`;
        tiles[i].style.height = `${height}px`;
        tiles[i].dataset.sizes = `${Math.ceil(tileWidth)}px`;
        const img = tiles[i].querySelector("img");
        if (img?.hasAttribute("srcset")) img.sizes = tiles[i].dataset.sizes;
      }
    }
  }

  function settle() {
    for (const list of dirty) if (list.isConnected) layoutDay(list);
    dirty.clear();
  }

  new ResizeObserver(() => {
    if (root.clientWidth === width) return;
    width = root.clientWidth;
    for (const list of root.querySelectorAll("[data-day]")) dirty.add(list);
    settle();
  }).observe(root);

  return {
    place(image, tile, next) {
      tile.dataset.aspect = String(tileAspect(image.width, image.height));
      const day = dayOf(image);
      const list = dayList(day, next);
      const nextTile = next && dayOf(next) === day ? dayOfTile.get(next.id)?.tile : null;
      list.insertBefore(tile, nextTile || null);
      dayOfTile.set(image.id, { tile, list });
      dirty.add(list);
    },
    remove(id) {
      const placed = dayOfTile.get(id);
      if (!placed) return;
      dayOfTile.delete(id);
      placed.tile.remove();
      const { list } = placed;
      if (list.children.length) {
        dirty.add(list);
        return;
      }
      const section = list.closest(".tl-month");
      list.parentElement.remove();
      if (!section.querySelector("[data-day]")) section.remove();
    },
    reset() {
      dayOfTile.clear();
      dirty.clear();
      root.replaceChildren();
    },
    settle,
  };
}
