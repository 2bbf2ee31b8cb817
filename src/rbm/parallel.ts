/** Runs trainRbm in a worker thread (see trainWorker.ts), relaying epoch reports. */
import { Worker } from 'node:worker_threads';
import {
  NonFiniteTrainingError,
  type EpochReport,
  type RbmCheckpoint,
  type TrainRbmHooks,
  type TrainRbmJob,
  type TrainRbmResult,
} from './train.js';

export function trainRbmInWorker(job: TrainRbmJob, hooks: TrainRbmHooks = {}): Promise<TrainRbmResult> {
  const { phase } = job;
  // Functions cannot cross into the worker: checkpoints come back as messages, the rest goes as data.
  const { onEpoch, onCheckpoint, now: _clockStaysInTheWorker, ...hookData } = hooks;
  const entry = new URL('./trainWorker.ts', import.meta.url).href;
  const worker = new Worker(new URL('./worker-boot.mjs', import.meta.url), {
    workerData: {
      entry,
      ...job,
      ratingLevels: [...job.ratingLevels],
      hooks: { ...hookData, checkpoints: onCheckpoint !== undefined },
    },
  });
  return new Promise((resolve, reject) => {
    worker.on(
      'message',
      (m: {
        type: string;
        report?: EpochReport;
        checkpoint?: RbmCheckpoint;
        result?: TrainRbmResult;
        message?: string;
        name?: string;
        epoch?: number;
      }) => {
        if (m.type === 'epoch' && m.report) onEpoch?.(m.report);
        else if (m.type === 'checkpoint' && m.checkpoint) onCheckpoint?.(m.checkpoint);
        else if (m.type === 'done' && m.result) {
          resolve(m.result);
          void worker.terminate();
        } else if (m.type === 'error') {
          reject(
            m.name === 'NonFiniteTrainingError' && m.epoch !== undefined
              ? new NonFiniteTrainingError(phase, m.epoch)
              : new Error(m.message),
          );
          void worker.terminate();
        }
      },
    );
    worker.on('error', reject);
  });
}
