/**
 * Worker-thread entry that trains one RBM orientation: the two orientations of the default model are
 * independent until the mixture is fitted, so on a multi-core machine they train side by side.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { trainRbm, type TrainRbmHooks, type TrainRbmJob } from './train.js';

export interface TrainJob extends TrainRbmJob {
  entry: string;
  /** The data part of the hooks; `checkpoints` asks for checkpoints to be posted back. */
  hooks?: Omit<TrainRbmHooks, 'onEpoch' | 'onCheckpoint' | 'now'> & { checkpoints: boolean };
}

const job = workerData as TrainJob;
try {
  const { entry: _entry, hooks: jobHooks, ...trainJob } = job;
  const { checkpoints = false, ...hooks } = jobHooks ?? {};
  const result = trainRbm(trainJob, {
    ...hooks,
    onEpoch: (report) => parentPort!.postMessage({ type: 'epoch', report }),
    // The checkpoint's parameters are a fresh copy: transfer them rather than copy them again.
    ...(checkpoints
      ? {
          onCheckpoint: (checkpoint) => {
            const { W, b, c } = checkpoint.params;
            parentPort!.postMessage({ type: 'checkpoint', checkpoint }, [W.buffer, b.buffer, c.buffer] as ArrayBuffer[]);
          },
        }
      : {}),
  });
  const { W, b, c } = result.params;
  const buffers = [W.buffer, b.buffer, c.buffer] as ArrayBuffer[];
  if (result.validationPredictions) buffers.push(result.validationPredictions.buffer as ArrayBuffer);
  if (result.hiddenFeatures) buffers.push(result.hiddenFeatures.buffer as ArrayBuffer);
  parentPort!.postMessage({ type: 'done', result }, buffers);
} catch (err) {
  parentPort!.postMessage({
    type: 'error',
    name: (err as Error).name,
    message: (err as Error).message,
    epoch: (err as { epoch?: number }).epoch,
  });
}
