/**
 * Worker-thread entry of one helper of a multi-threaded wasm CD engine (see cdThreads.ts): instantiates
 * the kernels on the engine's shared memory, plans the same layout as the lead (its own index picks its
 * scratch), reports ready, then runs parallelEpoch for every epoch command (parallelRows for every rows
 * command) until told to quit. A failure
 * is written to the control buffer and aborts the epoch, so the lead's barriers return instead of waiting.
 */
import { workerData } from 'node:worker_threads';
import { normalPairs } from '../rng.js';
import { ARG_COUNT, ARGS_AT, COMMAND, CONTROL, MESSAGE_AT, MESSAGE_BYTES, NORMAL, partOf, REPORT, type HelperData } from './cdThreads.js';

// A type alias, not an interface: WebAssembly.Exports can then be narrowed to it (as in cdEngine.ts).
type HelperExports = {
  plan(...args: number[]): number;
  parallelEpoch(...args: number[]): number;
  parallelRows(what: number, count: number, chunk: number): number;
  abortParallel(): void;
};

const data = workerData as HelperData;
const words = new Int32Array(data.control, 0, 16);
const args = new Float64Array(data.control, ARGS_AT, ARG_COUNT);
let kernels: HelperExports | null = null;

try {
  kernels = new WebAssembly.Instance(data.module, { env: { memory: data.memory } }).exports as HelperExports;
  if (kernels.plan(...data.planArgs, data.workers, data.worker) === 0) throw new Error('the helper could not plan its memory');
  Atomics.add(words, CONTROL.ready, 1);
  Atomics.notify(words, CONTROL.ready);
  let seen = 0;
  for (;;) {
    Atomics.wait(words, CONTROL.generation, seen);
    seen = Atomics.load(words, CONTROL.generation);
    const command = Atomics.load(words, CONTROL.command);
    if (command === COMMAND.quit) break;
    if (command === COMMAND.rows) kernels.parallelRows(args[0], args[1], args[2]);
    else if (command === COMMAND.normal) normalPart();
    else kernels.parallelEpoch(...args);
  }
} catch (err) {
  fail(err);
}

/** This helper's part of W's initial normal draws (WasmCdEngine.initWeightsNormal), then reports. */
function normalPart(): void {
  const part = partOf(data.control, data.worker);
  const end = part[NORMAL.end];
  const W = new Float32Array(data.memory.buffer, part[NORMAL.ptrW], end);
  const state = Int32Array.from(part.subarray(NORMAL.state, NORMAL.state + 4));
  part[REPORT.redrawn] = normalPairs(W, part[NORMAL.start], end, state, part[NORMAL.scale]);
  part.set(state, REPORT.state);
  Atomics.add(words, CONTROL.done, 1);
  Atomics.notify(words, CONTROL.done);
}

function fail(err: unknown): void {
  const bytes = new TextEncoder().encode(`helper ${data.worker}: ${(err as Error).message}`).subarray(0, MESSAGE_BYTES);
  new Uint8Array(data.control, MESSAGE_AT, bytes.length).set(bytes);
  Atomics.store(words, CONTROL.messageLength, bytes.length);
  Atomics.store(words, CONTROL.failed, 1);
  Atomics.notify(words, CONTROL.ready);
  // Wake the lead out of its barrier: the abort word is in the shared memory.
  kernels?.abortParallel();
}
