/**
 * Precomputed top-N lists: every stored user's best `size` items under one model snapshot, computed in
 * the background when the snapshot is loaded (start or hot swap) so that the first requests after it find
 * an answer instead of queueing behind fold-ins.
 *
 * A list keeps, for its items only, exactly the numbers a full scoring gives (score, expected rating, the
 * K-level distribution), copied from the same `UserScores`: an answer read from it equals the direct
 * path's for any `limit` up to `size` (or any limit when the list holds every eligible item), without a
 * genre filter. A genre, or a longer list, falls back to full scoring.
 *
 * Memory: size × (3 + K) × 4 bytes per user, not the items × (K + 2) floats of the full scores; when even
 * that exceeds the budget for every user, `size` shrinks (down to MIN_SIZE), then only the first users
 * (by id) are precomputed and the others are scored on their first request.
 *
 * Validity: an entry is dropped when its user's ratings change (CatalogCache's listeners) and a whole
 * table when the catalog changes; a table belongs to one snapshot and is dropped when it is retired.
 */
import type { BecauseItem, ScoredItem } from '../api/types.js';
import type { ModelSnapshot } from './modelHolder.js';
import type { CatalogReader, ItemRecord } from './ports.js';
import { firstOf, rankUsers, type RankedItems } from './ranking.js';
import { becauseLists, roundScore } from './answers.js';
import { rankBlockSizeFor } from './batches.js';
import { storedUserInput } from './inputs.js';

export const DEFAULT_TOP_LIST_SIZE = 100;
export const DEFAULT_TOP_LIST_BYTES = 256 * 1024 * 1024;
/** Shortest list worth keeping: the API's default `limit`. */
const MIN_SIZE = 10;
/**
 * Users scored between two yields to the event loop while precomputing: small, so requests still served
 * by the old snapshot wait for one small block at most, not for the whole precompute.
 */
export const DEFAULT_PRECOMPUTE_BLOCK = 4;

/** A user's list (RankedItems: items best first, their numbers, `complete` when it holds every eligible item). */
interface TopEntry extends RankedItems {
  /**
   * `because` of the first items (the API's default page), computed with the list so the first request
   * after a start or a hot swap does no leave-one-out work; null when the list was kept on demand.
   */
  readonly because: BecauseItem[][] | null;
}

/** Items per list whose `because` is precomputed: the API's default `limit`. */
export const BECAUSE_PRECOMPUTED = 10;

interface Table {
  readonly size: number;
  readonly entries: Map<number, TopEntry>;
  /** Users precomputed at most (the memory budget's share); later users are added on demand up to it. */
  readonly maxUsers: number;
}

export interface TopListsOptions {
  /** Items kept per user (default 100). */
  size?: number;
  /** Memory for one snapshot's lists (default 256 MiB). */
  maxBytes?: number;
  /** Users per scoring block while precomputing (default 4). */
  blockUsers?: number;
  /**
   * Longest a precompute may run, in milliseconds of wall clock (default 30 s). A version does not serve
   * until its precompute ends, so at MovieLens-25M size (162,541 users, minutes of work) waiting for every
   * list would keep the port closed (at start) or the old version serving (on a swap) for that long. The
   * users left are ranked on their first request (the pruned top-k: milliseconds) and kept from then on.
   */
  budgetMs?: number;
}

export const DEFAULT_PRECOMPUTE_BUDGET_MS = 30_000;

export interface PrecomputeOptions {
  /** True stops the precompute early (a newer version arrived). */
  cancelled?: () => boolean;
  /**
   * Share of the time the precompute may take while the server answers requests (default 1: yield to the
   * event loop between blocks, nothing more). Below 1, each block of duration d is followed by a pause of
   * d·(1 − share)/share, leaving the cores to the requests still served by the old snapshot; other worker
   * processes precompute at the same time on the same cores.
   */
  share?: number;
}

export interface PrecomputeReport {
  users: number;
  size: number;
  /** Users beyond the memory budget (scored on their first request). */
  skippedUsers: number;
  /** Users not reached within the time budget (scored on their first request). */
  outOfTimeUsers: number;
}

const yieldToEventLoop = (pauseMs: number): Promise<void> =>
  new Promise((resolve) => (pauseMs >= 1 ? setTimeout(resolve, pauseMs) : setImmediate(resolve)));

export class TopLists {
  private readonly tables = new Map<ModelSnapshot, Table>();
  private readonly size: number;
  private readonly maxBytes: number;
  private readonly blockUsers: number;
  private readonly budgetMs: number;

  constructor(options: TopListsOptions = {}) {
    this.size = options.size ?? DEFAULT_TOP_LIST_SIZE;
    this.budgetMs = options.budgetMs ?? DEFAULT_PRECOMPUTE_BUDGET_MS;
    if (!(this.budgetMs >= 0)) throw new RangeError(`top list time budget must be ≥ 0 ms, got ${this.budgetMs}`);
    this.maxBytes = options.maxBytes ?? DEFAULT_TOP_LIST_BYTES;
    this.blockUsers = options.blockUsers ?? DEFAULT_PRECOMPUTE_BLOCK;
    if (!Number.isSafeInteger(this.size) || this.size < 0)
      throw new RangeError(`top list size must be a whole number ≥ 0, got ${this.size}`);
  }

