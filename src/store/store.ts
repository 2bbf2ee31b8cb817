/**
 * The store interface both engines implement: SQLite (a file, the embedded default; sqliteStore.ts) and
 * PostgreSQL (a server several serving machines share; postgres/). PostgreSQL answers over the network,
 * so every method returns a Promise; the SQLite engine answers at once (better-sqlite3 underneath) and
 * keeps its synchronous classes for the server's hot path and the tests.
 *
 * Serving never reads a store on a request path: it keeps what it needs in memory and asks `watch` what
 * changed (serving/catalogCache.ts, serving/catalogMirror.ts).
 */
import type { ItemRatingStats, ItemRecord } from '../data/catalog.js';
import type { Dataset } from '../data/dataset.js';
import type { DatasetInfo, RatingsByUser, StoredRating, StoredUser } from './catalogStore.js';

export type { RatingsByUser };
import type { CatalogImport, ImportOptions, ImportSummary, StreamedCatalogImport } from './catalogImport.js';
import type { ModelVersion, ModelVersionInfo, SaveOptions } from './modelStore.js';
import type { CreatedToken, TokenInfo } from './tokenStore.js';
import type { StoreTarget } from './target.js';

export interface CatalogCounts {
  users: number;
  items: number;
  ratings: number;
}

export interface CatalogRepository {
  counts(): Promise<CatalogCounts>;
  /** The data set most recently imported, or null for a database never imported into. */
  datasetInfo(): Promise<DatasetInfo | null>;
  /** The rating scale: as recorded at import, else the distinct values present. */
  ratingLevels(): Promise<number[]>;
  isEmpty(): Promise<boolean>;
  /** Every rating as a Dataset over all users and items (ascending ids). */
  loadDataset(): Promise<Dataset>;
  /** The Dataset and the catalog generation it was read at (one snapshot). */
  loadDatasetWithGeneration(): Promise<{ dataset: Dataset; generation: number }>;
  /** Bumped by every import that changes the catalog. */
  generation(): Promise<number>;
  getItem(itemId: number): Promise<ItemRecord | null>;
  /** The items among `itemIds`, in the order asked (unknown ids left out). */
  getItems(itemIds: number[]): Promise<ItemRecord[]>;
  /** Every item, by ascending id. */
  allItems(): Promise<ItemRecord[]>;
  searchItems(query: string, limit: number, offset: number, genre?: string): Promise<{ items: ItemRecord[]; total: number }>;
  searchItemIds(query: string, genre?: string): Promise<number[]>;
  itemStats(): Promise<ItemRatingStats[]>;
  genres(): Promise<string[]>;
  /** Every user id, ascending. */
  userIds(): Promise<number[]>;
  getUser(userId: number): Promise<StoredUser | null>;
  getUserRatings(userId: number): Promise<StoredRating[]>;
  /** Every user with their ratings, in one snapshot (a serving replica's memory). */
  ratingsByUser(): Promise<{ ratings: RatingsByUser; generation: number }>;
  /**
   * Records a rating given through the API (see CatalogStore.upsertRating); resolves once committed, with
   * the user's new `updated_at`. Throws UnknownItemError / InvalidRatingError.
   */
  upsertRating(userId: number, itemId: number, value: number, timestampSeconds: number): Promise<number>;
  /** One user's `updated_at`: null if never written through the API, undefined for no such user. */
  userUpdatedAt(userId: number): Promise<number | null | undefined>;
  /** Users whose ratings were written through the API at or after `ms`. */
  usersUpdatedSince(ms: number): Promise<{ userId: number; updatedAt: number }[]>;
  /** A whole catalog in one transaction (catalogImport.ts has the rules). */
  importCatalog(data: CatalogImport, options?: ImportOptions): Promise<ImportSummary>;
  importStream(data: StreamedCatalogImport, options?: ImportOptions): Promise<ImportSummary>;
}

export interface ModelRepository<Meta = unknown> {
  saveVersion(meta: Meta, tensors: Record<string, Float32Array>, options?: SaveOptions): Promise<number>;
  current(): Promise<ModelVersionInfo<Meta> | null>;
  currentId(): Promise<number | null>;
  load(id: number): Promise<ModelVersion<Meta>>;
  list(): Promise<{ id: number; createdAt: number; isCurrent: boolean; catalogGeneration: number }[]>;
}

export interface TokenRepository {
  create(name: string): Promise<CreatedToken>;
  list(): Promise<TokenInfo[]>;
  revoke(id: number): Promise<TokenInfo>;
  /** The id of the valid token equal to `presented`, or null (constant time in the presented token). */
  verify(presented: string): Promise<number | null>;
}

/** Requests counted per client and window, shared by every process using the database. */
export interface RateLimitCounter {
  /** Counts one hit of `key`; a window that ended starts again. Returns the hits in the window and its end. */
  hit(key: string, windowMs: number): Promise<{ hits: number; resetAt: number }>;
  /** Takes one hit back (express-rate-limit's skipped requests). */
  takeBack(key: string): Promise<void>;
  reset(key: string): Promise<void>;
}

/** What another process changed, as the change feed tells it. */
export type StoreChange =
  /** A rating written through the API: the user's new `updated_at`. */
  | { kind: 'user'; userId: number; updatedAt: number }
  /** An import changed the catalog (its generation moved). */
  | { kind: 'catalog'; generation: number }
  /** A model version was saved and made current. */
  | { kind: 'model'; versionId: number }
  /** A token was created or revoked. */
  | { kind: 'tokens' }
  /**
   * The feed may have missed changes (PostgreSQL: its listening connection was lost and is back): the
   * listener must compare everything it holds with the database.
   */
  | { kind: 'resync' };

export interface StoreWatch {
  /** Resolves once changes are being listened for (PostgreSQL: the LISTEN connection is up). */
  ready: Promise<void>;
  stop(): void;
}

export interface Store<Meta = unknown> {
  readonly engine: StoreTarget['engine'];
  /** The file path, or the URL without its password: for messages. */
  readonly location: string;
  readonly catalog: CatalogRepository;
  readonly models: ModelRepository<Meta>;
  readonly tokens: TokenRepository;
  readonly rateLimits: RateLimitCounter;
  /**
   * Tells `listener` what other processes change, until the returned function is called. SQLite: by
   * polling `PRAGMA data_version` every `pollMs`; PostgreSQL: LISTEN/NOTIFY on a dedicated connection.
   */
  watch(listener: (change: StoreChange) => void, options?: { pollMs?: number }): StoreWatch;
  close(): Promise<void>;
}
