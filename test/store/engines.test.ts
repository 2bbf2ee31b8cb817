/**
 * The store interface's promises, run against both engines: SQLite (a temporary file) and PostgreSQL (a
 * temporary cluster). Where an answer is the data itself (a dataset, a summary, a refusal's message) the
 * two engines must give the same.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { CatalogData } from '../../src/data/catalog.js';
import { forEachCatalogRating, readMovieLensCatalog, readMovieLensFolder } from '../../src/data/movielens.js';
import {
  CatalogChangedError,
  CatalogReplaceRefusedError,
  InvalidRatingError,
  LATEST_SCHEMA_VERSION,
  openStore,
  UnknownItemError,
  UnknownModelVersionError,
  type Store,
  type StoreChange,
} from '../../src/store/index.js';
import { FIXTURES, tempFolder } from '../helpers/dataFiles.js';
import { newDatabase, STORE_ENGINES, useEngines } from '../helpers/storeEngines.js';

useEngines();
const open: Store[] = [];
afterEach(async () => {
  for (const store of open.splice(0)) await store.close();
});

async function fresh(
  engine: (typeof STORE_ENGINES)[number],
  options: Parameters<typeof openStore>[1] = {},
): Promise<{ store: Store; db: string }> {
  const db = await newDatabase(engine);
  const store = await openStore(db, options);
  open.push(store);
  return { store, db };
}

async function reopen(db: string): Promise<Store> {
  const store = await openStore(db);
  open.push(store);
  return store;
}

const fixture = (name: string): Promise<CatalogData> => readMovieLensFolder(join(FIXTURES, name));

/** A newer export of the 100k fixture: one title changed, so a merge of it changes the catalog. */
async function retitled(): Promise<CatalogData> {
  const data = await fixture('100k');
  return {
    ...data,
    source: 'a newer export',
    items: data.items.map((item) => (item.itemId === 1 ? { ...item, title: `${item.title} (restored)` } : item)),
  };
}

