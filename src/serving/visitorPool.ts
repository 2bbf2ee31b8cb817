/**
 * Worker threads for visitors' fold-ins (POST /api/recommendations with many ratings), so that a costly
 * one never holds the event loop: the request waits on a message while /api/health and every other
 * request keep being answered.
 *
 * - Each worker (visitorWorker.ts) holds its own copy of every model version a request may still use:
 *   the version's stored state (ModelState tensors) and its item records are posted to it when the holder
 *   loads the version (`load`, before it serves), and it builds the same snapshot the main thread has.
 *   A job names its version, so an answer comes from the one version its request read, even across a hot
 *   swap: a retired version is dropped from the workers only once no job of it is queued or running.
 * - The workers run visitorRecommendations, the code the main thread runs inline: the same numbers.
 * - Bounded: one job a worker at a time plus at most `queueLimit` waiting; past that `recommend` rejects
 *   at once with VisitorPoolBusyError (the server's 503 with Retry-After), never blocking.
 * - A worker that dies is replaced (sent every live version); its job fails with VisitorPoolBusyError.
 *
 * Memory: the pool keeps each live version's state to replay to a replacement worker, and every worker
 * holds a built copy of it (structured-clone copies, the tensors once per worker).
 */
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import type { RatingInput, ScoredItem, VisitorPoolStats } from '../api/types.js';
import type { UserInput } from '../model/index.js';
import { BadRequestError, VisitorPoolBusyError } from './errors.js';
import type { ModelSnapshot } from './modelHolder.js';
import type { ItemRecord, StoredModelVersion } from './ports.js';
import type { ListRequest } from './ranking.js';
import type { VisitorScorer } from './service.js';

/** A model version as a worker receives it. */
export interface VisitorVersionPayload {
  version: StoredModelVersion;
  itemRecords: readonly (ItemRecord | null)[];
}

/**
 * Whose list a job computes: a visitor's posted ratings (folded in by the worker), or a stored user's
 * model input as the main thread built it from the catalog (storedUserInput: their ratings as model
 * indices, their training index, `refit`), so the worker gives the numbers the inline path gives.
 */
export type PoolUser = { kind: 'visitor'; ratings: readonly RatingInput[] } | { kind: 'stored'; input: UserInput };

export interface VisitorJobMessage {
  type: 'job';
  id: number;
  versionId: number;
  user: PoolUser;
  list: ListRequest;
}

/** Messages from the pool to a worker. */
export type VisitorPoolInbound = { type: 'load'; payload: VisitorVersionPayload } | { type: 'drop'; versionId: number } | VisitorJobMessage;

/** Messages from a worker to the pool (`built`: a version sent to it is ready, or failed to build). */
type VisitorWorkerOutbound =
  | { type: 'result'; id: number; items: ScoredItem[] }
  | { type: 'error'; id: number; name: string; message: string }
  | { type: 'built'; versionId: number };

export interface VisitorPoolOptions {
  /** Worker threads (default: one per core but one, at least 1). */
  size?: number;
  /** Jobs waiting for a worker beyond those running; more are refused (default 32). */
  queueLimit?: number;
  /** Requests with fewer ratings are answered inline, cheaper than a thread hop (default 50). */
  minRatings?: number;
  /**
   * Stored users with fewer ratings are answered inline (default DEFAULT_STORED_MIN_RATINGS); the others'
   * lists are computed here when no list of theirs is cached (ServingService.recommendForUserOffLoop).
   */
  minStoredRatings?: number;
  log?: (line: string) => void;
}

export const DEFAULT_VISITOR_QUEUE = 32;
/**
 * Below this many posted ratings the fold-in is answered on the main thread. On ML-100K's watch-like
 * model the inline cost grows with the ratings (the item RBM's user-unit fit); docs/operations.md gives the
 * measured costs behind this choice.
 */
export const DEFAULT_VISITOR_MIN_RATINGS = 50;

/**
 * Stored users with at least this many ratings get their list from the pool. A stored user's fold-in is
 * cheap (their trained parameters), but `because` leaves out each of their ratings in turn, so its cost
 * grows with the ratings: at MovieLens-25M's size a user with a few thousand ratings held the event loop
 * for 30–80 ms, and every request behind them on that process waited. Below a thousand ratings a list
 * costs about as much as the requests' own spread, and a worker, which shares the same cores, answered it
 * no sooner (docs/performance.md, "The tail right after a start").
 */
export const DEFAULT_STORED_MIN_RATINGS = 1000;

export const defaultVisitorWorkers = (): number => Math.max(1, availableParallelism() - 1);

interface Job {
  id: number;
  versionId: number;
  message: VisitorJobMessage;
  resolve: (items: ScoredItem[]) => void;
  reject: (err: Error) => void;
}

interface Slot {
  worker: Worker;
  job: Job | null;
}

