/**
 * The helper threads of a multi-threaded wasm CD engine (cdEngine.ts): threads − 1 workers (cdHelper.ts),
 * each with its own instance of the kernels on the engine's shared memory, that join the engine's own
 * thread in every parallelEpoch (wasm/cdKernels.as.ts). The engine's thread leads.
 *
 * trainRbm is synchronous, so the lead never yields to its event loop while training: everything between
 * the threads goes through a small SharedArrayBuffer with Atomics (a command and its arguments, a ready
 * count, a failure message), never through messages. The helpers are unref'd: they never keep a process
 * alive, and close() ends them.
 */
import { Worker } from 'node:worker_threads';

/** Int32 slots of the control buffer. */
export const CONTROL = {
  /** Bumped for every command; helpers sleep on it. */
  generation: 0,
  command: 1,
  /** Helpers that have planned their instance and wait for commands. */
  ready: 2,
  /** 1 once a helper has failed (its message below). */
  failed: 3,
  messageLength: 4,
  /** Helpers that have finished the current normal command. */
  done: 5,
} as const;
/**
 * epoch: parallelEpoch; rows: parallelRows (the validation pass, the hidden features); normal: each helper
 * fills its part of W with normal draws (normalPairs, from its own arguments at partArgs); quit.
 */
export const COMMAND = { epoch: 1, quit: 2, rows: 3, normal: 4 } as const;
/** Float64 arguments of the epoch command start at this byte; the failure message (UTF-8) at MESSAGE_AT. */
export const ARGS_AT = 64;
export const ARG_COUNT = 9;
export const MESSAGE_AT = 256;
export const MESSAGE_BYTES = 1024;
/** Each worker's own Float64 slots (its part of a normal command and what it reports) start here. */
export const PARTS_AT = MESSAGE_AT + MESSAGE_BYTES;
export const PART_SLOTS = 16;
/** A normal command's part: its arguments (NORMAL_*), then what the helper reports (REPORT_*). */
export const NORMAL = { ptrW: 0, start: 1, end: 2, state: 3, scale: 7 } as const;
export const REPORT = { redrawn: 8, state: 9 } as const;

/** The Float64 slots of `worker`'s part of the control buffer. */
export function partOf(control: SharedArrayBuffer, worker: number): Float64Array {
  return new Float64Array(control, PARTS_AT + worker * PART_SLOTS * 8, PART_SLOTS);
}

/** What a helper is started with (workerData, besides worker-boot's `entry`). */
export interface HelperData {
  module: WebAssembly.Module;
  memory: WebAssembly.Memory;
  /** plan's arguments but the last two (workers, worker). */
  planArgs: number[];
  workers: number;
  worker: number;
  control: SharedArrayBuffer;
}

/** How long the lead waits for its helpers to start (loading tsx and the module) before giving up. */
const START_TIMEOUT_MS = 120_000;

export class CdHelperThreads {
  private readonly control: SharedArrayBuffer;
  private readonly words: Int32Array;
  private readonly args: Float64Array;
  private readonly workers: Worker[] = [];
  private started = false;

  constructor(module: WebAssembly.Module, memory: WebAssembly.Memory, planArgs: number[], threads: number) {
    this.control = new SharedArrayBuffer(PARTS_AT + threads * PART_SLOTS * 8);
    this.words = new Int32Array(this.control, 0, 16);
    this.args = new Float64Array(this.control, ARGS_AT, ARG_COUNT);
    const entry = new URL('./cdHelper.ts', import.meta.url).href;
    for (let worker = 1; worker < threads; worker++) {
      const data: HelperData & { entry: string } = { entry, module, memory, planArgs, workers: threads, worker, control: this.control };
      const w = new Worker(new URL('./worker-boot.mjs', import.meta.url), { workerData: data });
      // A failure before the helper's own code runs (it reports later ones itself) must not go unhandled;
      // the lead notices the missing helper through the ready count.
      w.on('error', () => {});
      w.unref();
      this.workers.push(w);
    }
  }

  /** Blocks until every helper is ready; throws if one failed or they did not start in time. */
  private awaitReady(): void {
    const deadline = performance.now() + START_TIMEOUT_MS;
    for (;;) {
      this.throwIfFailed();
      const ready = Atomics.load(this.words, CONTROL.ready);
      if (ready === this.workers.length) return;
      const left = deadline - performance.now();
      if (left <= 0) throw new Error(`${this.workers.length - ready} of ${this.workers.length} training helper threads did not start`);
      Atomics.wait(this.words, CONTROL.ready, ready, Math.min(left, 1000));
    }
  }

  /** Starts the helpers on one parallelEpoch with these arguments (the lead then runs its own share). */
  startEpoch(args: readonly number[]): void {
    this.start(COMMAND.epoch, args);
  }

  /** Starts the helpers on one parallelRows with these arguments (the lead then runs its own share). */
  startRows(args: readonly number[]): void {
    this.start(COMMAND.rows, args);
  }

  /**
   * Runs a normal command: helper w (1 … threads − 1) fills W[start, end) of parts[w] (its arguments:
   * NORMAL) while `own` runs here; returns when every helper is done, each part holding what its helper
   * reports (REPORT). Throws if a helper failed.
   */
  runNormal(parts: readonly (readonly number[])[], own: () => void): Float64Array[] {
    const slots = parts.map((_, w) => partOf(this.control, w));
    for (let w = 1; w < parts.length; w++) slots[w].set(parts[w]);
    Atomics.store(this.words, CONTROL.done, 0);
    this.start(COMMAND.normal, []);
    own();
    for (;;) {
      this.throwIfFailed();
      const done = Atomics.load(this.words, CONTROL.done);
      if (done === this.workers.length) return slots;
      Atomics.wait(this.words, CONTROL.done, done, 1000);
    }
  }

  private start(command: number, args: readonly number[]): void {
    if (!this.started) {
      this.awaitReady();
      this.started = true;
    }
    this.args.set(args);
    Atomics.store(this.words, CONTROL.command, command);
    Atomics.add(this.words, CONTROL.generation, 1);
    Atomics.notify(this.words, CONTROL.generation);
  }

  /** Throws the failure a helper reported, if any. */
  throwIfFailed(): void {
    if (Atomics.load(this.words, CONTROL.failed) === 0) return;
    const length = Atomics.load(this.words, CONTROL.messageLength);
    // TextDecoder refuses views on shared memory: copy the bytes out first.
    const bytes = new Uint8Array(this.control, MESSAGE_AT, length).slice();
    throw new Error(`a training helper thread failed: ${new TextDecoder().decode(bytes)}`);
  }

  close(): void {
    Atomics.store(this.words, CONTROL.command, COMMAND.quit);
    Atomics.add(this.words, CONTROL.generation, 1);
    Atomics.notify(this.words, CONTROL.generation);
  }
}
