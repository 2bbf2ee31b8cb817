/**
 * Times CD training mini-batches of one RBM at MovieLens-25M scale and extrapolates to an epoch
 * (scripts/bench-cd.ts):
 *
 *   npx tsx scripts/bench-cd.ts --orientation user|item [--batches 400] [--steps 1] [--batch-size 20]
 *                               [--kernels wasm|js] [--threads 1] [--bandwidth] [--users n --items n --ratings n]
 *                               [--validation [--validation-js]]
 *
 * The data is the 25M-shaped synthetic set (seed 42, 162,541 users × 59,047 items, 25,000,095 half-star
 * ratings), generated once and cached under $BENCH_CACHE-<shape> (default /tmp/bench-cd-<shape>). The
 * model has the default options (F = 100, mean-field last step, μ = 0.9, λ = 0.001): `--batches`
 * mini-batches of a shuffled epoch order are trained after a short untimed warm-up, and seconds per epoch
 * = seconds per batch × ⌈cases / batch size⌉. `--threads N` runs the batches data-parallel on N threads
 * (the wasm engine's parallelEpoch; the warm-up also starts the helper threads). `--bandwidth` also
 * measures one core's memory read and copy rates. `--validation` trains on 95 % of the ratings and then
 * times one full validation pass over the other 5 % (the engine's predictValidation, on its threads;
 * `--validation-js` also the single-threaded JS inference it replaced, and checks they agree). Run timings under `flock /tmp/bench.lock` so they do not overlap with other benchmarks.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { compressRows, subsetRatings, type Dataset } from '../data/dataset.js';
import { generateSyntheticRatings, HALF_STAR_LEVELS } from '../data/synthetic.js';
import { createCdEngine, type KernelsKind } from '../rbm/cdEngine.js';
import { DEFAULT_TRAIN_OPTIONS } from '../rbm/config.js';
import { validationSplit } from '../model/rbmFit.js';
import { expectationsOfRows, initParams } from '../rbm/params.js';
import { visibleLevelCounts } from '../rbm/train.js';
import { Rng } from '../rng.js';

function arg(name: string, fallback: string): string {
  const at = process.argv.indexOf(`--${name}`);
  return at >= 0 && at + 1 < process.argv.length ? process.argv[at + 1] : fallback;
}

export interface Shape {
  seed: number;
  users: number;
  items: number;
  ratings: number;
  halfStars: boolean;
}

export function loadDataset(SHAPE: Shape): Dataset {
  const dir = `${process.env.BENCH_CACHE ?? '/tmp/bench-cd'}-${SHAPE.users}-${SHAPE.items}-${SHAPE.ratings}`;
  const file = (n: string): string => join(dir, n);
  const ids = (n: number): number[] => Array.from({ length: n }, (_, i) => i + 1);
  if (existsSync(file('levels.u8'))) {
    const u = readFileSync(file('users.i32'));
    const i = readFileSync(file('items.i32'));
    const l = readFileSync(file('levels.u8'));
    return {
      ratingLevels: [...HALF_STAR_LEVELS],
      userIds: ids(SHAPE.users),
      itemIds: ids(SHAPE.items),
      users: new Int32Array(u.buffer, u.byteOffset, u.byteLength / 4),
      items: new Int32Array(i.buffer, i.byteOffset, i.byteLength / 4),
      levels: new Uint8Array(l.buffer, l.byteOffset, l.byteLength),
    };
  }
  const ds = generateSyntheticRatings(SHAPE);
  mkdirSync(dir, { recursive: true });
  writeFileSync(file('users.i32'), ds.users);
  writeFileSync(file('items.i32'), ds.items);
  writeFileSync(file('levels.u8'), ds.levels);
  return ds;
}

/** Memory bandwidth of one core: memcmp of two equal 512 MiB buffers (reads 1 GiB) and memcpy of 1 GiB. */
function bandwidth(): void {
  const GiB = 1 << 30;
  const a = Buffer.alloc(GiB / 2, 1);
  const b = Buffer.alloc(GiB / 2, 1);
  const src = new Float64Array(GiB / 8).fill(1);
  const dst = new Float64Array(GiB / 8);
  for (let rep = 0; rep < 3; rep++) {
    let t = performance.now();
    const same = Buffer.compare(a, b) === 0;
    const read = (performance.now() - t) / 1000;
    t = performance.now();
    dst.set(src);
    const copy = (performance.now() - t) / 1000;
    console.log(
      `bandwidth: read ${(GiB / 1e9 / read).toFixed(1)} GB/s (memcmp 2 × 512 MiB${same ? '' : ', unequal'}); ` +
        `copy 1 GiB ${((2 * GiB) / 1e9 / copy).toFixed(1)} GB/s read + write`,
    );
  }
}

