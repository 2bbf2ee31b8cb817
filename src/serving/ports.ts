/**
 * What serving (and so the server and the batch scorer) needs from the store, as narrow interfaces. `CatalogStore` and
 * `ModelStore` (src/store) satisfy them structurally; naming only the methods used here keeps the serving
 * code honest about its dependencies and lets a test substitute a single method when it must.
 */
import type { ItemRatingStats, ItemRecord } from '../data/catalog.js';
import type { ModelMeta } from '../model/index.js';

export type { ItemRatingStats, ItemRecord };

export interface StoredRating {
  itemId: number;
  value: number;
  /** Seconds since the epoch. */
  timestamp: number;
}

export interface StoredUser {
  userId: number;
  /** Milliseconds since the epoch of the user's last rating change through the API; null if never. */
  updatedAt: number | null;
}

export interface CatalogReader {
  counts(): { users: number; items: number; ratings: number };
  getItem(itemId: number): ItemRecord | null;
  getItems(itemIds: number[]): ItemRecord[];
  searchItems(query: string, limit: number, offset: number, genre?: string): { items: ItemRecord[]; total: number };
  /** The ids of every item `searchItems` would list for the query and genre, in no particular order. */
  searchItemIds(query: string, genre?: string): number[];
  /**
   * Every item with its number of ratings and their sum. CatalogCache returns one frozen snapshot until
   * the catalog or its ratings change, so orders derived from it are computed once per snapshot.
   */
  itemStats(): readonly ItemRatingStats[];
  genres(): string[];
  getUser(userId: number): StoredUser | null;
  getUserRatings(userId: number): StoredRating[];
  /**
   * Brings what is held in memory up to date with the database, if anything is (CatalogCache: drops what
   * other connections changed). Called before answering from anything derived from the catalog.
   */
  sync?(): void;
  /**
   * Brings what is held about one user up to date with the database at once (CatalogCache: one indexed
   * read; drops the user when another process wrote their ratings since). Called before answering that
   * user from anything derived from their ratings, so a client reads its own writes on any process.
   */
  syncUser?(userId: number): void;
  /**
   * The asynchronous counterpart of `syncUser` for a catalog held away from the database (CatalogMirror:
   * one read over the network), awaited before a stored user's request is answered. Never rejects.
   */
  refreshUser?(userId: number): Promise<void>;
}

export interface CatalogWriter {
  /** Returns (or resolves, when it returns a Promise) once the rating is committed; a later read of the user sees it. */
  upsertRating(userId: number, itemId: number, value: number, timestampSeconds: number): unknown;
}

export type Catalog = CatalogReader & CatalogWriter;

export interface StoredModelVersion {
  id: number;
  /** Milliseconds since the epoch. */
  createdAt: number;
  meta: ModelMeta;
  tensors: Record<string, Float32Array>;
  /** The catalog generation the model was trained on (absent: unknown, never reported stale). */
  catalogGeneration?: number;
}

export interface ModelVersionSource {
  currentId(): number | null;
  load(id: number): StoredModelVersion;
}

/**
 * `getItems` over any number of ids, in bounded chunks: SQLite caps the parameters of one statement, and a
 * model's whole item list (or a heavy rater's) can exceed it.
 */
export function getItemsChunked(catalog: Pick<CatalogReader, 'getItems'>, itemIds: readonly number[], chunk = 500): ItemRecord[] {
  if (itemIds.length <= chunk) return catalog.getItems([...itemIds]);
  const out: ItemRecord[] = [];
  for (let start = 0; start < itemIds.length; start += chunk) out.push(...catalog.getItems(itemIds.slice(start, start + chunk)));
  return out;
}
