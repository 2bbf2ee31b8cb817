/**
 * A visitor-pool worker thread (started by visitorPool.ts through rbm/worker-boot.mjs): holds the model
 * versions the pool sent it and answers "recommend for these posted ratings" with visitorRecommendations,
 * and "recommend for this stored user's model input" with inputRecommendations, the code the main thread
 * runs inline, on its own copy of the version.
 *
 * Messages in: `load` (a version's stored state and its item records), `drop` (a version no request needs
 * any more), `job`. Out: `result` or `error` per job, in the order jobs arrive (one at a time).
 */
import { parentPort } from 'node:worker_threads';
import { modelFromState } from '../model/index.js';
import { initBackend } from '../rbm/backend.js';
import { buildSnapshot, type ModelSnapshot } from './modelHolder.js';
import { inputRecommendations, visitorRecommendations } from './answers.js';
import type { VisitorJobMessage, VisitorPoolInbound, VisitorVersionPayload } from './visitorPool.js';

const port = parentPort;
if (!port) throw new Error('visitorWorker.ts runs only as a worker thread (see visitorPool.ts)');

const versions = new Map<number, ModelSnapshot>();

function load({ version, itemRecords }: VisitorVersionPayload): void {
  const byId = new Map(itemRecords.filter((r) => r !== null).map((r) => [r.itemId, r]));
  // The records come from the main thread's snapshot: the same titles, whatever the catalog is now.
  const records = { getItems: (ids: number[]) => ids.flatMap((id) => byId.get(id) ?? []) };
  versions.set(version.id, buildSnapshot(version, records, modelFromState));
}

function run(job: VisitorJobMessage): void {
  try {
    const snapshot = versions.get(job.versionId);
    if (!snapshot) throw new Error(`visitor worker: model version ${job.versionId} was never loaded here`);
    const { user } = job;
    const items =
      user.kind === 'visitor'
        ? visitorRecommendations(snapshot, user.ratings, job.list)
        : inputRecommendations(snapshot, user.input, job.list);
    port!.postMessage({ type: 'result', id: job.id, items });
  } catch (err) {
    const e = err as Error;
    port!.postMessage({ type: 'error', id: job.id, name: e.name, message: e.message });
  }
}

// The same tfjs backend as the main thread (initBackend's choice is deterministic), so the same numbers.
// Messages that arrive meanwhile are handled in order once it is ready. Without a backend the worker
// cannot answer anything: it exits, and the pool fails its job and starts another.
const ready = initBackend();
ready.catch((err: unknown) => {
  process.stderr.write(`visitor worker: no tfjs backend: ${(err as Error).message}\n`);
  process.exit(1);
});
let chain: Promise<unknown> = ready;
port.on('message', (message: VisitorPoolInbound) => {
  chain = chain
    .then(() => {
      if (message.type === 'load') {
        try {
          load(message.payload);
        } finally {
          // Built or not, the pool stops waiting for this worker (a version that failed to build answers
          // its jobs with "never loaded" errors).
          port.postMessage({ type: 'built', versionId: message.payload.version.id });
        }
      } else if (message.type === 'drop') {
        versions.get(message.versionId)?.model.dispose();
        versions.delete(message.versionId);
      } else run(message);
    })
    .catch((err: unknown) => {
      // A version that does not build here: its jobs are answered with "never loaded" errors.
      process.stderr.write(`visitor worker: ${(err as Error).message}\n`);
    });
});
