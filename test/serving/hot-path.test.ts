/**
 * The serving hot path from memory: the catalog cache (reads answered without SQLite until something
 * changes; a rating written by this process or by another connection reflected), precomputed top-N lists
 * (identical to the direct path, dropped when a user's ratings change), and the hot swap that precomputes
 * before the new version serves (the old version answers until then).
 */
import { afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { modelFromState, type ModelMeta } from '../../src/model/index.js';
import { RbmBlendModel } from '../../src/model/rbmBlend.js';
import { fitRbmBlend } from '../../src/model/rbmFit.js';
import { initBackend } from '../../src/rbm/backend.js';
import { CatalogCache } from '../../src/serving/catalogCache.js';
import { buildSnapshot, ModelHolder, type ModelSnapshot } from '../../src/serving/modelHolder.js';
import { ScoreCache } from '../../src/serving/scoreCache.js';
import { ServingService } from '../../src/serving/service.js';
import { TopLists } from '../../src/serving/topLists.js';
import { CatalogStore, ChangeFeed, ModelStore, openDatabase, type CatalogImport, type Database } from '../../src/store/index.js';
import { createFixture, GENRES, ITEMS, SILENT_USER, USERS, type Fixture } from '../server/helpers.js';

let fixture: Fixture;
/** A second connection to the fixture's file, as another worker process or an import would have. */
let other: Database;

beforeAll(async () => {
  await initBackend();
});

beforeEach(() => {
  fixture = createFixture();
  other = openDatabase(fixture.dbPath);
});

afterEach(() => {
  other.close();
  fixture.cleanup();
});

/** An import of one Drama item rated `value` by user 1, from `source`. */
const oneDramaImport = (source: string, item: { itemId: number; title: string; year: number }, value: number): CatalogImport => ({
  source,
  layout: 'demo',
  items: [{ ...item, genres: ['Drama'] }],
  users: [],
  ratings: [{ userId: 1, itemId: item.itemId, value, timestamp: 1 }],
  ratingLevels: [1, 2, 3, 4, 5],
});

/** The server's catalog: its own connection, like launch() opens. */
function serverCatalog(checkEveryMs = 0): {
  cache: CatalogCache;
  db: Database;
  calls: Map<string, number>;
} {
  const db = openDatabase(fixture.dbPath);
  const store = new CatalogStore(db);
  const calls = new Map<string, number>();
  // Counts the store's reads, to show which requests reach SQLite.
  const counted = new Proxy(store, {
    get(target, name, receiver) {
      const value = Reflect.get(target, name, receiver) as unknown;
      if (typeof value !== 'function') return value;
      return (...args: unknown[]) => {
        calls.set(String(name), (calls.get(String(name)) ?? 0) + 1);
        return (value as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
  return {
    cache: new CatalogCache(counted, new ChangeFeed(db), { checkEveryMs }),
    db,
    calls,
  };
}

const total = (calls: Map<string, number>): number => [...calls.values()].reduce((a, b) => a + b, 0);

describe('the catalog cache', () => {
  it('answers repeated reads from memory while nothing changes', () => {
    const { cache, db, calls } = serverCatalog();
    try {
      const read = (): unknown[] => [
        cache.getUser(3),
        cache.getUserRatings(3),
        cache.getItem(7),
        cache.genres(),
        cache.counts(),
        cache.generation(),
      ];
      const first = read();
      const afterFirst = total(calls);
      expect(afterFirst).toBeGreaterThan(0);
      for (let n = 0; n < 5; n++) expect(read()).toEqual(first);
      expect(total(calls)).toBe(afterFirst);
      expect(cache.getUserRatings(3)).toEqual(fixture.catalog.getUserRatings(3));
    } finally {
      db.close();
    }
  });

  it('reflects a rating this process writes, at once', () => {
    const { cache, db } = serverCatalog(60_000); // no look at the change feed: the write itself invalidates
    try {
      const before = cache.getUserRatings(2).length;
      const unrated = Array.from({ length: ITEMS }, (_, n) => n + 1).find((id) => !cache.getUserRatings(2).some((r) => r.itemId === id))!;
      const changed: number[] = [];
      cache.onUserChanged((id) => changed.push(id));
      cache.upsertRating(2, unrated, 4, 2_000_000);
      expect(cache.getUserRatings(2)).toHaveLength(before + 1);
      expect(cache.getUserRatings(2).find((r) => r.itemId === unrated)).toEqual({ itemId: unrated, value: 4, timestamp: 2_000_000 });
      expect(changed).toEqual([2]);
    } finally {
      db.close();
    }
  });

  it('reflects a rating written by another connection in that user’s next read, at once; other users stay cached', async () => {
    const { cache, db, calls } = serverCatalog(60_000); // no look at the change feed on its own during the test
    /** A new request: a new synchronous run (the user's freshness is checked once per run). */
    const nextRequest = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));
    try {
      const ratingsOf5 = cache.getUserRatings(5);
      const ratingsOf6 = cache.getUserRatings(6);
      const firstItem = ratingsOf5[0].itemId;
      const newValue = ratingsOf5[0].value === 1 ? 2 : 1;
      const changed: number[] = [];
      cache.onUserChanged((id) => changed.push(id));
      await nextRequest();
      new CatalogStore(other).upsertRating(5, firstItem, newValue, 2_000_001);
      // The user's next read looks at their updated_at (one indexed read) and reads the new value back…
      expect(cache.getUserRatings(5).find((r) => r.itemId === firstItem)?.value).toBe(newValue);
      expect(changed).toEqual([5]);
      // …other users' entries stay in memory…
      const loads = calls.get('getUserRatings');
      expect(cache.getUserRatings(6)).toBe(ratingsOf6);
      expect(calls.get('getUserRatings')).toBe(loads);
      // …and the next look at the change feed does not drop the user a second time.
      cache.sync(true);
      await nextRequest();
      expect(cache.getUserRatings(5).find((r) => r.itemId === firstItem)?.value).toBe(newValue);
      expect(changed).toEqual([5]);
      // A new user created elsewhere is seen at once too (a lookup cached as unknown is dropped).
      expect(cache.getUser(500)).toBeNull();
      await nextRequest();
      new CatalogStore(other).upsertRating(500, 1, 5, 2_000_002);
      expect(cache.getUser(500)?.userId).toBe(500);
      // Other users changed elsewhere are dropped at the next look, as before.
      await nextRequest();
      new CatalogStore(other).upsertRating(6, firstItem, newValue, 2_000_003);
      cache.sync(true);
      expect(changed).toEqual([5, 500, 6]);
    } finally {
      db.close();
    }
  });

  it('a user’s updated_at moves forward on every write, even two in the same millisecond', () => {
    const now = vi.spyOn(Date, 'now').mockReturnValue(5_000_000_000_000);
    try {
      const store = new CatalogStore(other);
      store.upsertRating(7, 1, 4, 1);
      const first = store.getUser(7)!.updatedAt!;
      store.upsertRating(7, 2, 4, 1);
      expect(store.getUser(7)!.updatedAt).toBe(first + 1);
      now.mockReturnValue(4_000_000_000_000); // a clock stepped back
      store.upsertRating(7, 3, 4, 1);
      expect(store.getUser(7)!.updatedAt).toBe(first + 2);
    } finally {
      now.mockRestore();
    }
  });

  it('drops everything when another connection imports (the catalog generation moves)', () => {
    const { cache, db } = serverCatalog(0);
    try {
      expect(cache.getItem(7)?.title).toBe('Misérables, Les (1995)');
      let cleared = 0;
      cache.onCatalogChanged(() => cleared++);
      const generation = cache.generation();
      const changed = new CatalogStore(other).importCatalog(
        oneDramaImport('test:renamed', { itemId: 7, title: 'Renamed (1995)', year: 1995 }, 5),
      );
      expect(changed.changed).toBe(true);
      expect(cache.getItem(7)?.title).toBe('Renamed (1995)');
      expect(cache.generation()).toBeGreaterThan(generation);
      expect(cleared).toBe(1);
    } finally {
      db.close();
    }
  });

  it('item statistics (the browse orders): one snapshot until ratings change and statsMaxAgeMs has passed; an import drops it at once', () => {
    const db = openDatabase(fixture.dbPath);
    let now = 1_000_000;
    const cache = new CatalogCache(new CatalogStore(db), new ChangeFeed(db), { checkEveryMs: 0, statsMaxAgeMs: 60_000, now: () => now });
    try {
      const first = cache.itemStats();
      const countOf = (stats: typeof first, itemId: number): number => stats.find((s) => s.item.itemId === itemId)!.ratings;
      expect(first).toHaveLength(ITEMS);
      expect(cache.itemStats()).toBe(first);
      const before = countOf(first, 1);
      // A new rating (from another connection) of an item the user had not rated.
      const rated = new Set(new CatalogStore(other).getUserRatings(SILENT_USER).map((r) => r.itemId));
      expect(rated.has(1)).toBe(false);
      new CatalogStore(other).upsertRating(SILENT_USER, 1, 5, 2_000_003);
      now += 59_000;
      expect(cache.itemStats()).toBe(first); // served up to a minute old
      now += 2_000;
      const second = cache.itemStats();
      expect(second).not.toBe(first);
      expect(countOf(second, 1)).toBe(before + 1);
      new CatalogStore(other).importCatalog(
        oneDramaImport('test:one-more', { itemId: 31, title: 'Another (2001)', year: 2001 }, 4),
        // Another source: merged explicitly (the database holds a rating written through the API above).
        { mode: 'merge' },
      );
      const third = cache.itemStats();
      expect(third).not.toBe(second);
      expect(third.some((s) => s.item.itemId === 31)).toBe(true);
    } finally {
      db.close();
    }
  });
});

/** A real RBM blend with every component weighted, saved as the current version. */
async function saveBlend(seed = 0): Promise<number> {
  const { model } = await fitRbmBlend(
    fixture.catalog.loadDataset(),
    { hidden: 6, epochs: 3, seed, validationFraction: 0.1 },
    { parallel: false },
  );
  const blend = new RbmBlendModel({
    ...model.parts,
    mixture: { user: 0.4, item: 0.4, bias: 0.2 },
  });
  const state = blend.toState();
  blend.dispose();
  return fixture.models.saveVersion(state.meta, state.tensors);
}

const allUsers = [...Array.from({ length: USERS }, (_, n) => n + 1), SILENT_USER];

describe('precomputed top lists', () => {
  it('stop at their time budget: the users not reached are ranked on their first request, with the same answer', async () => {
    const id = await saveBlend();
    const snapshot = buildSnapshot(fixture.models.load(id), fixture.catalog, modelFromState);
    // A zero budget is spent before the first block.
    const lists = new TopLists({ size: 5, blockUsers: 4, budgetMs: 0 });
    const report = await lists.precompute(snapshot, fixture.catalog, allUsers);
    expect(report).toEqual({ users: 0, size: 5, skippedUsers: 0, outOfTimeUsers: allUsers.length });
    const late = allUsers[allUsers.length - 1];
    expect(lists.recommend(snapshot, late, 5)).toBeUndefined();
    const direct = new ServingService(fixture.catalog, new ScoreCache(0));
    const listed = new ServingService(fixture.catalog, new ScoreCache(0), lists);
    expect(listed.recommendForUser(snapshot, late, 5)).toEqual(direct.recommendForUser(snapshot, late, 5));
    expect(() => new TopLists({ budgetMs: -1 })).toThrow('top list time budget must be ≥ 0 ms, got -1');
    // Precomputing turned off (size 0) runs out of nothing: no user is reported as left for lack of time.
    const off = await new TopLists({ size: 0, budgetMs: 0 }).precompute(snapshot, fixture.catalog, allUsers);
    expect(off.outOfTimeUsers).toBe(0);
  });

  it('give exactly the direct path’s answers, and fall back for a genre or a longer list', async () => {
    const id = await saveBlend();
    // User 1 rates after training: their item-RBM unit is refitted, in the precompute as in the direct path.
    await new Promise((r) => setTimeout(r, 5));
    fixture.catalog.upsertRating(1, 30, 1, 3_000_000);
    const snapshot = buildSnapshot(fixture.models.load(id), fixture.catalog, modelFromState);
    const lists = new TopLists({ size: 5, blockUsers: 4 });
    const report = await lists.precompute(snapshot, fixture.catalog, allUsers);
    expect(report).toEqual({
      users: allUsers.length,
      size: 5,
      skippedUsers: 0,
      outOfTimeUsers: 0,
    });

    const direct = new ServingService(fixture.catalog, new ScoreCache(0));
    const listed = new ServingService(fixture.catalog, new ScoreCache(0), lists);
    for (const userId of allUsers) {
      expect(lists.recommend(snapshot, userId, 5)).toBeDefined();
      for (const limit of [1, 3, 5, 6, 12, ITEMS]) {
        expect(listed.recommendForUser(snapshot, userId, limit)).toEqual(direct.recommendForUser(snapshot, userId, limit));
        expect(listed.recommendForUser(snapshot, userId, limit, GENRES[2])).toEqual(
          direct.recommendForUser(snapshot, userId, limit, GENRES[2]),
        );
      }
    }
    // A list shorter than the limit is not used for it (unless it holds every eligible item).
    expect(lists.recommend(snapshot, 2, 6)).toBeUndefined();
    snapshot.model.dispose();
  });

  it('are dropped with a user whose ratings change, and the next answer is the direct path’s', async () => {
    const id = await saveBlend(1);
    const { cache, db } = serverCatalog(0);
    try {
      const snapshot = buildSnapshot(fixture.models.load(id), cache, modelFromState);
      const lists = new TopLists({ size: 10 });
      cache.onUserChanged((userId) => lists.forgetUser(userId));
      await lists.precompute(snapshot, cache, cache.userIds());
      const listed = new ServingService(cache, new ScoreCache(), lists);
      const top = listed.recommendForUser(snapshot, 4, 3);
      // Another connection rates user 4's best recommendation: it must leave the list at the next request.
      new CatalogStore(other).upsertRating(4, top[0].itemId, 1, 3_000_001);
      const after = listed.recommendForUser(snapshot, 4, 3);
      expect(after.map((i) => i.itemId)).not.toContain(top[0].itemId);
      expect(after).toEqual(new ServingService(fixture.catalog, new ScoreCache(0)).recommendForUser(snapshot, 4, 3));
      // Listed again, from the new ratings (kept on demand: its `because` is explained by the service).
      expect(lists.recommend(snapshot, 4, 3)?.items.map((i) => ({ ...i, because: [] }))).toEqual(after.map((i) => ({ ...i, because: [] })));
      snapshot.model.dispose();
    } finally {
      db.close();
    }
  });
});

describe('hot swap with precompute', () => {
  it('keeps serving the old version until the new one’s lists are ready, then swaps', async () => {
    const first = fixture.trainAndSave();
    const lists = new TopLists();
    let release: () => void = () => {};
    const gate = new Promise<void>((resolve) => (release = resolve));
    const logs: string[] = [];
    const holder = new ModelHolder({
      models: new ModelStore<ModelMeta>(other),
      catalog: fixture.catalog,
      fromState: modelFromState,
      pollMs: 0,
      log: (line) => logs.push(line),
      warm: async (next: ModelSnapshot) => {
        await lists.precompute(next, fixture.catalog, allUsers);
        await gate; // the precompute's last block is done; the swap waits for the test
      },
      onRetire: (snapshot) => lists.drop(snapshot),
    });
    expect(holder.refresh()).toBe(true);
    const old = holder.require();
    expect(old.versionId).toBe(first);
    await lists.precompute(old, fixture.catalog, allUsers);

    const second = fixture.trainAndSave({ regUser: 0.5, regItem: 0.5 });
    const updating = holder.update();
    // Loaded and being prepared: still the old snapshot, whose lists still answer.
    await new Promise((r) => setImmediate(r));
    expect(holder.require()).toBe(old);
    expect(lists.recommend(old, 3, 10)).toBeDefined();
    expect(await holder.update()).toBe(false); // a poll meanwhile does not load it twice
    release();
    expect(await updating).toBe(true);
    const next = holder.require();
    expect(next.versionId).toBe(second);
    // Every user's list was ready when the new version took traffic; the old version's lists are gone.
    expect(lists.usersListed(next)).toBe(allUsers.length);
    expect(lists.usersListed(old)).toBe(0);
    const direct = new ServingService(fixture.catalog, new ScoreCache(0));
    // The precomputed lists carry their `because` too (explained: every listed item).
    for (const userId of allUsers) expect(lists.recommend(next, userId, 10)?.items).toEqual(direct.recommendForUser(next, userId, 10));
    expect(logs.some((l) => l.includes(`serving model version ${second}`) && l.includes(`replacing version ${first}`))).toBe(true);
    holder.close();
  });
});
