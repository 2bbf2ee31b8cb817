// Worker-thread bootstrap: registers tsx's loader in this thread, then runs the TypeScript entry named in
// workerData.entry (Node's workers do not inherit the parent's TypeScript loader).
import { workerData } from 'node:worker_threads';
import { register } from 'tsx/esm/api';

register();
await import(workerData.entry);