interface LiveVersion {
  payload: VisitorVersionPayload;
  /** Jobs of this version queued or running. */
  pending: number;
  /** Swapped out: no new job will name it; dropped when pending reaches 0. */
  retired: boolean;
  /** Workers that were sent the version and have not yet said it is built. */
  building: Set<Worker>;
  /** Told once `building` is empty (see ready). */
  whenBuilt: (() => void)[];
}

export class VisitorPool implements VisitorScorer {
  readonly size: number;
  readonly queueLimit: number;
  readonly minRatings: number;
  readonly minStoredRatings: number;
  private readonly slots: Slot[] = [];
  private readonly queue: Job[] = [];
  private readonly versions = new Map<number, LiveVersion>();
  private readonly log: (line: string) => void;
  private nextJobId = 1;
  private closed = false;

  constructor(options: VisitorPoolOptions = {}) {
    this.size = options.size ?? defaultVisitorWorkers();
    this.queueLimit = options.queueLimit ?? DEFAULT_VISITOR_QUEUE;
    this.minRatings = options.minRatings ?? DEFAULT_VISITOR_MIN_RATINGS;
    this.minStoredRatings = options.minStoredRatings ?? DEFAULT_STORED_MIN_RATINGS;
    this.log = options.log ?? (() => {});
    if (!Number.isInteger(this.size) || this.size < 1) throw new RangeError(`visitor pool size must be an integer ≥ 1, got ${this.size}`);
    if (!Number.isInteger(this.queueLimit) || this.queueLimit < 0)
      throw new RangeError(`visitor pool queue limit must be an integer ≥ 0, got ${this.queueLimit}`);
    for (let n = 0; n < this.size; n++) this.slots.push(this.spawn());
  }

  /** Jobs running and waiting. */
  get inFlight(): number {
    return this.queue.length + this.slots.filter((s) => s.job !== null).length;
  }

  /** Occupancy, as /api/health reports it. */
  stats(): VisitorPoolStats {
    return {
      workers: this.slots.length,
      running: this.slots.filter((s) => s.job !== null).length,
      queued: this.queue.length,
      queueLimit: this.queueLimit,
      minRatings: this.minRatings,
      minStoredRatings: this.minStoredRatings,
    };
  }

  /** Sends a loaded version to every worker (the holder calls it before the version serves). */
  load(snapshot: ModelSnapshot, version: StoredModelVersion): void {
    if (this.closed || this.versions.has(snapshot.versionId)) return;
    const payload: VisitorVersionPayload = {
      version: {
        id: version.id,
        createdAt: version.createdAt,
        meta: version.meta,
        tensors: version.tensors,
        ...(version.catalogGeneration === undefined ? {} : { catalogGeneration: version.catalogGeneration }),
      },
      itemRecords: snapshot.itemRecords,
    };
    this.versions.set(snapshot.versionId, {
      payload,
      pending: 0,
      retired: false,
      building: new Set(this.slots.map((s) => s.worker)),
      whenBuilt: [],
    });
    for (const slot of this.slots) slot.worker.postMessage({ type: 'load', payload } satisfies VisitorPoolInbound);
  }

  /**
   * Resolves once every worker has built the version sent by `load` (or failed to, or stopped): building
   * a large model (at MovieLens-25M's size, a copy of about a gigabyte of tensors, then its maps) takes
   * the worker seconds of CPU, which the server waits for before the version takes requests, rather than
   * let it compete with the first requests for the cores. Resolves at once for a version never loaded.
   */
  ready(versionId: number): Promise<void> {
    const live = this.versions.get(versionId);
    if (!live || live.building.size === 0) return Promise.resolve();
    return new Promise((resolve) => live.whenBuilt.push(resolve));
  }

  /** The version stops serving: dropped from the workers once its last job is answered. */
  retire(versionId: number): void {
    const live = this.versions.get(versionId);
    if (!live) return;
    live.retired = true;
    this.dropIfDone(versionId, live);
  }

  /** Whether requests of this version can be sent here. */
  serves(versionId: number): boolean {
    const live = this.versions.get(versionId);
    return !this.closed && live !== undefined && !live.retired;
  }

  /**
   * The visitor's list from a worker, from `snapshot`'s version. Rejects at once with
   * VisitorPoolBusyError when every worker is busy and the queue is full.
   */
  recommend(snapshot: ModelSnapshot, ratings: readonly RatingInput[], list: ListRequest): Promise<ScoredItem[]> {
    return this.submit(snapshot, { kind: 'visitor', ratings }, list);
  }

  /** A stored user's list (from their model input) from a worker; rejects as `recommend` does. */
  recommendStored(snapshot: ModelSnapshot, input: UserInput, list: ListRequest): Promise<ScoredItem[]> {
    return this.submit(snapshot, { kind: 'stored', input }, list);
  }

