/**
 * The catalog in PostgreSQL: the same reads and writes as CatalogStore (../catalogStore.ts), over a pool.
 *
 * Locks: a rating write reads the catalog generation FOR SHARE (many writers at once), an import takes it
 * FOR UPDATE (catalogImport.ts): an import never interleaves with the check-then-write of a rating.
 * Every rating write sends NOTIFY on CHANNEL in its transaction (delivered at COMMIT): the replicas drop
 * what they hold of that user (listener.ts, serving/catalogMirror.ts).
 */
import type { ItemRatingStats, ItemRecord } from '../../data/catalog.js';
import { assertStorableLevels, levelIndexOf, type Dataset } from '../../data/dataset.js';
import { searchKeyOf } from '../../data/titles.js';
import {
  checkRatingArguments,
  RatingsByUserBuilder,
  toItem,
  type DatasetInfo,
  type ItemRow,
  type StoredRating,
  type StoredUser,
} from '../catalogStore.js';
import type { CatalogImport, ImportOptions, ImportSummary, StreamedCatalogImport } from '../catalogImport.js';
import { inMemoryRatingSource, streamedRatingSource } from '../catalogImport.js';
import { InvalidRatingError, UnknownItemError } from '../errors.js';
import type { CatalogCounts, CatalogRepository, RatingsByUser } from '../store.js';
import { importIntoPostgres } from './catalogImport.js';
import { copyRows, inTransaction, type Pool, type PoolClient } from './pool.js';

import { CHANNEL } from './channel.js';

export { CHANNEL };

const ITEM_COLUMNS = 'item_id, title, year, genres';
// The genre test reads the JSON array; search_key compared in byte order (COLLATE "C"), as SQLite's BINARY.
const SEARCH_WHERE = `search_key LIKE $1 ESCAPE '\\'
  AND ($2::text IS NULL OR EXISTS (SELECT 1 FROM jsonb_array_elements_text(items.genres::jsonb) g WHERE lower(g) = lower($2::text)))`;
const SNAPSHOT = 'BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY';

export class PostgresCatalog implements CatalogRepository {
  constructor(private readonly pool: Pool) {}

  async counts(): Promise<CatalogCounts> {
    return countsOf(this.pool);
  }

  async datasetInfo(): Promise<DatasetInfo | null> {
    return datasetInfoOf(this.pool);
  }

  async ratingLevels(): Promise<number[]> {
    return ratingLevelsOf(this.pool);
  }

  async isEmpty(): Promise<boolean> {
    const { users, items, ratings } = await this.counts();
    return users === 0 && items === 0 && ratings === 0;
  }

  async loadDataset(): Promise<Dataset> {
    return (await this.loadDatasetWithGeneration()).dataset;
  }

  /** One REPEATABLE READ snapshot: the id lists, the ratings and the generation agree. Ratings stream through COPY. */
  async loadDatasetWithGeneration(): Promise<{ dataset: Dataset; generation: number }> {
    return inTransaction(
      this.pool,
      async (client) => {
        const ratingLevels = await ratingLevelsOf(client);
        assertStorableLevels(ratingLevels, 'the catalog in the database');
        const userIds = (await client.query<{ user_id: number }>('SELECT user_id FROM users ORDER BY user_id')).rows.map((r) => r.user_id);
        const itemIds = (await client.query<{ item_id: number }>('SELECT item_id FROM items ORDER BY item_id')).rows.map((r) => r.item_id);
        const n = (await countsOf(client)).ratings;
        const itemIndex = new Map(itemIds.map((id, i) => [id, i]));
        const levelOf = new Map(ratingLevels.map((value, k) => [value, k]));
        const users = new Int32Array(n);
        const items = new Int32Array(n);
        const levels = new Uint8Array(n);
        let r = 0;
        let u = 0;
        await copyRows(client, 'SELECT user_id, item_id, value FROM ratings ORDER BY user_id, item_id', ([user, item, raw]) => {
          const userId = Number(user);
          const value = Number(raw);
          let k = levelOf.get(value);
          if (k === undefined) {
            k = levelIndexOf(ratingLevels, value);
            if (k < 0) {
              throw new Error(
                `rating of item ${item} by user ${user} has value ${value}, off the data set's scale [${ratingLevels.join(', ')}]`,
              );
            }
          }
          while (userIds[u] !== userId) u++;
          users[r] = u;
          items[r] = itemIndex.get(Number(item)) as number;
          levels[r] = k;
          r++;
        });
        const generation = await generationOf(client);
        return { dataset: { ratingLevels, userIds, itemIds, users, items, levels }, generation };
      },
      SNAPSHOT,
    );
  }

  async generation(): Promise<number> {
    return generationOf(this.pool);
  }

  async getItem(itemId: number): Promise<ItemRecord | null> {
    const { rows } = await this.pool.query<ItemRow>(`SELECT ${ITEM_COLUMNS} FROM items WHERE item_id = $1`, [itemId]);
    return rows.length > 0 ? toItem(rows[0]) : null;
  }