  /**
   * Ranks every user of `userIds` under `snapshot` in blocks (serving's rankUsers: the pruned top-k when
   * the model bounds its scores, else the dense products of `scoreUsers`),
   * yielding to the event loop between blocks, and keeps their top lists. Resolves when all are done.
   */
  async precompute(
    snapshot: ModelSnapshot,
    catalog: Pick<CatalogReader, 'getUser' | 'getUserRatings'>,
    userIds: readonly number[],
    options: PrecomputeOptions = {},
  ): Promise<PrecomputeReport> {
    const cancelled = options.cancelled ?? (() => false);
    const share = options.share ?? 1;
    if (!(share > 0 && share <= 1)) throw new RangeError(`precompute share must be in (0, 1], got ${share}`);
    const table = this.tableFor(snapshot, userIds.length);
    const users = userIds.slice(0, table.maxUsers);
    const block = Math.min(this.blockUsers, rankBlockSizeFor(snapshot, 'score'));
    const deadline = performance.now() + this.budgetMs;
    let reached = 0;
    for (let start = 0; start < users.length && table.size > 0; start += block) {
      if (cancelled() || this.tables.get(snapshot) !== table || performance.now() > deadline) break;
      reached = Math.min(users.length, start + block);
      // One synchronous block: the ratings read and the scores stored belong together (an invalidation
      // can only come between blocks, and then drops what it must).
      const began = performance.now();
      const inputs = [];
      const ids = [];
      for (const userId of users.slice(start, start + block)) {
        const user = catalog.getUser(userId);
        if (!user) continue;
        ids.push(userId);
        inputs.push(storedUserInput(snapshot, user, catalog.getUserRatings(userId)));
      }
      if (inputs.length > 0) {
        const ranked = rankUsers(snapshot, inputs, { limit: table.size });
        for (let n = 0; n < ids.length; n++) {
          const entry = ranked[n];
          const because = becauseLists(snapshot, inputs[n], Array.from(entry.items.subarray(0, BECAUSE_PRECOMPUTED)));
          table.entries.set(ids[n], { ...entry, because });
        }
      }
      await yieldToEventLoop(((performance.now() - began) * (1 - share)) / share);
    }
    return {
      users: table.entries.size,
      size: table.size,
      skippedUsers: userIds.length - users.length,
      outOfTimeUsers: cancelled() || table.size === 0 ? 0 : users.length - reached,
    };
  }

  /**
   * The user's `limit` best items from the precomputed list, as the API shows them; undefined when there
   * is no list for them (not precomputed, or their ratings changed since) or it is too short for `limit`.
   */
  recommend(snapshot: ModelSnapshot, userId: number, limit: number): { items: ScoredItem[]; explained: number } | undefined {
    const entry = this.tables.get(snapshot)?.entries.get(userId);
    if (!entry || (limit > entry.items.length && !entry.complete)) return undefined;
    const K = snapshot.ratingLevels.length;
    const n = Math.min(limit, entry.items.length);
    const out = new Array<ScoredItem>(n);
    for (let j = 0; j < n; j++) {
      const i = entry.items[j];
      let distribution: number[] | null = null;
      if (entry.distribution) {
        distribution = new Array<number>(K);
        for (let k = 0; k < K; k++) distribution[k] = roundScore(entry.distribution[j * K + k]);
      }
      out[j] = {
        ...(snapshot.itemRecords[i] as ItemRecord),
        score: roundScore(entry.score[j]),
        predicted: entry.expected ? roundScore(entry.expected[j]) : null,
        distribution,
        // Precomputed for the first items; the service explains the others (ServingService.explainListed).
        because: entry.because?.[j] ?? [],
      };
    }
    return { items: out, explained: Math.min(n, entry.because?.length ?? 0) };
  }

  /** Items a list keeps under `snapshot` (0 when it has no table). */
  listSize(snapshot: ModelSnapshot): number {
    return this.tables.get(snapshot)?.size ?? 0;
  }

  /**
   * Keeps the list of a user just ranked on demand (their ratings changed, or they were not precomputed):
   * by score, no genre, at least `listSize` long or complete; a longer one is cut to the size.
   */
  remember(snapshot: ModelSnapshot, userId: number, ranked: RankedItems): void {
    const table = this.tables.get(snapshot);
    if (!table || table.size === 0) return;
    if (!ranked.complete && ranked.items.length < table.size) return;
    if (!table.entries.has(userId) && table.entries.size >= table.maxUsers) return;
    table.entries.set(userId, { ...firstOf(ranked, table.size), because: null });
  }

  /** Drops one user's lists in every table (their ratings changed). */
  forgetUser(userId: number): void {
    for (const table of this.tables.values()) table.entries.delete(userId);
  }

  /** Drops every user's lists but keeps the tables (the catalog changed: users are recomputed on demand). */
  clear(): void {
    for (const table of this.tables.values()) table.entries.clear();
  }

  /** Drops a snapshot's table (the version was retired, or superseded before it served). */
  drop(snapshot: ModelSnapshot): void {
    this.tables.delete(snapshot);
  }

  /** Users with a list under `snapshot`. */
  usersListed(snapshot: ModelSnapshot): number {
    return this.tables.get(snapshot)?.entries.size ?? 0;
  }

  private tableFor(snapshot: ModelSnapshot, userCount: number): Table {
    const existing = this.tables.get(snapshot);
    if (existing) return existing;
    const K = snapshot.ratingLevels.length;
    const bytesPerItem = 4 * (3 + K);
    const users = Math.max(1, userCount);
    let size = Math.min(this.size, Math.floor(this.maxBytes / (users * bytesPerItem)));
    let maxUsers = userCount;
    if (size < Math.min(MIN_SIZE, this.size)) {
      size = Math.min(MIN_SIZE, this.size);
      maxUsers = size === 0 ? 0 : Math.floor(this.maxBytes / (size * bytesPerItem));
    }
    const table: Table = {
      size,
      entries: new Map(),
      maxUsers: Math.max(maxUsers, 0),
    };
    this.tables.set(snapshot, table);
    return table;
  }
}
