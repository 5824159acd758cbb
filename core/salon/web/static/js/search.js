// The gallery's search box: words (`q`), a month taken, and a range of days taken. The form is a plain GET form, so the
// search is the page's URL: reload, Back and a shared link all show the same results.

const MONTH = /^\d{4}-\d{2}$/;

/** The API filters the page's URL asks for: `q`, and `month` (or `taken_from`/`taken_to`). */
export function searchFilters(params = new URLSearchParams(location.search)) {
  const filters = {};
  const q = (params.get("q") || "").trim();
  if (q) filters.q = q;
  const month = (params.get("month") || "").trim();
  if (month) {
    // The API says what is wrong with a malformed month (shown where the grid loads).
    filters.taken_from = month;
    filters.taken_to = month;
  }
  for (const name of ["taken_from", "taken_to"]) {
    const value = (params.get(name) || "").trim();
    if (value && !filters[name]) filters[name] = value;
  }
  return filters;
}

function monthName(value) {
  if (!MONTH.test(value)) return value;
  const [year, month] = value.split("-").map(Number);
  const date = new Date(Date.UTC(year, month - 1, 1));
  return date.toLocaleDateString(undefined, { month: "long", year: "numeric", timeZone: "UTC" });
}

/** What the search is, in words ("“beach” taken in July 2021"). */
export function searchSummary(filters) {
  const parts = [];
  if (filters.q) parts.push(`“${filters.q}”`);
  if (filters.taken_from && filters.taken_from === filters.taken_to) {
    parts.push(`taken in ${monthName(filters.taken_from)}`);
  } else {
    if (filters.taken_from) parts.push(`taken from ${filters.taken_from}`);
    if (filters.taken_to) parts.push(`taken until ${filters.taken_to}`);
  }
  return parts.join(" ");
}

/**
 * Fill the search form in `root` from the URL, and when a search is active make the grid's
 * empty message the search's own. Call before the grid is made; returns the filters to add.
 */
export function setupSearch(root) {
  const form = root.querySelector("[data-search]");
  if (!form) return {};
  const params = new URLSearchParams(location.search);
  const filters = searchFilters(params);
  form.elements.q.value = params.get("q") || "";
  form.elements.month.value = params.get("month") || "";
  form.elements.taken_from.value = params.get("taken_from") || "";
  form.elements.taken_to.value = params.get("taken_to") || "";
  // Empty fields stay out of the URL, so the address shows only what was asked.
  form.addEventListener("formdata", (event) => {
    for (const [name, value] of [...event.formData.entries()]) {
      if (!String(value).trim()) event.formData.delete(name);
    }
  });
  const active = Object.keys(filters).length > 0;
  for (const link of root.querySelectorAll("[data-search-clear]")) {
    link.href = location.pathname;
    link.hidden = !active;
  }
  if (active) {
    const summary = searchSummary(filters);
    root.querySelector("[data-search-summary]").textContent = summary;
    // The grid shows whichever element carries [data-empty] when nothing is found.
    root.querySelector("[data-empty]")?.removeAttribute("data-empty");
    root.querySelector("[data-search-empty]").setAttribute("data-empty", "");
    document.title = `${summary} · ${document.title}`;
  }
  return filters;
}
