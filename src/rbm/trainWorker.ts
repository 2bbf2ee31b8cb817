/**
 * Worker-thread entry that trains one RBM orientation: the two orientations of the default model are
 * independent until the mixture is fitted, so on a multi-core machine they train side by side.
 */
import { parentPort, workerData } from 'node:worker_threads';
import type { CompressedRows } from '../data/dataset.js';
import type { RbmOptions } from './config.js';
import { trainRbm } from './train.js';

export interface TrainJob {
  entry: string;
  phase: string;
  train: CompressedRows;
  validation: CompressedRows | null;
  ratingLevels: number[];
  options: RbmOptions;
  seed: number;
}

const job = workerData as TrainJob;
try {
  const result = trainRbm(job.phase, job.train, job.validation, job.ratingLevels, job.options, job.seed, (report) =>
    parentPort!.postMessage({ type: 'epoch', report }),
  );
  const { W, b, c } = result.params;
  parentPort!.postMessage({ type: 'done', result }, [W.buffer, b.buffer, c.buffer] as ArrayBuffer[]);
} catch (err) {
  parentPort!.postMessage({ type: 'error', name: (err as Error).name, message: (err as Error).message, epoch: (err as { epoch?: number }).epoch });
}
