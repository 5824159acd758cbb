// Photos answered before their renditions existed ("processing"), asked for again until they
// are ready, failed or gone. One poller per page, shared by the grid and the upload rows, so a
// photo that is in both is asked for once.

import { api } from "./api.js";

const FIRST_MS = 1000;
const MAX_MS = 5000;
const BATCH = 20;

const waiting = new Map(); // image id -> listeners
let timer = null;
let delay = FIRST_MS;

/** Call `listener(image)` once `image` is no longer processing (`listener(null)`: deleted). */
export function watchReady(image, listener) {
  if (image?.status !== "processing") return;
  if (!waiting.has(image.id)) waiting.set(image.id, new Set());
  waiting.get(image.id).add(listener);
  delay = FIRST_MS;
  if (!timer) timer = setTimeout(poll, delay);
}

function settle(id, image) {
  const listeners = waiting.get(id) || [];
  waiting.delete(id);
  for (const listener of listeners) listener(image);
}

async function poll() {
  for (const id of [...waiting.keys()].slice(0, BATCH)) {
    try {
      const image = await api(`/api/images/${id}`);
      if (image.status !== "processing") settle(id, image);
    } catch (error) {
      if (error.status === 404) settle(id, null);
    }
  }
  delay = Math.min(delay * 1.5, MAX_MS);
  timer = waiting.size ? setTimeout(poll, delay) : null;
}
