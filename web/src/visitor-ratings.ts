/**
 * The visitor's own ratings, kept in the browser (localStorage) and never sent anywhere but the anonymous
 * fold-in endpoint. A copy of each movie's title, year and genres is stored with the rating so the
 * "Your ratings" list renders without asking the server.
 */
import type { Item, RatingInput } from './api.js';

export interface VisitorRating extends Item {
  rating: number;
  /** Milliseconds since the epoch of the last change. */
  ratedAt: number;
}

type Listener = (ratings: readonly VisitorRating[]) => void;

const STORAGE_KEY_PREFIX = 'rbm-recommender.visitor-ratings.v1';

function isVisitorRating(value: unknown): value is VisitorRating {
  if (typeof value !== 'object' || value === null) return false;
  const r = value as Record<string, unknown>;
  return (
    typeof r.itemId === 'number' &&
    typeof r.rating === 'number' &&
    typeof r.title === 'string' &&
    (typeof r.year === 'number' || r.year === null) &&
    Array.isArray(r.genres) &&
    typeof r.ratedAt === 'number'
  );
}

export class VisitorRatings {
  private readonly ratings = new Map<number, VisitorRating>();
  private readonly listeners = new Set<Listener>();

  private readonly storageKey: string;
  /** The catalog the ratings belong to (written into downloaded files). */
  readonly catalogKey: string;

  /**
   * `catalogKey` identifies the catalog the ratings belong to (e.g. its size): item ids mean different
   * movies in different data sets, so ratings made against one are not carried over to another.
   */
  constructor(
    private readonly storage: Storage | null,
    catalogKey = '',
  ) {
    this.catalogKey = catalogKey;
    this.storageKey = catalogKey === '' ? STORAGE_KEY_PREFIX : `${STORAGE_KEY_PREFIX}:${catalogKey}`;
    this.load();
  }

  /** Most recently rated first. */
  list(): VisitorRating[] {
    return [...this.ratings.values()].sort((a, b) => b.ratedAt - a.ratedAt);
  }

  get size(): number {
    return this.ratings.size;
  }

  ratingOf(itemId: number): number | undefined {
    return this.ratings.get(itemId)?.rating;
  }

  /** What the fold-in endpoint takes. */
  inputs(): RatingInput[] {
    return this.list().map((r) => ({ itemId: r.itemId, rating: r.rating }));
  }

  /** Stores a rating with a copy of the item's fields shown in the list (no change notice). */
  private put(item: Item, rating: number, ratedAt: number): void {
    this.ratings.set(item.itemId, {
      itemId: item.itemId,
      title: item.title,
      year: item.year,
      genres: [...item.genres],
      rating,
      ratedAt,
    });
  }

  set(item: Item, rating: number): void {
    this.put(item, rating, Date.now());
    this.changed();
  }

  /** Sets many ratings at once (a loaded file), telling listeners once. `ratedAt` defaults to now. */
  setMany(entries: readonly { item: Item; rating: number; ratedAt?: number }[]): void {
    if (entries.length === 0) return;
    const now = Date.now();
    for (const { item, rating, ratedAt } of entries) {
      this.put(item, rating, ratedAt ?? now);
    }
    this.changed();
  }

  remove(itemId: number): void {
    if (this.ratings.delete(itemId)) this.changed();
  }

  clear(): void {
    if (this.ratings.size === 0) return;
    this.ratings.clear();
    this.changed();
  }

  /** Drops ratings that are not on the served model's scale (the data set, and so the scale, changed). */
  keepOnlyLevels(levels: readonly number[]): void {
    let dropped = false;
    for (const [itemId, r] of this.ratings) {
      if (!levels.some((level) => Math.abs(level - r.rating) < 1e-9)) {
        this.ratings.delete(itemId);
        dropped = true;
      }
    }
    if (dropped) this.changed();
  }

  subscribe(listener: Listener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private changed(): void {
    this.save();
    const snapshot = this.list();
    for (const listener of this.listeners) listener(snapshot);
  }

  private load(): void {
    try {
      const raw = this.storage?.getItem(this.storageKey);
      if (!raw) return;
      const parsed: unknown = JSON.parse(raw);
      if (!Array.isArray(parsed)) return;
      for (const entry of parsed) if (isVisitorRating(entry)) this.ratings.set(entry.itemId, entry);
    } catch {
      // Unreadable or corrupt storage: start with no ratings rather than failing the page.
    }
  }

  private save(): void {
    try {
      this.storage?.setItem(this.storageKey, JSON.stringify(this.list()));
    } catch {
      // Storage full or disabled (private browsing): ratings still work for this visit.
    }
  }
}

/** localStorage when the browser allows it, else null (ratings then last for the visit only). */
export function browserStorage(): Storage | null {
  try {
    const storage = window.localStorage;
    const probe = '__rbm-probe__';
    storage.setItem(probe, probe);
    storage.removeItem(probe);
    return storage;
  } catch {
    return null;
  }
}
