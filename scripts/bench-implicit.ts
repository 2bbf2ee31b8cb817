/**
 * The implicit RBM's epoch at several catalog sizes, thread counts and negative phases (see
 * src/bench/implicitEpoch.ts):
 *
 *   npx tsx scripts/bench-implicit.ts [--cases ml100k,synthetic-1m,synthetic-1m-items4x,synthetic-25m]
 *       [--threads 1,2] [--negative dense,sampled] [--batches N] [--samples S] [--ml100k FOLDER]
 *
 * Run timings under `flock /tmp/bench.lock`.
 */
import { runImplicitEpochBench } from '../src/bench/implicitEpoch.js';

await runImplicitEpochBench();
process.exit(0);