/** The command: see the header. */
export function runCdEpochBench(): void {
  // The 25M shape unless --users/--items/--ratings ask for another (e.g. a small one whose rows stay in cache).
  const SHAPE: Shape = {
    seed: 42,
    users: Number(arg('users', '162541')),
    items: Number(arg('items', '59047')),
    ratings: Number(arg('ratings', '25000095')),
    halfStars: true,
  };
  const orientation = arg('orientation', 'user') as 'user' | 'item';
  const batches = Number(arg('batches', '400'));
  const steps = Number(arg('steps', '1'));
  const kernels = arg('kernels', 'wasm') as KernelsKind;
  const threads = Number(arg('threads', '1'));
  const options = { ...DEFAULT_TRAIN_OPTIONS[orientation], batchSize: Number(arg('batch-size', '20')) };
  if (process.argv.includes('--bandwidth')) bandwidth();

  let t = performance.now();
  const all = loadDataset(SHAPE);
  const withValidation = process.argv.includes('--validation');
  const split = withValidation ? validationSplit(all.levels.length, 0.05, 0) : null;
  const ds = split ? subsetRatings(all, split.fit) : all;
  const validation = split ? compressRows(subsetRatings(all, split.validation), orientation) : null;
  const rows = compressRows(ds, orientation);
  let maxCase = 0;
  for (let r = 0; r < rows.rows; r++) maxCase = Math.max(maxCase, rows.rowStart[r + 1] - rows.rowStart[r]);
  console.log(
    `${orientation}: ${rows.rows} cases × ${rows.cols} visibles, ${rows.colIndex.length} ratings (longest case ${maxCase}); ` +
      `data ${((performance.now() - t) / 1000).toFixed(1)} s`,
  );
  const K = ds.ratingLevels.length;
  const rng = new Rng(7);
  const params = initParams(rows.cols, K, options.hidden, visibleLevelCounts(rows, K), rng, options.initScale);
  const engine = createCdEngine(
    params,
    rows,
    ds.ratingLevels,
    {
      lr: options.lr,
      momentum: options.momentum,
      weightDecay: options.weightDecay,
      batchSize: options.batchSize,
      persistent: options.persistent,
      meanField: options.negativePhase === 'meanField',
      threads,
    },
    kernels,
    { validation },
  );
  const order = new Int32Array(rows.rows);
  for (let r = 0; r < order.length; r++) order[r] = r;
  rng.shuffle(order);
  const warm = 20 * options.batchSize;
  engine.trainEpoch(order.subarray(0, warm), steps, rng);
  const timed = order.subarray(warm, warm + batches * options.batchSize);
  // Real epochs see the rows up to date at the start (flushed); trainEpoch's closing flush is counted.
  t = performance.now();
  const stats = engine.trainEpoch(timed, steps, rng);
  const seconds = (performance.now() - t) / 1000;
  const perBatch = seconds / batches;
  const epochBatches = Math.ceil(rows.rows / options.batchSize);
  const ratingsTimed = Array.from(timed).reduce((s, r) => s + rows.rowStart[r + 1] - rows.rowStart[r], 0);
  console.log(
    `${orientation} ${engine.kind} ${engine.threads} thread${engine.threads > 1 ? 's' : ''} CD-${steps} B=${options.batchSize}: ${batches} batches (${ratingsTimed} ratings) in ${seconds.toFixed(2)} s = ` +
      `${(perBatch * 1000).toFixed(2)} ms/batch, ${((seconds / ratingsTimed) * 1e9).toFixed(0)} ns/rating → epoch ≈ ` +
      `${(perBatch * epochBatches).toFixed(1)} s by batches, ${((seconds / ratingsTimed) * rows.colIndex.length).toFixed(1)} s by ratings ` +
      `(train RMSE ${Math.sqrt(stats.squaredError / stats.errorCount).toFixed(4)})`,
  );
  if (validation) {
    t = performance.now();
    const predicted = engine.predictValidation(null);
    console.log(
      `validation pass (${validation.colIndex.length} ratings, ${engine.threads} thread${engine.threads > 1 ? 's' : ''}): ` +
        `${((performance.now() - t) / 1000).toFixed(2)} s`,
    );
    if (process.argv.includes('--validation-js')) {
      t = performance.now();
      const js = expectationsOfRows(engine.params, rows, validation, ds.ratingLevels, null);
      const same = js.every((v, n) => Object.is(v, predicted[n]));
      console.log(
        `validation pass in JS (1 thread): ${((performance.now() - t) / 1000).toFixed(2)} s; ${same ? 'the same' : 'DIFFERENT'} numbers`,
      );
    }
  }
  engine.close();
}
