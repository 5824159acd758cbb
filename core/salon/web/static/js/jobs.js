// Background jobs (imports, videos): one list entry per job with a progress bar, polled
// until the job succeeds or fails.

import { api } from "./api.js";
import { el, errorMessage } from "./ui.js";

const POLL_MS = 1000;
const WORDS = { queued: "Waiting to start", running: "Working", succeeded: "Done", failed: "Failed" };

/** Follow `jobId`, drawing it into `list`; resolves with the finished job. */
export function trackJob(list, jobId, label) {
  const progress = el("progress", { max: "100", value: "0", "aria-label": label });
  const status = el("span", { class: "job-status", text: WORDS.queued });
  const item = el("li", { class: "job", "data-job-id": jobId, "data-status": "queued" }, [
    el("span", { class: "job-label", text: label }),
    progress,
    status,
  ]);
  list.prepend(item);

  return new Promise((resolve) => {
    let failures = 0;
    async function poll() {
      try {
        const job = await api(`/api/jobs/${jobId}`);
        failures = 0;
        const percent = Math.round(Math.max(0, Math.min(1, job.progress || 0)) * 100);
        const finished = job.status === "succeeded" || job.status === "failed";
        progress.value = job.status === "succeeded" ? 100 : percent;
        item.dataset.status = job.status;
        status.textContent =
          job.status === "failed"
            ? `Failed: ${job.error || "unknown error"}`
            : `${WORDS[job.status] || job.status}${finished ? "" : ` (${percent}%)`}`;
        if (finished) {
          resolve(job);
          return;
        }
      } catch (error) {
        failures += 1;
        status.textContent = `Checking again… (${errorMessage(error)})`;
        if (failures > 10) {
          item.dataset.status = "failed";
          resolve({ id: jobId, status: "failed", error: errorMessage(error) });
          return;
        }
      }
      setTimeout(poll, POLL_MS);
    }
    poll();
  });
}
