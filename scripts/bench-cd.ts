/**
 * CD epoch benchmark at MovieLens-25M scale (see src/bench/cdEpoch.ts):
 *
 *   npx tsx scripts/bench-cd.ts --orientation user|item [--batches 400] [--steps 1] [--batch-size 20]
 *                               [--kernels wasm|js] [--threads 1] [--bandwidth] [--users n --items n --ratings n]
 *
 * Run timings under `flock /tmp/bench.lock`.
 */
import { runCdEpochBench } from '../src/bench/cdEpoch.js';

runCdEpochBench();
