/**
 * N server processes on one port (node:cluster): the primary prepares the database once (seed, first
 * model), forks the workers, says `listening on …` when all of them listen, restarts a worker that dies,
 * and on SIGTERM / SIGINT asks every worker to drain (each stops accepting, finishes its requests in flight,
 * closes its database) and exits when all have.
 *
 * Each worker is a whole server (`launch`): its own database connection (SQLite, or a PostgreSQL pool and
 * LISTEN connection), its own model holder polling for new versions (and precomputing before it swaps), its
 * own in-memory catalog. Over SQLite, writes go through its lock, one at a time whatever the process, and a
 * worker sees another's writes through its change feed (catalogCache.ts) within `changeCheckMs`; over
 * PostgreSQL, through LISTEN/NOTIFY (catalogMirror.ts), as replicas on other machines do. The primary accepts connections and hands them to the workers
 * in turn (Node's round-robin policy), so a keep-alive connection stays with one worker.
 */
import cluster, { type Worker } from 'node:cluster';
import { launch, prepareDatabase, type LaunchedServer, type LaunchOptions } from './main.js';

/** Messages from a worker to the primary. */
type WorkerMessage = { type: 'listening'; url: string } | { type: 'failed'; message: string };

export interface ClusterOptions {
  workers: number;
  /** Told once, when every worker listens. */
  onListening: (url: string) => void;
  log?: (line: string) => void;
}

/** A worker that dies this soon after it started is not restarted (a crash loop): the cluster stops. */
const CRASH_LOOP_MS = 10_000;

/**
 * In the primary: runs the cluster until a signal stops it; resolves with the exit code to use. In a
 * worker: starts the server and reports to the primary (the promise then never resolves: the worker's
 * signal handling ends the process).
 */
export async function runCluster(launchOptions: LaunchOptions, options: ClusterOptions): Promise<number> {
  const log = options.log ?? ((line: string) => process.stderr.write(line + '\n'));
  if (cluster.isWorker) {
    await runWorker(launchOptions, log);
    return new Promise<number>(() => {});
  }
  await prepareDatabase({ ...launchOptions, log });

  return new Promise<number>((resolve) => {
    const started = new Map<Worker, number>();
    const listening = new Set<Worker>();
    let stopping = false;
    let reported = false;
    let exitCode = 0;

    const stopAll = (code: number, why: string): void => {
      if (stopping) return;
      stopping = true;
      exitCode = code;
      log(`${why}: finishing requests in flight in ${started.size} worker(s), then exiting`);
      for (const worker of started.keys()) worker.process.kill('SIGTERM');
      if (started.size === 0) resolve(exitCode);
    };
    const fork = (): void => {
      const worker = cluster.fork({ RBM_WORKER: '1' });
      started.set(worker, Date.now());
      worker.on('message', (message: WorkerMessage) => {
        if (message.type === 'failed') {
          stopAll(1, `a worker could not start: ${message.message}`);
          return;
        }
        listening.add(worker);
        if (!reported && listening.size === options.workers) {
          reported = true;
          options.onListening(message.url);
        }
      });
      worker.on('exit', (code, signal) => {
        const since = started.get(worker) ?? 0;
        started.delete(worker);
        listening.delete(worker);
        if (stopping) {
          if (started.size === 0) resolve(exitCode);
          return;
        }
        const how = signal ? `signal ${signal}` : `code ${code}`;
        if (Date.now() - since < CRASH_LOOP_MS) {
          stopAll(1, `worker ${worker.process.pid} exited (${how}) soon after it started`);
          return;
        }
        log(`worker ${worker.process.pid} exited (${how}): starting another`);
        fork();
      });
    };
    // A signal while stopping changes nothing (a process-group kill through a launcher delivers SIGTERM
    // twice): the workers are already draining, each within launch's grace period.
    const onSignal = (signal: string): void => {
      if (stopping) log(`${signal} again: still finishing requests in flight (SIGKILL stops at once)`);
      else stopAll(0, signal);
    };
    process.on('SIGTERM', () => onSignal('SIGTERM'));
    process.on('SIGINT', () => onSignal('SIGINT'));
    for (let n = 0; n < options.workers; n++) fork();
  });
}

async function runWorker(launchOptions: LaunchOptions, log: (line: string) => void): Promise<void> {
  const send = (message: WorkerMessage): void => void process.send?.(message);
  let server: LaunchedServer;
  try {
    server = await launch({
      ...launchOptions,
      log: (line) => log(`[worker ${process.pid}] ${line}`),
    });
  } catch (err) {
    send({ type: 'failed', message: (err as Error).message });
    process.exit(1);
  }
  send({ type: 'listening', url: server.url });
  let stopping = false;
  const drain = (): void => {
    if (stopping) return;
    stopping = true;
    server.close().then(
      () => process.exit(0),
      (err: unknown) => {
        log(`[worker ${process.pid}] shutdown failed: ${(err as Error).message}`);
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', drain);
  // Ctrl-C reaches every process of the group; the primary waits for the workers' exits.
  process.on('SIGINT', drain);
  // The primary is gone: nobody hands out connections any more.
  process.on('disconnect', drain);
}
