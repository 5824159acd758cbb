// ThumbHash placeholders (format by Evan Wallace, https://evanw.github.io/thumbhash/): a few
// bytes holding a low-frequency DCT of the image in an L/P/Q(/A) colour space. This module only
// decodes: it renders the hash at most 32 px on the long side and hands back a PNG data URL.

const cache = new Map();

function bytesOf(base64) {
  const text = atob(base64);
  const out = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i += 1) out[i] = text.charCodeAt(i);
  return out;
}

/** Read `count` coefficients of one channel: 4-bit values, low nibble first. */
function readChannel(hash, cursor, nx, ny, scale) {
  const values = [];
  for (let cy = 0; cy < ny; cy += 1) {
    for (let cx = cy === 0 ? 1 : 0; cx * ny < nx * (ny - cy); cx += 1) {
      const byte = hash[cursor.start + (cursor.index >> 1)];
      const nibble = (byte >> ((cursor.index & 1) * 4)) & 15;
      cursor.index += 1;
      values.push((nibble / 7.5 - 1) * scale);
    }
  }
  return values;
}

/** Add one channel's AC terms for a pixel, given its cosine tables. */
function sumChannel(values, nx, ny, fx, fy) {
  let total = 0;
  let j = 0;
  for (let cy = 0; cy < ny; cy += 1) {
    const wy = fy[cy] * 2;
    for (let cx = cy === 0 ? 1 : 0; cx * ny < nx * (ny - cy); cx += 1) {
      total += values[j] * fx[cx] * wy;
      j += 1;
    }
  }
  return total;
}

/** Decode the hash bytes to `{width, height, rgba}`. */
export function decode(hash) {
  if (hash.length < 5) throw new Error("not a ThumbHash");
  const h24 = hash[0] | (hash[1] << 8) | (hash[2] << 16);
  const h16 = hash[3] | (hash[4] << 8);
  const hasAlpha = (h24 >> 23) & 1;
  const landscape = (h16 >> 15) & 1;
  const lDc = (h24 & 63) / 63;
  const pDc = ((h24 >> 6) & 63) / 31.5 - 1;
  const qDc = ((h24 >> 12) & 63) / 31.5 - 1;
  const lScale = ((h24 >> 18) & 31) / 31;
  const pScale = ((h16 >> 3) & 63) / 63;
  const qScale = ((h16 >> 9) & 63) / 63;
  const long = hasAlpha ? 5 : 7;
  const short = h16 & 7;
  const lx = Math.max(3, landscape ? long : short);
  const ly = Math.max(3, landscape ? short : long);
  const aDc = hasAlpha ? (hash[5] & 15) / 15 : 1;
  const aScale = hasAlpha ? (hash[5] >> 4) / 15 : 0;

  const cursor = { start: hasAlpha ? 6 : 5, index: 0 };
  const lAc = readChannel(hash, cursor, lx, ly, lScale);
  // The encoder quantises chroma coarsely; a 1.25x boost restores the saturation.
  const pAc = readChannel(hash, cursor, 3, 3, pScale * 1.25);
  const qAc = readChannel(hash, cursor, 3, 3, qScale * 1.25);
  const aAc = hasAlpha ? readChannel(hash, cursor, 5, 5, aScale) : null;

  // The aspect ratio comes from the luminance grid (approximate by design).
  const ratio = (landscape ? long : short) / (landscape ? short : long);
  const width = Math.max(1, Math.round(ratio > 1 ? 32 : 32 * ratio));
  const height = Math.max(1, Math.round(ratio > 1 ? 32 / ratio : 32));
  const rgba = new Uint8ClampedArray(width * height * 4);
  const nxMax = Math.max(lx, hasAlpha ? 5 : 3);
  const nyMax = Math.max(ly, hasAlpha ? 5 : 3);
  const fx = new Array(nxMax);
  const fy = new Array(nyMax);
  for (let y = 0, i = 0; y < height; y += 1) {
    for (let cy = 0; cy < nyMax; cy += 1) fy[cy] = Math.cos((Math.PI / height) * (y + 0.5) * cy);
    for (let x = 0; x < width; x += 1, i += 4) {
      for (let cx = 0; cx < nxMax; cx += 1) fx[cx] = Math.cos((Math.PI / width) * (x + 0.5) * cx);
      const l = lDc + sumChannel(lAc, lx, ly, fx, fy);
      const p = pDc + sumChannel(pAc, 3, 3, fx, fy);
      const q = qDc + sumChannel(qAc, 3, 3, fx, fy);
      const a = aAc ? aDc + sumChannel(aAc, 5, 5, fx, fy) : 1;
      const b = l - (2 / 3) * p;
      const r = (3 * l - b + q) / 2;
      const g = r - q;
      rgba[i] = 255 * r;
      rgba[i + 1] = 255 * g;
      rgba[i + 2] = 255 * b;
      rgba[i + 3] = 255 * a;
    }
  }
  return { width, height, rgba };
}

/** A PNG data URL for a base64 ThumbHash, or "" if it cannot be decoded. */
export function placeholderURL(base64) {
  if (!base64) return "";
  if (cache.has(base64)) return cache.get(base64);
  let url = "";
  try {
    const { width, height, rgba } = decode(bytesOf(base64));
    const canvas = document.createElement("canvas");
    canvas.width = width;
    canvas.height = height;
    canvas.getContext("2d").putImageData(new ImageData(rgba, width, height), 0, 0);
    url = canvas.toDataURL("image/png");
  } catch {
    url = "";
  }
  cache.set(base64, url);
  return url;
}
