/**
 * Worker-thread entry of the implicit RBM's shared-memory training (implicitShared.ts): instantiates the
 * kernels over the shared memory and runs its share of every command until told to stop.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { SharedThread, type SharedLayout } from './implicitShared.js';

const data = workerData as { layout: SharedLayout; memory: WebAssembly.Memory; module: WebAssembly.Module; tid: number };
let thread: SharedThread | null = null;
try {
  thread = new SharedThread(data.layout, data.memory, data.module, data.tid);
  parentPort!.postMessage({ type: 'ready' });
  thread.serve();
} catch (err) {
  thread?.abort();
  parentPort!.postMessage({ type: 'error', message: (err as Error).message });
}
