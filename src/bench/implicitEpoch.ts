/**
 * Times the implicit RBM's training (the 'shared' engine, rbm/implicitShared.ts) per epoch at several
 * catalog sizes, thread counts and negative phases (scripts/bench-implicit.ts):
 *
 *   npx tsx scripts/bench-implicit.ts [--cases ml100k,synthetic-1m,synthetic-1m-items4x,synthetic-25m]
 *       [--threads 1,2] [--negative dense,sampled] [--batches N] [--samples S] [--ml100k FOLDER]
 *
 * Each run trains mini-batches of a shuffled epoch order with the served options (F = 160, B = 100,
 * CD-1) after a short untimed warm-up, then one early-stopping validation (at most 5,000 users). Seconds per
 * epoch = seconds per batch × ⌈users / B⌉ + the validation: the whole epoch when --batches is absent
 * (every case but synthetic-25m), else extrapolated from N batches (synthetic-25m: 60 by default; its data
 * is the 25M-shaped synthetic set of bench-cd, cached under $BENCH_CACHE). Run it under
 * `flock /tmp/bench.lock`.
 */
import { DEFAULT_ML100K_FOLDER, findCase } from './cases.js';
import { loadDataset } from './cdEpoch.js';
import type { Dataset } from '../data/dataset.js';
import { initBackend } from '../rbm/backend.js';
import { carveValidation, DEFAULT_IMPLICIT_OPTIONS, ratedRows } from '../rbm/implicit.js';
import { initImplicitParams, medianActivityOf } from '../rbm/implicitParams.js';
import { createEngine, validationUsers } from '../rbm/implicitTrain.js';
import { Rng } from '../rng.js';

function arg(name: string, fallback: string): string {
  const at = process.argv.indexOf(`--${name}`);
  return at >= 0 && at + 1 < process.argv.length ? process.argv[at + 1] : fallback;
}

async function load(name: string): Promise<Dataset> {
  if (name === 'synthetic-25m') return loadDataset({ seed: 42, users: 162_541, items: 59_047, ratings: 25_000_095, halfStars: true });
  return findCase(name).load!({ ml100kFolder: arg('ml100k', DEFAULT_ML100K_FOLDER) });
}

/** The command: see the header. */
export async function runImplicitEpochBench(): Promise<void> {
  await initBackend();
  const cases = arg('cases', 'ml100k,synthetic-1m').split(',');
  const threadCounts = arg('threads', '1,2').split(',').map(Number);
  const phases = arg('negative', 'dense').split(',') as ('dense' | 'sampled')[];
  const samples = Number(arg('samples', String(DEFAULT_IMPLICIT_OPTIONS.negativeSamples)));
  for (const name of cases) {
    let t = performance.now();
    const all = ratedRows(await load(name));
    const rng = new Rng(0);
    const { fit, validation } = carveValidation(all, DEFAULT_IMPLICIT_OPTIONS.validationFraction, rng);
    const counts = new Float64Array(fit.cols);
    for (const i of fit.colIndex) counts[i]++;
    const o = DEFAULT_IMPLICIT_OPTIONS;
    const B = o.batchSize;
    const epochBatches = Math.ceil(fit.rows / B);
    const batches = Math.min(epochBatches, Number(arg('batches', name === 'synthetic-25m' ? '60' : String(epochBatches))));
    console.log(
      `${name}: ${fit.rows} users × ${fit.cols} items, ${fit.colIndex.length} fit ratings; data ${((performance.now() - t) / 1000).toFixed(1)} s`,
    );
    const scored = validationUsers(validation, o.validationUsers);
    for (const negativePhase of phases) {
      for (const threads of threadCounts) {
        const params = {
          ...initImplicitParams(counts, fit.rows, o.hidden, new Rng(1), o.initScale),
          medianActivity: medianActivityOf(all.rowStart),
        };
        const options = { ...o, threads, negativePhase, negativeSamples: samples };
        const runRng = new Rng(2);
        const engine = await createEngine(params, fit, validation, options, runRng);
        try {
          const order = runRng.shuffle(Int32Array.from({ length: fit.rows }, (_, u) => u));
          const uniforms = new Float32Array(B * o.hidden);
          const step = (from: number): void => {
            const cases = order.subarray(from % fit.rows, Math.min(fit.rows, (from % fit.rows) + B));
            for (let n = 0; n < cases.length * o.hidden; n++) uniforms[n] = runRng.next();
            engine.batch(cases, uniforms, o.lr, o.momentum);
          };
          for (let k = 0; k < 3; k++) step(k * B);
          t = performance.now();
          for (let k = 0; k < batches; k++) step(k * B);
          const perBatch = (performance.now() - t) / 1000 / batches;
          t = performance.now();
          const ndcg = engine.validate!(scored);
          const validate = (performance.now() - t) / 1000;
          console.log(
            `  ${negativePhase.padEnd(7)} threads ${threads}: ${(perBatch * 1000).toFixed(2)} ms/batch × ${epochBatches} = ` +
              `${(perBatch * epochBatches).toFixed(2)} s + validation ${validate.toFixed(2)} s (${scored.length} users, nDCG ${ndcg.toFixed(4)}) ` +
              `→ epoch ${(perBatch * epochBatches + validate).toFixed(2)} s${batches < epochBatches ? ` (from ${batches} batches)` : ''}`,
          );
        } finally {
          engine.dispose();
        }
      }
    }
  }
}
