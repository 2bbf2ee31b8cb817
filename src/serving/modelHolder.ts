/**
 * Holds the model version being served, and swaps it when a newer one is saved.
 *
 * Everything derived from a version (the TrainedModel, the external-id → index maps, the catalog records
 * of its items) is built into ONE frozen `ModelSnapshot` before the holder's reference is replaced. A
 * request reads `holder.snapshot` once and works with that object to the end, so it sees one model whole
 * even if a swap happens meanwhile: a JavaScript reference assignment is atomic, and a snapshot is never
 * mutated after it is built.
 *
 * `npm run train` runs in another process and only writes to SQLite, so the holder polls
 * `ModelStore.currentId()` (a one-row query, cheap in WAL mode) every `pollMs` and loads a version whose
 * id differs from the one served.
 * With a `warm` step (the server's: precompute every user's top list), the poll uses `update()`: the new
 * snapshot is built and warmed while the old one keeps serving, and only then swapped in, so no request
 * meets a cold model.
 *
 * Stale: when an import changes the catalog (its generation moves past the one the served model was
 * trained on), the holder keeps the snapshot as it is: the model with the titles read when it was loaded,
 * one consistent picture, rather than the old model labelled with the new catalog's titles. `staleness()`
 * says so (reported by /api/health) until a model trained on the new catalog is current.
 */
import type { ModelMeta, ModelState, TrainedModel } from '../model/index.js';
import { ModelUnavailableError } from './errors.js';
import { getItemsChunked, type CatalogReader, type ItemRecord, type ModelVersionSource, type StoredModelVersion } from './ports.js';

export interface ModelSnapshot {
  readonly versionId: number;
  /** Milliseconds since the epoch: ratings changed after this are refitted at fold-in. */
  readonly createdAt: number;
  readonly meta: ModelMeta;
  readonly model: TrainedModel;
  readonly ratingLevels: readonly number[];
  /** External user id → the model's user index. */
  readonly userIndex: ReadonlyMap<number, number>;
  /** External item id → the model's item index. */
  readonly itemIndex: ReadonlyMap<number, number>;
  /**
   * Catalog record (title, year, genres) of each model item index, read once per version so that
   * recommendations and the genre filter need no query per candidate; null if the catalog lacks the item.
   */
  readonly itemRecords: readonly (ItemRecord | null)[];
  /** The catalog generation the model was trained on; null when unknown. */
  readonly catalogGeneration: number | null;
}

export type ModelFactory = (state: ModelState) => TrainedModel;

function loadItemRecords(catalog: Pick<CatalogReader, 'getItems'>, itemIds: readonly number[]): (ItemRecord | null)[] {
  const byId = new Map(getItemsChunked(catalog, itemIds).map((record) => [record.itemId, record]));
  return itemIds.map((id) => byId.get(id) ?? null);
}

export function buildSnapshot(
  version: StoredModelVersion,
  catalog: Pick<CatalogReader, 'getItems'>,
  fromState: ModelFactory,
): ModelSnapshot {
  const { meta, tensors } = version;
  const model = fromState({ meta, tensors });
  return Object.freeze({
    versionId: version.id,
    createdAt: version.createdAt,
    meta,
    model,
    ratingLevels: Object.freeze([...model.ratingLevels]),
    userIndex: new Map(meta.userIds.map((id, u) => [id, u])),
    itemIndex: new Map(meta.itemIds.map((id, i) => [id, i])),
    itemRecords: Object.freeze(loadItemRecords(catalog, meta.itemIds)),
    catalogGeneration: version.catalogGeneration ?? null,
  });
}

export interface ModelHolderOptions {
  models: ModelVersionSource;
  catalog: Pick<CatalogReader, 'getItems'>;
  fromState: ModelFactory;
  /** How often to look for a newer version, in milliseconds (default 2000; 0 disables polling). */
  pollMs?: number;
  /** The catalog's current generation (CatalogStore.generation); without it staleness is not tracked. */
  catalogGeneration?: () => number;
  log?: (line: string) => void;
  /**
   * Prepares a loaded snapshot before it takes traffic (the server precomputes every user's top list);
   * the served snapshot keeps answering until it resolves. Used by `update()` (the poll), not by the
   * synchronous `refresh()` / `serveVersion()`. `superseded()` turns true when a newer load began.
   */
  warm?: (next: ModelSnapshot, superseded: () => boolean) => Promise<void>;
  /**
   * Told when a version was loaded, before it serves, with the stored version it was built from (the
   * server sends it to the visitor pool's workers). Every snapshot told here is later told to onRetire.
   */
  onLoad?: (next: ModelSnapshot, version: StoredModelVersion) => void;
  /** Told when a snapshot stops being served (swapped out or closed), after its model was disposed. */
  onRetire?: (previous: ModelSnapshot) => void;
}

export class ModelHolder {
  private current: ModelSnapshot | null = null;
  private timer: NodeJS.Timeout | null = null;
  /** A version that failed to load is reported once, not at every poll. */
  private failedId: number | null = null;
  private reportedNoCurrent = false;
  /** The version a background `update()` is loading and warming, so the poll starts it only once. */
  private loadingId: number | null = null;
  private loads = 0;
  private readonly log: (line: string) => void;

  constructor(private readonly options: ModelHolderOptions) {
    this.log = options.log ?? (() => {});
  }

  /** The snapshot being served, or null before any model version exists. */
  get snapshot(): ModelSnapshot | null {
    return this.current;
  }