  async getItems(itemIds: number[]): Promise<ItemRecord[]> {
    if (itemIds.length === 0) return [];
    const { rows } = await this.pool.query<ItemRow>(`SELECT ${ITEM_COLUMNS} FROM items WHERE item_id = ANY($1::bigint[])`, [itemIds]);
    const found = new Map(rows.map((row) => [row.item_id, toItem(row)]));
    return itemIds.flatMap((id) => found.get(id) ?? []);
  }

  async allItems(): Promise<ItemRecord[]> {
    return (await this.pool.query<ItemRow>(`SELECT ${ITEM_COLUMNS} FROM items ORDER BY item_id`)).rows.map(toItem);
  }

  async searchItems(query: string, limit: number, offset: number, genre?: string): Promise<{ items: ItemRecord[]; total: number }> {
    expectCount(limit, 'limit');
    expectCount(offset, 'offset');
    const { pattern, prefix } = searchPattern(query);
    const genreParam = genre === undefined || genre === '' ? null : genre;
    const page = await this.pool.query<ItemRow>(
      `SELECT ${ITEM_COLUMNS} FROM items WHERE ${SEARCH_WHERE}
       ORDER BY (search_key LIKE $3 ESCAPE '\\') DESC, search_key COLLATE "C", item_id LIMIT $4 OFFSET $5`,
      [pattern, genreParam, prefix, limit, offset],
    );
    const total = await this.pool.query<{ n: number }>(`SELECT COUNT(*) AS n FROM items WHERE ${SEARCH_WHERE}`, [pattern, genreParam]);
    return { items: page.rows.map(toItem), total: total.rows[0].n };
  }

  async searchItemIds(query: string, genre?: string): Promise<number[]> {
    const genreParam = genre === undefined || genre === '' ? null : genre;
    const { rows } = await this.pool.query<{ item_id: number }>(`SELECT item_id FROM items WHERE ${SEARCH_WHERE}`, [
      searchPattern(query).pattern,
      genreParam,
    ]);
    return rows.map((r) => r.item_id);
  }

  async itemStats(): Promise<ItemRatingStats[]> {
    const { rows } = await this.pool.query<ItemRow & { n: number; total: number }>(
      `SELECT ${ITEM_COLUMNS}, COALESCE(s.n, 0) AS n, COALESCE(s.total, 0) AS total
       FROM items LEFT JOIN (SELECT item_id AS rated_id, COUNT(*) AS n, SUM(value) AS total FROM ratings GROUP BY item_id) s
         ON s.rated_id = items.item_id
       ORDER BY item_id`,
    );
    return rows.map((row) => ({ item: toItem(row), ratings: row.n, ratingSum: row.total }));
  }

  async genres(): Promise<string[]> {
    const { rows } = await this.pool.query<{ genre: string }>(
      'SELECT DISTINCT g COLLATE "C" AS genre FROM items, jsonb_array_elements_text(items.genres::jsonb) g ORDER BY 1',
    );
    return rows.map((r) => r.genre);
  }

  async userIds(): Promise<number[]> {
    return (await this.pool.query<{ user_id: number }>('SELECT user_id FROM users ORDER BY user_id')).rows.map((r) => r.user_id);
  }

  async getUser(userId: number): Promise<StoredUser | null> {
    const { rows } = await this.pool.query<{ user_id: number; updated_at: number | null }>(
      'SELECT user_id, updated_at FROM users WHERE user_id = $1',
      [userId],
    );
    return rows.length > 0 ? { userId: rows[0].user_id, updatedAt: rows[0].updated_at } : null;
  }

  async getUserRatings(userId: number): Promise<StoredRating[]> {
    const { rows } = await this.pool.query<{ item_id: number; value: number; timestamp: number }>(
      'SELECT item_id, value, timestamp FROM ratings WHERE user_id = $1 ORDER BY item_id',
      [userId],
    );
    return rows.map((row) => ({ itemId: row.item_id, value: row.value, timestamp: row.timestamp }));
  }

  async ratingsByUser(): Promise<{ ratings: RatingsByUser; generation: number }> {
    return inTransaction(
      this.pool,
      async (client) => {
        const users = (
          await client.query<{ user_id: number; updated_at: number | null }>('SELECT user_id, updated_at FROM users ORDER BY user_id')
        ).rows;
        const builder = new RatingsByUserBuilder(users, (await countsOf(client)).ratings);
        await copyRows(client, 'SELECT user_id, item_id, value, timestamp FROM ratings ORDER BY user_id, item_id', (f) =>
          builder.add(Number(f[0]), Number(f[1]), Number(f[2]), Number(f[3])),
        );
        const ratings = builder.finish();
        return { ratings, generation: await generationOf(client) };
      },
      SNAPSHOT,
    );
  }

