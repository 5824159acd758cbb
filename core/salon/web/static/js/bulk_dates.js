// Correct the capture date of the grid's selection: set one date for all, or shift each by a
// number of hours (a camera left on another time zone). One request for the whole selection.

import { api } from "./api.js";
import { errorMessage, toast, typedWithOffset } from "./ui.js";

/** Wire the toolbar's date controls (if the page has them) to `grid`. */
export function wireBulkDates(grid) {
  const box = document.querySelector("[data-bulk-dates]");
  if (!box) return;
  const dateInput = box.querySelector("[data-bulk-date-input]");
  const shiftInput = box.querySelector("[data-bulk-shift-input]");

  async function send(body, done) {
    const ids = [...grid.selected];
    try {
      const result = await api("/api/images/bulk", {
        method: "POST",
        body: { ...body, image_ids: ids },
      });
      // The listing answers with the new dates; the grid's copies follow.
      for (const id of ids) {
        const image = await api(`/api/images/${id}`);
        grid.update(image);
      }
      toast(done(result.count));
      box.open = false;
    } catch (error) {
      toast(errorMessage(error), "error");
    }
  }

  box.querySelector("[data-bulk-date='set']").addEventListener("click", () => {
    const taken = new Date(dateInput.value); // read in the browser's time zone
    if (!dateInput.value || Number.isNaN(taken.getTime())) {
      toast("Choose a date first", "error");
      dateInput.focus();
      return;
    }
    // Sent with this browser's offset, which the photos keep: they read as typed anywhere.
    const takenAt = typedWithOffset(dateInput.value);
    send({ action: "set_taken_at", taken_at: takenAt }, (n) => `Date set on ${n}`);
  });

  box.querySelector("[data-bulk-date='shift']").addEventListener("click", () => {
    const hours = Number(shiftInput.value);
    if (!shiftInput.value || !Number.isFinite(hours) || hours === 0) {
      toast("Enter the hours to shift by (negative: earlier)", "error");
      shiftInput.focus();
      return;
    }
    send(
      { action: "shift_taken_at", shift_seconds: Math.round(hours * 3600) },
      (n) => `Dates of ${n} shifted by ${hours} h`,
    );
  });
}