  private submit(snapshot: ModelSnapshot, user: PoolUser, list: ListRequest): Promise<ScoredItem[]> {
    const live = this.versions.get(snapshot.versionId);
    if (this.closed || !live || live.retired)
      return Promise.reject(new Error(`the visitor pool does not serve model version ${snapshot.versionId}`));
    const idle = this.slots.find((s) => s.job === null);
    if (!idle && this.queue.length >= this.queueLimit) {
      return Promise.reject(
        new VisitorPoolBusyError(
          `the server is busy with other visitors' recommendations (${this.inFlight} in progress); nothing was changed, try again shortly`,
        ),
      );
    }
    const id = this.nextJobId++;
    const message: VisitorJobMessage = {
      type: 'job',
      id,
      versionId: snapshot.versionId,
      user,
      list,
    };
    return new Promise<ScoredItem[]>((resolve, reject) => {
      const job: Job = { id, versionId: snapshot.versionId, message, resolve, reject };
      live.pending++;
      if (idle) this.dispatch(idle, job);
      else this.queue.push(job);
    });
  }

  /** Refuses queued jobs, stops the workers. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const job of this.queue.splice(0)) job.reject(new VisitorPoolBusyError('the server is shutting down'));
    for (const live of this.versions.values()) this.builtBy(live, null);
    await Promise.all(this.slots.map((s) => s.worker.terminate()));
    for (const slot of this.slots) {
      slot.job?.reject(new VisitorPoolBusyError('the server is shutting down'));
      slot.job = null;
    }
    this.versions.clear();
  }

  private spawn(): Slot {
    const worker = new Worker(new URL('../rbm/worker-boot.mjs', import.meta.url), {
      workerData: { entry: new URL('./visitorWorker.ts', import.meta.url).href },
    });
    // The pool never keeps the process alive on its own (the server, or a test, closes it).
    worker.unref();
    const slot: Slot = { worker, job: null };
    for (const live of this.versions.values()) worker.postMessage({ type: 'load', payload: live.payload } satisfies VisitorPoolInbound);
    worker.on('message', (m: VisitorWorkerOutbound) => {
      if (m.type === 'built') {
        const live = this.versions.get(m.versionId);
        if (live) this.builtBy(live, worker);
      } else this.answered(slot, m);
    });
    worker.on('error', (err) => this.log(`visitor worker failed: ${err.stack ?? err.message}`));
    worker.on('exit', (code) => this.exited(slot, code));
    return slot;
  }

  private dispatch(slot: Slot, job: Job): void {
    slot.job = job;
    slot.worker.postMessage(job.message);
  }

  /** `worker` has built `live` (null: every worker, the pool is closing); tells the waiters when none is left. */
  private builtBy(live: LiveVersion, worker: Worker | null): void {
    if (worker) live.building.delete(worker);
    else live.building.clear();
    if (live.building.size > 0) return;
    for (const resolve of live.whenBuilt.splice(0)) resolve();
  }

  private answered(slot: Slot, m: Exclude<VisitorWorkerOutbound, { type: 'built' }>): void {
    const job = slot.job;
    if (!job || job.id !== m.id) return;
    slot.job = null;
    this.finished(job);
    if (m.type === 'result') job.resolve(m.items);
    // The errors visitorRecommendations raises for a client's request keep their type (a 400); anything
    // else is a failure on our side (a 500 that is logged).
    else job.reject(m.name === 'BadRequestError' ? new BadRequestError(m.message) : new Error(`visitor worker: ${m.name}: ${m.message}`));
    const next = this.queue.shift();
    if (next) this.dispatch(slot, next);
  }

  private exited(slot: Slot, code: number): void {
    if (this.closed) return;
    const index = this.slots.indexOf(slot);
    if (index < 0) return;
    const job = slot.job;
    slot.job = null;
    if (job) {
      this.finished(job);
      job.reject(new VisitorPoolBusyError('the worker answering this request stopped; try again'));
    }
    // Its versions are no longer waited for (its replacement builds them in the background).
    for (const live of this.versions.values()) this.builtBy(live, slot.worker);
    this.log(`visitor worker stopped (exit code ${code}): starting another`);
    const replacement = this.spawn();
    this.slots[index] = replacement;
    const next = this.queue.shift();
    if (next) this.dispatch(replacement, next);
  }

  private finished(job: Job): void {
    const live = this.versions.get(job.versionId);
    if (!live) return;
    live.pending--;
    this.dropIfDone(job.versionId, live);
  }

  private dropIfDone(versionId: number, live: LiveVersion): void {
    if (!live.retired || live.pending > 0) return;
    this.versions.delete(versionId);
    for (const slot of this.slots) slot.worker.postMessage({ type: 'drop', versionId } satisfies VisitorPoolInbound);
  }
}
