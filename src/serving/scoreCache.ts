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
 * Bounded by bytes (LRU eviction), since an entry is items × (K + 2) floats.
 */
import type { UserScores } from '../model/index.js';
import type { ModelSnapshot } from './modelHolder.js';
import type { StoredRating } from './ports.js';

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
  scores: UserScores;
  bytes: number;
}

export class ScoreCache {
  private snapshot: ModelSnapshot | null = null;
  /** Map order is insertion order: re-inserting on a hit makes the first key the least recently used. */
  private readonly entries = new Map<number, Entry>();
  private bytes = 0;

  constructor(private readonly maxBytes = DEFAULT_CACHE_BYTES) {}

  get(snapshot: ModelSnapshot, userId: number, fingerprint: string): UserScores | undefined {
    if (snapshot !== this.snapshot) return undefined;
    const entry = this.entries.get(userId);
    if (!entry || entry.fingerprint !== fingerprint) return undefined;
    this.entries.delete(userId);
    this.entries.set(userId, entry);
    return entry.scores;
  }

  set(snapshot: ModelSnapshot, userId: number, fingerprint: string, scores: UserScores): void {
    if (this.maxBytes <= 0) return;
    if (snapshot !== this.snapshot) {
      // A request still holding an older snapshot must not repopulate the cache with its model.
      if (this.snapshot !== null && snapshot.versionId < this.snapshot.versionId) return;
      this.entries.clear();
      this.bytes = 0;
      this.snapshot = snapshot;
    }
    const bytes = scoresBytes(scores);
    if (bytes > this.maxBytes) return;
    const previous = this.entries.get(userId);
    if (previous) {
      this.entries.delete(userId);
      this.bytes -= previous.bytes;
    }
    this.entries.set(userId, { fingerprint, scores, bytes });
    this.bytes += bytes;
    for (const [oldest, entry] of this.entries) {
      if (this.bytes <= this.maxBytes) break;
      this.entries.delete(oldest);
      this.bytes -= entry.bytes;
    }
  }

  get size(): number {
    return this.entries.size;
  }
}

/** Memory held by one user's scores (arrays shared between users, like a popularity list, count each time). */
export function scoresBytes(scores: UserScores): number {
  return (
    scores.score.byteLength +
    (scores.expected && scores.expected !== scores.score ? scores.expected.byteLength : 0) +
    (scores.distribution?.byteLength ?? 0)
  );
}