  /** The snapshot for a request that needs a model (the server answers the error with a 503). */
  require(): ModelSnapshot {
    const snapshot = this.current;
    if (!snapshot) throw new ModelUnavailableError();
    return snapshot;
  }

  /**
   * Why the served snapshot no longer matches the catalog, or null when it does (or nothing is served).
   * One indexed read of the generation.
   */
  staleness(): string | null {
    const snapshot = this.current;
    const generationOf = this.options.catalogGeneration;
    if (!snapshot || snapshot.catalogGeneration === null || !generationOf) return null;
    const generation = generationOf();
    if (generation === snapshot.catalogGeneration) return null;
    return (
      `the catalog changed after model version ${snapshot.versionId} was trained (catalog generation ` +
      `${snapshot.catalogGeneration} → ${generation}): still answering from version ${snapshot.versionId} with the ` +
      'titles it was loaded with until a model trained on the new catalog is current (run npm run train)'
    );
  }

  /**
   * Loads the current version if it is not the one served. Returns true when the snapshot changed.
   * A version that fails to load leaves the served one in place.
   */
  refresh(): boolean {
    const id = this.options.models.currentId();
    if (id === null && this.current !== null && !this.reportedNoCurrent) {
      // An import of another data set retires the current version: keep answering with the one in
      // memory (better than errors) until a model is trained on the new catalog.
      this.reportedNoCurrent = true;
      this.log(`the database has no current model version any more; still serving version ${this.current.versionId} until one is trained`);
    }
    if (id === null || id === this.current?.versionId || id === this.failedId) return false;
    this.reportedNoCurrent = false;
    return this.serveVersion(id);
  }

  /**
   * Loads version `id` and serves it, current or not (the start-up fallback serves an older version when
   * the current one is damaged). Returns false, logging why and keeping the served snapshot, when it
   * fails to load.
   */
  serveVersion(id: number): boolean {
    const next = this.build(id);
    if (!next) return false;
    this.swapTo(next);
    return true;
  }

  /**
   * `refresh()` for a running server: loads a new current version, warms it (`options.warm`) while the
   * served snapshot keeps answering, then swaps. Resolves true when the snapshot changed. Never rejects:
   * a failed load or warm-up is logged and the served version stays.
   */
  async update(): Promise<boolean> {
    let id: number | null;
    try {
      id = this.options.models.currentId();
    } catch (err) {
      // e.g. the database is briefly busy: try again at the next poll.
      this.log(`model poll failed: ${(err as Error).message}`);
      return false;
    }
    if (id === null) {
      this.refresh(); // reports a retired current version once
      return false;
    }
    if (id === this.current?.versionId || id === this.failedId || id === this.loadingId) return false;
    this.reportedNoCurrent = false;
    const next = this.build(id);
    if (!next) return false;
    const load = ++this.loads;
    this.loadingId = id;
    const superseded = (): boolean => load !== this.loads || this.closed;
    try {
      if (this.options.warm) {
        this.log(`model version ${id} loaded: preparing it while version ${this.current?.versionId ?? 'none'} serves`);
        await this.options.warm(next, superseded);
      }
    } catch (err) {
      this.log(`model version ${id} could not be prepared, still serving ${this.current?.versionId ?? 'none'}: ${(err as Error).message}`);
      this.failedId = id;
      next.model.dispose();
      this.options.onRetire?.(next);
      return false;
    } finally {
      if (load === this.loads) this.loadingId = null;
    }
    if (superseded()) {
      next.model.dispose();
      this.options.onRetire?.(next);
      return false;
    }
    this.swapTo(next);
    return true;
  }

  private closed = false;

  private build(id: number): ModelSnapshot | null {
    try {
      const version = this.options.models.load(id);
      const next = buildSnapshot(version, this.options.catalog, this.options.fromState);
      this.options.onLoad?.(next, version);
      return next;
    } catch (err) {
      this.failedId = id;
      this.log(`model version ${id} could not be loaded, still serving ${this.current?.versionId ?? 'none'}: ${(err as Error).message}`);
      return null;
    }
  }

  private swapTo(next: ModelSnapshot): void {
    const previous = this.current;
    this.current = next; // the swap: one reference assignment
    this.failedId = null;
    // Requests are answered synchronously, so none is still using the previous model: free what it holds
    // outside the heap (its tfjs tensors) now rather than whenever it is collected.
    previous?.model.dispose();
    if (previous) this.options.onRetire?.(previous);
    this.log(
      `serving model version ${next.versionId} (${next.model.algorithm}, ${next.model.userIds.length} users × ${next.model.itemIds.length} items)` +
        (previous ? `, replacing version ${previous.versionId}` : ''),
    );
  }

  /** Starts polling (unref'd: it never keeps the process alive on its own). */
  start(): void {
    const pollMs = this.options.pollMs ?? 2000;
    if (this.timer || pollMs <= 0) return;
    this.timer = setInterval(() => {
      try {
        if (this.options.warm) void this.update();
        else this.refresh();
      } catch (err) {
        // e.g. the database is briefly busy: try again at the next tick.
        this.log(`model poll failed: ${(err as Error).message}`);
      }
    }, pollMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  /** Stops polling and frees the served model. */
  close(): void {
    this.stop();
    this.closed = true;
    const previous = this.current;
    previous?.model.dispose();
    this.current = null;
    if (previous) this.options.onRetire?.(previous);
  }
}