/** Waits until `seen` holds a change matching `match` (the feed is asynchronous on either engine). */
async function eventually(seen: StoreChange[], match: (change: StoreChange) => boolean): Promise<StoreChange> {
  for (let waited = 0; waited < 10_000; waited += 20) {
    const found = seen.find(match);
    if (found) return found;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  throw new Error(`no matching change reported within 10 s; seen: ${JSON.stringify(seen)}`);
}

describe.each(STORE_ENGINES)('the %s store', (engine) => {
  it('applies every migration once, and opens again without reapplying them', async () => {
    const { db } = await fresh(engine);
    const again = await reopen(db);
    expect(await again.catalog.generation()).toBe(0);
    expect(await again.catalog.isEmpty()).toBe(true);
    expect(LATEST_SCHEMA_VERSION).toBeGreaterThanOrEqual(6);
  });

  it('imports a catalog: counts, items, users, search, genres, statistics and the dataset', async () => {
    const { store } = await fresh(engine);
    const summary = await store.catalog.importCatalog(await fixture('100k'));
    expect(summary).toMatchObject({ users: 5, items: 6, ratings: 8, ratingLevels: [1, 2, 3, 4, 5], replacedSource: null, changed: true });
    const { catalog } = store;
    expect(await catalog.counts()).toEqual({ users: 5, items: 6, ratings: 8 });
    expect(await catalog.getItem(2)).toEqual({ itemId: 2, title: 'Naïve Garçon, Le (1997)', year: 1997, genres: ['Comedy'] });
    expect(await catalog.getItem(404)).toBeNull();
    expect((await catalog.getItems([3, 404, 1])).map((i) => i.itemId)).toEqual([3, 1]);
    expect(await catalog.getUser(5)).toEqual({ userId: 5, updatedAt: null });
    expect(await catalog.getUserRatings(1)).toEqual([
      { itemId: 1, value: 5, timestamp: 880000001 },
      { itemId: 2, value: 4, timestamp: 880000005 },
    ]);
    // Accent- and case-insensitive, words in order.
    expect((await catalog.searchItems('naive garcon', 10, 0)).items.map((i) => i.itemId)).toEqual([2]);
    const all = await catalog.searchItems('', 3, 1);
    expect(all.total).toBe(6);
    expect(all.items).toHaveLength(3);
    expect((await catalog.searchItemIds('', 'comedy')).sort()).toEqual(
      (await catalog.allItems())
        .filter((i) => i.genres.includes('Comedy'))
        .map((i) => i.itemId)
        .sort(),
    );
    expect(await catalog.genres()).toEqual([...new Set((await catalog.allItems()).flatMap((i) => i.genres))].sort());
    const stats = await catalog.itemStats();
    expect(stats.reduce((n, s) => n + s.ratings, 0)).toBe(8);
    const { dataset, generation } = await catalog.loadDatasetWithGeneration();
    expect(generation).toBe(summary.catalogGeneration);
    expect(dataset.userIds).toEqual([1, 2, 3, 4, 5]);
    expect(dataset.levels.length).toBe(8);
    const { ratings } = await catalog.ratingsByUser();
    expect(ratings.userIds).toEqual(dataset.userIds);
    const u = ratings.userIds.indexOf(1);
    expect(Array.from(ratings.itemIds.subarray(ratings.start[u], ratings.start[u + 1]))).toEqual([1, 2]);
  });

  it('gives the same search order, summary and dataset as SQLite (the same answers from either engine)', async () => {
    const { store } = await fresh(engine);
    const sqlite = await openStore(await newDatabase('sqlite'));
    open.push(sqlite);
    const data = await fixture('dat');
    const a = await store.catalog.importCatalog(data);
    const b = await sqlite.catalog.importCatalog(data);
    expect({ ...a, importedAt: 0 }).toEqual({ ...b, importedAt: 0 });
    expect(await store.catalog.searchItems('', 50, 0)).toEqual(await sqlite.catalog.searchItems('', 50, 0));
    expect(await store.catalog.itemStats()).toEqual(await sqlite.catalog.itemStats());
    expect(await store.catalog.loadDataset()).toEqual(await sqlite.catalog.loadDataset());
  });

  it('streams a MovieLens folder in, skipping and counting like SQLite, and a re-import changes nothing', async () => {
    const { store } = await fresh(engine);
    const sqlite = await openStore(await newDatabase('sqlite'));
    open.push(sqlite);
    const catalog = await readMovieLensCatalog(join(FIXTURES, 'csv'));
    const streamed = {
      source: catalog.source,
      layout: catalog.layout,
      fingerprint: catalog.fingerprint,
      items: catalog.items,
      ratingsFile: catalog.ratingsPath,
      forEachRating: (emit: Parameters<typeof forEachCatalogRating>[1], progress: Parameters<typeof forEachCatalogRating>[2]) =>
        forEachCatalogRating(catalog, emit, progress),
    };
    const progress: number[] = [];
    const a = await store.catalog.importStream(streamed, { onProgress: (_done, _total, rows) => progress.push(rows) });
    const b = await sqlite.catalog.importStream(streamed);
    expect({ ...a, importedAt: 0 }).toEqual({ ...b, importedAt: 0 });
    expect(progress.at(-1)).toBe(a.rowsRead);
    const again = await store.catalog.importStream(streamed);
    expect(again).toMatchObject({ changed: false, catalogGeneration: a.catalogGeneration });
  });

  it('records API ratings: unknown items and off-scale values refused, updated_at always moving forward', async () => {
    const { store } = await fresh(engine);
    await store.catalog.importCatalog(await fixture('100k'));
    await expect(store.catalog.upsertRating(1, 404, 4, 1_700_000_000)).rejects.toBeInstanceOf(UnknownItemError);
    await expect(store.catalog.upsertRating(1, 1, 4.5, 1_700_000_000)).rejects.toBeInstanceOf(InvalidRatingError);
    await expect(store.catalog.upsertRating(-1, 1, 4, 1_700_000_000)).rejects.toThrow('user id must be a whole number ≥ 0');
    const first = await store.catalog.upsertRating(77, 3, 5, 1_700_000_000);
    const second = await store.catalog.upsertRating(77, 3, 2, 1_700_000_001);
    expect(second).toBeGreaterThan(first);
    expect(await store.catalog.userUpdatedAt(77)).toBe(second);
    expect(await store.catalog.userUpdatedAt(5)).toBeNull();
    expect(await store.catalog.userUpdatedAt(999)).toBeUndefined();
    expect(await store.catalog.getUserRatings(77)).toEqual([{ itemId: 3, value: 2, timestamp: 1_700_000_001 }]);
    expect(await store.catalog.usersUpdatedSince(first)).toEqual([{ userId: 77, updatedAt: second }]);
  });

  it('refuses to replace a catalog holding API ratings with the same message as SQLite; --replace exports them first', async () => {
    const { store } = await fresh(engine);
    await store.catalog.importCatalog(await fixture('100k'));
    await store.catalog.upsertRating(77, 3, 5, 1_700_000_000);
    const generation = await store.catalog.generation();
    const other = await fixture('csv');
    const refusal = await store.catalog.importCatalog(other).catch((error: unknown) => error);
    expect(refusal).toBeInstanceOf(CatalogReplaceRefusedError);
    expect((refusal as Error).message).toContain('replacing that catalog would delete 1 rating written through the API by 1 user');
    expect(await store.catalog.generation()).toBe(generation);
    expect(await store.catalog.counts()).toEqual({ users: 6, items: 6, ratings: 9 });
    // A merge keeps them.
    const temp = tempFolder();
    try {
      const exportPath = join(temp.dir, 'api.csv');
      const replaced = await store.catalog.importCatalog(other, { mode: 'replace', exportPath });
      expect(replaced.replaced).toMatchObject({ apiRatings: 1, apiUsers: 1, exportPath });
      expect(readFileSync(exportPath, 'utf8')).toBe('userId,movieId,rating,timestamp\n77,3,5,1700000000\n');
      expect(await store.catalog.counts()).toEqual({ users: 3, items: 5, ratings: 6 });
      expect(await store.catalog.ratingLevels()).toEqual([0.5, 2.5, 3, 3.5, 4.5, 5]);
    } finally {
      temp.cleanup();
    }
  });

  it('never replaces another data set implicitly, even with no API ratings, counting what would be lost', async () => {
    const { store } = await fresh(engine);
    await store.catalog.importCatalog(await fixture('100k'));
    const generation = await store.catalog.generation();
    await expect(store.catalog.importCatalog(await fixture('csv'))).rejects.toThrow(
      'importing it would replace that catalog and its 8 ratings. Nothing was changed. Import with --replace',
    );
    expect(await store.catalog.generation()).toBe(generation);
    expect(await store.catalog.counts()).toEqual({ users: 5, items: 6, ratings: 8 });
  });

  it('rolls a failed import back entirely, saying which rating was wrong', async () => {
    const { store } = await fresh(engine);
    await store.catalog.importCatalog(await fixture('100k'));
    const other = await fixture('csv');
    const bad = { ...other, ratings: [...other.ratings, { userId: 1, itemId: 1, value: 7, timestamp: 0 }] };
    await expect(store.catalog.importCatalog(bad, { mode: 'replace' })).rejects.toThrow(
      'rating #7 (user 1, item 1) has value 7, expected one of the rating levels [0.5, 2.5, 3, 3.5, 4.5, 5]',
    );
    expect(await store.catalog.counts()).toEqual({ users: 5, items: 6, ratings: 8 });
    expect((await store.catalog.datasetInfo())?.layout).toBe('100k');
  });

  it('saves model versions in chunks, switches the current one, and refuses a model trained on a changed catalog', async () => {
    const { store } = await fresh(engine, { sqlite: { chunkBytes: 8 }, postgres: { chunkBytes: 8 } });
    await store.catalog.importCatalog(await fixture('100k'));
    const W = new Float32Array([1.5, -0, Number.NaN, 3e-42, 7, 8, 9]);
    const generation = await store.catalog.generation();
    const first = await store.models.saveVersion({ kind: 'a' }, { W, b: new Float32Array(0) }, { catalogGeneration: generation });
    expect(await store.models.currentId()).toBe(first);
    const loaded = await store.models.load(first);
    expect(new Uint8Array(loaded.tensors.W.buffer)).toEqual(new Uint8Array(W.buffer));
    expect(loaded.tensors.b).toEqual(new Float32Array(0));
    expect(loaded.meta).toEqual({ kind: 'a' });
    const second = await store.models.saveVersion({ kind: 'b' }, { W });
    expect(await store.models.current()).toMatchObject({ id: second, meta: { kind: 'b' }, catalogGeneration: generation });
    expect((await store.models.list()).map((v) => [v.id, v.isCurrent])).toEqual([
      [first, false],
      [second, true],
    ]);
    await expect(store.models.load(9999)).rejects.toBeInstanceOf(UnknownModelVersionError);
    await store.catalog.upsertRating(1, 3, 2, 1_700_000_000); // not an import: the generation stays
    expect((await store.catalog.importCatalog(await retitled(), { mode: 'merge' })).changed).toBe(true);
    await expect(store.models.saveVersion({ kind: 'c' }, { W }, { catalogGeneration: generation })).rejects.toBeInstanceOf(
      CatalogChangedError,
    );
    expect(await store.models.currentId()).toBe(second);
  });

  it('creates, verifies and revokes API tokens', async () => {
    const { store } = await fresh(engine);
    const created = await store.tokens.create('  replica test ');
    expect(created).toMatchObject({ name: 'replica test', revokedAt: null });
    expect(await store.tokens.verify(created.token)).toBe(created.id);
    expect(await store.tokens.verify(`${created.token}x`)).toBeNull();
    expect((await store.tokens.revoke(created.id)).revokedAt).not.toBeNull();
    expect(await store.tokens.verify(created.token)).toBeNull();
    await expect(store.tokens.revoke(999)).rejects.toThrow('no API token with id 999');
    await expect(store.tokens.create(' ')).rejects.toThrow('a token name must be 1 to 100 characters');
  });

  it('counts rate-limit hits across connections, and starts a new window once one ends', async () => {
    const { store, db } = await fresh(engine);
    const other = await reopen(db);
    expect((await store.rateLimits.hit('write:1.2.3.4', 60_000)).hits).toBe(1);
    expect((await other.rateLimits.hit('write:1.2.3.4', 60_000)).hits).toBe(2);
    await other.rateLimits.takeBack('write:1.2.3.4');
    expect((await store.rateLimits.hit('write:1.2.3.4', 60_000)).hits).toBe(2);
    expect((await store.rateLimits.hit('write:5.6.7.8', 1)).hits).toBe(1);
    await new Promise((resolve) => setTimeout(resolve, 5));
    expect((await other.rateLimits.hit('write:5.6.7.8', 1)).hits).toBe(1);
    await store.rateLimits.reset('write:1.2.3.4');
    expect((await other.rateLimits.hit('write:1.2.3.4', 60_000)).hits).toBe(1);
  });

  it("reports another connection's ratings, imports and model saves through the change feed", async () => {
    const { store, db } = await fresh(engine);
    await store.catalog.importCatalog(await fixture('100k'));
    const seen: StoreChange[] = [];
    const watch = store.watch((change) => seen.push(change), { pollMs: 20 });
    await watch.ready;
    const writer = await reopen(db);
    const updatedAt = await writer.catalog.upsertRating(42, 3, 4, 1_700_000_000);
    await eventually(seen, (c) => c.kind === 'user' && c.userId === 42 && c.updatedAt === updatedAt);
    const versionId = await writer.models.saveVersion({ kind: 'x' }, { W: new Float32Array([1]) });
    await eventually(seen, (c) => c.kind === 'model' && c.versionId === versionId);
    const summary = await writer.catalog.importCatalog(await retitled(), { mode: 'merge' });
    expect(summary.changed).toBe(true);
    await eventually(seen, (c) => c.kind === 'catalog' && c.generation === summary.catalogGeneration);
    watch.stop();
  });
});
