// Justified rows (as in Google Photos or Flickr): photos keep their shape, each row as tall as
// makes it fill the width exactly. Pure arithmetic on the API's width and height, so rows are
// laid out before any picture loads and nothing moves when they arrive.

// Shapes beyond these are shown cropped to them: a 10:1 panorama would make its row a sliver.
const WIDEST = 4;
const NARROWEST = 1 / 4;

/** The shape a tile takes for a `width` x `height` photo (width / height, within limits). */
export function tileAspect(width, height) {
  const aspect = width > 0 && height > 0 ? width / height : 1;
  return Math.min(WIDEST, Math.max(NARROWEST, aspect));
}

/**
 * Break photos of the given `aspects` into rows `width` px wide with `gap` px between tiles,
 * aiming at rows `target` px tall. Returns `[{start, end, height}]` (`end` excluded): every
 * row but the last fills the width exactly; a row ends before a photo when that lands nearer
 * the target height than taking it in (so a panorama does not squash its row). The last row
 * keeps the target height, left-aligned, rather than blowing a lone photo up.
 */
export function justifyRows(aspects, width, target, gap = 0) {
  const rows = [];
  let start = 0;
  let sum = 0;
  const fill = (from, to, total) => (width - gap * (to - from - 1)) / total;
  for (let i = 0; i < aspects.length; i += 1) {
    const aspect = aspects[i];
    if (sum * target + gap * (i - start) + aspect * target < width) {
      sum += aspect;
      continue;
    }
    const withIt = fill(start, i + 1, sum + aspect);
    const without = i > start ? fill(start, i, sum) : Number.POSITIVE_INFINITY;
    if (without - target < target - withIt && without <= target * 1.5) {
      rows.push({ start, end: i, height: without });
      start = i;
      sum = aspect;
      if (aspect * target >= width) {
        rows.push({ start, end: i + 1, height: fill(i, i + 1, aspect) });
        start = i + 1;
        sum = 0;
      }
    } else {
      rows.push({ start, end: i + 1, height: withIt });
      start = i + 1;
      sum = 0;
    }
  }
  if (start < aspects.length) {
    // The last row at the target height, unless even that is wider than the box.
    const height = Math.min(target, fill(start, aspects.length, sum));
    rows.push({ start, end: aspects.length, height });
  }
  return rows;
}
