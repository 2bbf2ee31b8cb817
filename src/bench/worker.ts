/**
 * Child-process entry of the benchmark: measures one case in a fresh process so its peak RSS is its own.
 *
 *   (forked by run.ts)  worker.ts <case> <epochs|-> <ml100k folder> <users scored: n|all|empty> <threads: 1,2>
 *
 * Forked with an IPC channel it sends stage events and the result as ChildMessages; run directly (for
 * profiling, e.g. `node --import tsx --cpu-prof src/bench/worker.ts ml100k 3`) it prints stages to
 * stderr and the result as one JSON line to stdout.
 */
import { DEFAULT_ML100K_FOLDER } from './cases.js';
import { runCase } from './measure.js';
import type { ChildMessage } from './types.js';

function send(message: ChildMessage): Promise<void> {
  if (process.send) {
    return new Promise((resolve, reject) => process.send!(message, undefined, undefined, (err) => (err ? reject(err) : resolve())));
  }
  if (message.type === 'stage') process.stderr.write(`${JSON.stringify(message.event)}\n`);
  else if (message.type === 'result') process.stdout.write(`${JSON.stringify(message.result)}\n`);
  else process.stderr.write(`${message.stack ?? message.message}\n`);
  return Promise.resolve();
}

const [name, epochsArg, folder, scoreUsersArg, threadsArg] = process.argv.slice(2);
let exitCode = 0;
try {
  if (!name) throw new Error('usage: worker.ts <case> [epochs|-] [ml100k folder]');
  const epochs = epochsArg && epochsArg !== '-' ? Number(epochsArg) : undefined;
  const scoreUsers = scoreUsersArg === 'all' ? 'all' : scoreUsersArg ? Number(scoreUsersArg) : undefined;
  const threads = threadsArg ? threadsArg.split(',').map(Number) : [1];
  const result = await runCase(name, epochs, { ml100kFolder: folder || DEFAULT_ML100K_FOLDER, scoreUsers, threads }, (event) => {
    void send({ type: 'stage', event });
  });
  await send({ type: 'result', result });
} catch (err) {
  const e = err instanceof Error ? err : new Error(String(err));
  await send({ type: 'error', message: e.message, stack: e.stack });
  exitCode = 1;
}
// tfjs's backends can keep handles open; the measurement is over.
process.exit(exitCode);
