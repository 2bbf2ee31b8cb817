/**
 * The bias baseline fitted in a worker thread (fitBiasModel, the same numbers), so that the blend's final
 * baseline on all training ratings fits while the main thread fits the mixture's on the fit part (two
 * single-threaded passes of 10 ALS epochs each; at MovieLens 25M's size a few seconds each).
 */
import { parentPort, Worker, workerData } from 'node:worker_threads';
import type { Dataset } from '../data/dataset.js';
import { BiasModel, fitBiasModel, type BiasOptions } from './bias.js';

type BiasData = Pick<Dataset, 'users' | 'items' | 'levels' | 'ratingLevels' | 'userIds' | 'itemIds'>;
interface BiasJob {
  entry: string;
  ds: BiasData;
  options: Partial<BiasOptions>;
}
interface BiasReply {
  error?: string;
  globalMean?: number;
  userBias?: Float32Array;
  itemBias?: Float32Array;
  options?: BiasOptions;
}

export function fitBiasModelInWorker(ds: Dataset, options: Partial<BiasOptions> = {}): Promise<BiasModel> {
  const { users, items, levels, ratingLevels, userIds, itemIds } = ds;
  const job: BiasJob = {
    entry: new URL('./biasWorker.ts', import.meta.url).href,
    ds: { users, items, levels, ratingLevels: [...ratingLevels], userIds: [...userIds], itemIds: [...itemIds] },
    options,
  };
  const worker = new Worker(new URL('../rbm/worker-boot.mjs', import.meta.url), { workerData: job });
  return new Promise((resolve, reject) => {
    worker.once('message', (m: BiasReply) => {
      void worker.terminate();
      if (m.error !== undefined || !m.userBias || !m.itemBias || !m.options || m.globalMean === undefined) {
        reject(new Error(`fitting the bias baseline in a worker failed: ${m.error ?? 'no result'}`));
        return;
      }
      resolve(
        new BiasModel(ds.ratingLevels, m.globalMean, m.userBias, m.itemBias, m.options, ds.userIds, ds.itemIds, { ratings: levels.length }),
      );
    });
    worker.once('error', reject);
  });
}

if (parentPort && (workerData as Partial<BiasJob> | null)?.entry === new URL('./biasWorker.ts', import.meta.url).href) {
  const { ds, options } = workerData as BiasJob;
  try {
    const m = fitBiasModel(ds, options);
    const reply: BiasReply = { globalMean: m.globalMean, userBias: m.userBias, itemBias: m.itemBias, options: m.options };
    parentPort.postMessage(reply, [m.userBias.buffer as ArrayBuffer, m.itemBias.buffer as ArrayBuffer]);
  } catch (err) {
    parentPort.postMessage({ error: (err as Error).message } satisfies BiasReply);
  }
}
