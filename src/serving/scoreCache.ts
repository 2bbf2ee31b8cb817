/**
 * Per-user cache of "every item scored" (UserScores) for stored users.
 *
 * Why: scoring all items for one user (fold-in, then K softmax units per item through F hidden units) is
 * the whole cost of a recommendation request, while a stored user's answer only changes when their
 * ratings or the served model change. Caching it
 * turns a repeated GET into a lookup plus the top-N selection.
 *
 * Correctness comes from the key, not from invalidation calls: an entry belongs to one model snapshot
 * (the whole cache is dropped when the served snapshot changes) and carries a fingerprint of the user's
 * ratings as the catalog gives them for this very request (from memory in the server: CatalogCache, kept
 * current by its change feed), plus their `updatedAt` (which decides fold-in's refit). A rating posted through the API, or changed by an import, changes the fingerprint, so the next
 * request recomputes: "the very next request reflects it" holds without any coupling to the write path.
 *
 * Bounded by bytes (LRU eviction), since an entry is items × (K + 2) floats. With a model that prunes
 * (TrainedModel.scoreBounds) a recommendation keeps only the user's ranked list (list length × (K + 3)
 * floats), so many more users fit.
 */
import type { UserScores } from '../model/index.js';
import type { ModelSnapshot } from './modelHolder.js';
import type { StoredRating } from './ports.js';
import type { RankedItems } from './ranking.js';

export const DEFAULT_CACHE_BYTES = 64 * 1024 * 1024;

/** FNV-1a over (item id, value, timestamp) of each rating, plus updatedAt: changes whenever they do. */
export function ratingsFingerprint(ratings: readonly StoredRating[], updatedAt: number | null): string {
  let h = 0x811c9dc5;
  const mix = (x: number): void => {
    // Fold a double into 32 bits: the integer part, and the fraction for half stars.
    h = Math.imul(h ^ (x | 0), 0x01000193);
    h = Math.imul(h ^ Math.round((x % 1) * 1e6), 0x01000193);
  };
  for (const r of ratings) {
    mix(r.itemId);
    mix(r.value);
    mix(r.timestamp);
  }
  return `${ratings.length}:${(h >>> 0).toString(16)}:${updatedAt ?? '-'}`;
}

interface Entry {
  fingerprint: string;
  /** Every item scored (predictions, rankings by predicted rating, models without scoreBounds)… */
  scores?: UserScores;
  /** …and/or the user's best items by score from the pruned top-k (serving/ranking.ts). */
  ranked?: RankedItems;
  bytes: number;
}

export class ScoreCache {
  private snapshot: ModelSnapshot | null = null;
  /** Map order is insertion order: re-inserting on a hit makes the first key the least recently used. */
  private readonly entries = new Map<number, Entry>();
  private bytes = 0;

  constructor(private readonly maxBytes = DEFAULT_CACHE_BYTES) {}

  get(snapshot: ModelSnapshot, userId: number, fingerprint: string): UserScores | undefined {
    return this.lookup(snapshot, userId, fingerprint)?.scores;
  }

  /** The user's ranked list by score (as long as it was computed: check its length or `complete`). */
  getRanked(snapshot: ModelSnapshot, userId: number, fingerprint: string): RankedItems | undefined {
    return this.lookup(snapshot, userId, fingerprint)?.ranked;
  }

  set(snapshot: ModelSnapshot, userId: number, fingerprint: string, scores: UserScores): void {
    this.put(snapshot, userId, fingerprint, { scores });
  }

  setRanked(snapshot: ModelSnapshot, userId: number, fingerprint: string, ranked: RankedItems): void {
    this.put(snapshot, userId, fingerprint, { ranked });
  }

  private lookup(snapshot: ModelSnapshot, userId: number, fingerprint: string): Entry | undefined {
    if (snapshot !== this.snapshot) return undefined;
    const entry = this.entries.get(userId);
    if (!entry || entry.fingerprint !== fingerprint) return undefined;
    this.entries.delete(userId);
    this.entries.set(userId, entry);
    return entry;
  }

  /** Stores one part of a user's entry; the other part stays when it belongs to the same ratings. */
  private put(snapshot: ModelSnapshot, userId: number, fingerprint: string, part: Pick<Entry, 'scores' | 'ranked'>): void {
    if (this.maxBytes <= 0) return;
    if (snapshot !== this.snapshot) {
      // A request still holding an older snapshot must not repopulate the cache with its model.
      if (this.snapshot !== null && snapshot.versionId < this.snapshot.versionId) return;
      this.entries.clear();
      this.bytes = 0;
      this.snapshot = snapshot;
    }
    const previous = this.entries.get(userId);
    const kept = previous && previous.fingerprint === fingerprint ? { scores: previous.scores, ranked: previous.ranked } : {};
    const entry: Entry = { fingerprint, ...kept, ...part, bytes: 0 };
    entry.bytes = (entry.scores ? scoresBytes(entry.scores) : 0) + (entry.ranked ? rankedBytes(entry.ranked) : 0);
    if (previous) {
      this.entries.delete(userId);
      this.bytes -= previous.bytes;
    }
    if (entry.bytes > this.maxBytes) return;
    this.entries.set(userId, entry);
    this.bytes += entry.bytes;
    for (const [oldest, old] of this.entries) {
      if (this.bytes <= this.maxBytes) break;
      this.entries.delete(oldest);
      this.bytes -= old.bytes;
    }
  }

  get size(): number {
    return this.entries.size;
  }
}

/** Memory held by a ranked list. */
export function rankedBytes(ranked: RankedItems): number {
  return ranked.items.byteLength + ranked.score.byteLength + (ranked.expected?.byteLength ?? 0) + (ranked.distribution?.byteLength ?? 0);
}

/** Memory held by one user's scores (arrays shared between users, like a popularity list, count each time). */
export function scoresBytes(scores: UserScores): number {
  return (
    scores.score.byteLength +
    (scores.expected && scores.expected !== scores.score ? scores.expected.byteLength : 0) +
    (scores.distribution?.byteLength ?? 0)
  );
}
