/**
 * Training and scoring benchmark:
 *
 *   npm run bench -- [--json out.json] [--cases ml100k,synthetic-1m] [--epochs n] [--timeout s]
 *
 * Each case runs in its own child process (peak RSS per case). Logic: src/bench.
 */
import { BENCH_USAGE, BenchUsageError, parseBenchArgs } from '../src/bench/args.js';
import { runBench } from '../src/bench/run.js';

try {
  const args = parseBenchArgs(process.argv.slice(2));
  if (args.help) {
    process.stdout.write(`${BENCH_USAGE}\n`);
  } else {
    const report = await runBench(args);
    if (report.failed.length > 0) process.exitCode = 1;
  }
} catch (err) {
  if (err instanceof BenchUsageError) {
    process.stderr.write(`bench: ${err.message}\n${BENCH_USAGE}\n`);
    process.exit(2);
  }
  process.stderr.write(`bench: ${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
}