  async upsertRating(userId: number, itemId: number, value: number, timestampSeconds: number): Promise<number> {
    checkRatingArguments(userId, timestampSeconds);
    return inTransaction(this.pool, async (client) => {
      // FOR SHARE: rating writes run side by side; an import (FOR UPDATE) waits for them and they for it.
      await client.query('SELECT generation FROM catalog_state WHERE id = 1 FOR SHARE');
      const item = await client.query('SELECT 1 FROM items WHERE item_id = $1', [itemId]);
      if (item.rowCount === 0) throw new UnknownItemError(itemId);
      const levels = (await datasetInfoOf(client))?.ratingLevels ?? null;
      const k = levels === null ? -1 : levelIndexOf(levels, value);
      const onScale = levels === null ? Number.isFinite(value) : k >= 0;
      if (!onScale) throw new InvalidRatingError(value, levels ?? []);
      // updated_at moves forward on every write (see CatalogStore): the row lock orders two writes of one user.
      const touched = await client.query<{ updated_at: number }>(
        `INSERT INTO users (user_id, updated_at) VALUES ($1, $2)
         ON CONFLICT (user_id) DO UPDATE SET updated_at = GREATEST(excluded.updated_at, COALESCE(users.updated_at, 0) + 1)
         RETURNING updated_at`,
        [userId, Date.now()],
      );
      await client.query(
        `INSERT INTO ratings (user_id, item_id, value, timestamp, from_api) VALUES ($1, $2, $3, $4, 1)
         ON CONFLICT (user_id, item_id) DO UPDATE SET value = excluded.value, timestamp = excluded.timestamp, from_api = 1`,
        [userId, itemId, levels === null ? value : levels[k], timestampSeconds],
      );
      const updatedAt = touched.rows[0].updated_at;
      await client.query('SELECT pg_notify($1, $2)', [CHANNEL, `user:${userId}:${updatedAt}`]);
      return updatedAt;
    });
  }

  async userUpdatedAt(userId: number): Promise<number | null | undefined> {
    const { rows } = await this.pool.query<{ updated_at: number | null }>('SELECT updated_at FROM users WHERE user_id = $1', [userId]);
    return rows.length === 0 ? undefined : rows[0].updated_at;
  }

  async usersUpdatedSince(ms: number): Promise<{ userId: number; updatedAt: number }[]> {
    const { rows } = await this.pool.query<{ user_id: number; updated_at: number }>(
      'SELECT user_id, updated_at FROM users WHERE updated_at >= $1',
      [ms],
    );
    return rows.map((row) => ({ userId: row.user_id, updatedAt: row.updated_at }));
  }

  importCatalog(data: CatalogImport, options: ImportOptions = {}): Promise<ImportSummary> {
    return importIntoPostgres(this.pool, data, inMemoryRatingSource(data), options);
  }

  importStream(data: StreamedCatalogImport, options: ImportOptions = {}): Promise<ImportSummary> {
    return importIntoPostgres(this.pool, data, streamedRatingSource(data), options);
  }
}

type Queryable = Pick<PoolClient, 'query'>;

async function countsOf(db: Queryable): Promise<CatalogCounts> {
  const { rows } = await db.query<CatalogCounts>(
    'SELECT (SELECT COUNT(*) FROM users) AS users, (SELECT COUNT(*) FROM items) AS items, (SELECT COUNT(*) FROM ratings) AS ratings',
  );
  return rows[0];
}

async function generationOf(db: Queryable): Promise<number> {
  return (await db.query<{ generation: number }>('SELECT generation FROM catalog_state WHERE id = 1')).rows[0].generation;
}

export async function datasetInfoOf(db: Queryable): Promise<DatasetInfo | null> {
  const { rows } = await db.query<{ source: string; layout: string; rating_levels: string; imported_at: number }>(
    'SELECT source, layout, rating_levels, imported_at FROM datasets ORDER BY imported_at DESC, id DESC LIMIT 1',
  );
  if (rows.length === 0) return null;
  const row = rows[0];
  return { source: row.source, layout: row.layout, ratingLevels: JSON.parse(row.rating_levels) as number[], importedAt: row.imported_at };
}

async function ratingLevelsOf(db: Queryable): Promise<number[]> {
  const info = await datasetInfoOf(db);
  if (info) return info.ratingLevels;
  return (await db.query<{ value: number }>('SELECT DISTINCT value FROM ratings ORDER BY value')).rows.map((r) => r.value);
}

/** The LIKE patterns of a title query (as CatalogStore's): its words in order anywhere, and at the start. */
function searchPattern(query: string): { pattern: string; prefix: string } {
  const words = searchKeyOf(query)
    .split(' ')
    .filter((w) => w !== '')
    .map((text) => text.replace(/[\\%_]/g, (c) => `\\${c}`));
  return {
    pattern: words.length === 0 ? '%' : `%${words.join('%')}%`,
    prefix: words.length === 0 ? '%' : `${words.join('%')}%`,
  };
}

function expectCount(value: number, name: string): void {
  if (!Number.isSafeInteger(value) || value < 0) throw new RangeError(`${name} must be a whole number ≥ 0, got ${value}`);
}
