/**
 * The visitor pool (src/serving/visitorPool.ts): worker threads answer a visitor's fold-in with exactly the
 * list the main thread computes, refuse work beyond their bounded queue at once, and follow hot swaps
 * while each request keeps the version it started with.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { RatingInput } from '../../src/api/types.js';
import { DEFAULT_ALGORITHM, modelFromState, trainModel, type ModelMeta } from '../../src/model/index.js';
import { initBackend } from '../../src/rbm/backend.js';
import { VisitorPoolBusyError } from '../../src/serving/errors.js';
import { buildSnapshot, type ModelSnapshot } from '../../src/serving/modelHolder.js';
import type { StoredModelVersion } from '../../src/serving/ports.js';
import { ServingService } from '../../src/serving/service.js';
import { ScoreCache } from '../../src/serving/scoreCache.js';
import { VisitorPool } from '../../src/serving/visitorPool.js';
import { createFixture, type Fixture } from '../server/helpers.js';

let fixture: Fixture;
const versions: { version: StoredModelVersion; snapshot: ModelSnapshot }[] = [];
let serving: ServingService;
let ratings: RatingInput[];

beforeAll(async () => {
  await initBackend();
  fixture = createFixture();
  const dataset = fixture.catalog.loadDataset();
  // Two versions of the served algorithm that differ (seeds), as a hot swap would bring.
  for (const seed of [1, 2]) {
    const { model, state } = await trainModel(DEFAULT_ALGORITHM, dataset, { epochs: 3, hidden: 8, seed }, {});
    model.dispose();
    const id = fixture.models.saveVersion(state.meta, state.tensors);
    const version = fixture.models.load(id) as StoredModelVersion & { meta: ModelMeta };
    versions.push({ version, snapshot: buildSnapshot(version, fixture.catalog, modelFromState) });
  }
  serving = new ServingService(fixture.catalog);
  const itemIds = [...versions[0].snapshot.itemIndex.keys()];
  ratings = itemIds.slice(0, 12).map((itemId, n) => ({ itemId, rating: 1 + (n % 5) }));
}, 120_000);

afterAll(() => {
  for (const { snapshot } of versions) snapshot.model.dispose();
  fixture.cleanup();
});

/** Runs `use` with a one-worker pool of the given queue limit, closing the pool whatever happens. */
async function withPool(queueLimit: number, use: (pool: VisitorPool) => Promise<void>): Promise<void> {
  const pool = new VisitorPool({ size: 1, queueLimit });
  try {
    await use(pool);
  } finally {
    await pool.close();
  }
}

describe('visitor pool', () => {
  it('answers with exactly the inline list (scores, distributions, because), for every ranking', async () => {
    await withPool(4, async (pool) => {
      const { snapshot, version } = versions[0];
      pool.load(snapshot, version);
      for (const [limit, genre, rankBy] of [
        [10, undefined, 'score'],
        [25, 'Drama', 'score'],
        [5, undefined, 'predicted'],
      ] as const) {
        const inline = serving.recommendForVisitor(snapshot, ratings, { limit, genre, rankBy });
        expect(inline.length).toBeGreaterThan(0);
        expect(await pool.recommend(snapshot, ratings, { limit, genre, rankBy })).toEqual(inline);
      }
    });
  }, 60_000);

  it('refuses work beyond its workers and queue at once, and finishes what it accepted', async () => {
    await withPool(1, async (pool) => {
      const { snapshot, version } = versions[0];
      pool.load(snapshot, version);
      // Submitted in one synchronous run: the first takes the worker, the second the queue's only place.
      const accepted = [
        pool.recommend(snapshot, ratings, { limit: 10, rankBy: 'score' }),
        pool.recommend(snapshot, ratings, { limit: 10, rankBy: 'score' }),
      ];
      await expect(pool.recommend(snapshot, ratings, { limit: 10, rankBy: 'score' })).rejects.toBeInstanceOf(VisitorPoolBusyError);
      const inline = serving.recommendForVisitor(snapshot, ratings, { limit: 10 });
      for (const answer of await Promise.all(accepted)) expect(answer).toEqual(inline);
      expect(pool.inFlight).toBe(0);
      // Room again once they are answered.
      expect(await pool.recommend(snapshot, ratings, { limit: 10, rankBy: 'score' })).toEqual(inline);
    });
  }, 60_000);

  it('says when every worker has built a version (the server waits for it before serving), and never hangs', async () => {
    const pool = new VisitorPool({ size: 2, queueLimit: 4 });
    try {
      const { snapshot, version } = versions[0];
      await pool.ready(snapshot.versionId); // never loaded: nothing to wait for
      pool.load(snapshot, version);
      let built = false;
      const ready = pool.ready(snapshot.versionId).then(() => (built = true));
      // Building takes the workers a message round trip at least: not ready in the same turn.
      await Promise.resolve();
      expect(built).toBe(false);
      await ready;
      // Built: either worker answers from it.
      const inline = serving.recommendForVisitor(snapshot, ratings, { limit: 10 });
      const answers = await Promise.all([0, 1].map(() => pool.recommend(snapshot, ratings, { limit: 10, rankBy: 'score' })));
      for (const answer of answers) expect(answer).toEqual(inline);
      // Closing releases anyone still waiting.
      pool.load(versions[1].snapshot, versions[1].version);
      const waiting = pool.ready(versions[1].snapshot.versionId);
      await pool.close();
      await waiting;
    } finally {
      await pool.close();
    }
  }, 60_000);

  it('follows a hot swap, while a request of the old version is still answered from it', async () => {
    await withPool(4, async (pool) => {
      const [first, second] = versions;
      const inlineFirst = serving.recommendForVisitor(first.snapshot, ratings, { limit: 10 });
      const inlineSecond = serving.recommendForVisitor(second.snapshot, ratings, { limit: 10 });
      expect(inlineSecond).not.toEqual(inlineFirst);
      pool.load(first.snapshot, first.version);
      const before = pool.recommend(first.snapshot, ratings, { limit: 10, rankBy: 'score' });
      // The swap as the holder does it: the new version is loaded, then the old one retired.
      pool.load(second.snapshot, second.version);
      pool.retire(first.snapshot.versionId);
      expect(pool.serves(first.snapshot.versionId)).toBe(false);
      expect(pool.serves(second.snapshot.versionId)).toBe(true);
      const after = pool.recommend(second.snapshot, ratings, { limit: 10, rankBy: 'score' });
      expect(await before).toEqual(inlineFirst);
      expect(await after).toEqual(inlineSecond);
      await expect(pool.recommend(first.snapshot, ratings, { limit: 10, rankBy: 'score' })).rejects.toThrow(/does not serve model version/);
    });
  }, 60_000);

  it('answers stored users with many ratings from a worker, with exactly the inline list; the others, cached ones and a full pool inline', async () => {
    // The four users with the most ratings go to the pool; users with fewer than the fourth's stay inline.
    const counts = [...fixture.catalog.iterateUserIds()]
      .map((userId) => ({ userId, n: fixture.catalog.getUserRatings(userId).length }))
      .sort((a, b) => b.n - a.n);
    const heavy = counts.slice(0, 4);
    const light = counts.filter((u) => u.n < heavy[3].n && u.n > 0).slice(0, 2);
    expect(light.length).toBe(2);
    const pool = new VisitorPool({ size: 1, queueLimit: 0, minStoredRatings: heavy[3].n });
    try {
      const { snapshot, version } = versions[0];
      pool.load(snapshot, version);
      await pool.ready(snapshot.versionId);
      const pooled = new ServingService(fixture.catalog, new ScoreCache(), null, pool);
      const sent = vi.spyOn(pool, 'recommendStored');
      for (const { userId } of heavy) {
        for (const [limit, genre] of [
          [10, undefined],
          [7, 'Drama'],
        ] as const) {
          const before = sent.mock.calls.length;
          const answer = await pooled.recommendForUserOffLoop(snapshot, userId, limit, genre);
          expect(sent.mock.calls.length).toBe(before + 1);
          expect(answer).toEqual(serving.recommendForUser(snapshot, userId, limit, genre));
        }
      }
      const before = sent.mock.calls.length;
      for (const { userId } of light)
        expect(await pooled.recommendForUserOffLoop(snapshot, userId, 10)).toEqual(serving.recommendForUser(snapshot, userId, 10));
      // By predicted rating (no pruned list): inline.
      expect(await pooled.recommendForUserOffLoop(snapshot, heavy[0].userId, 5, undefined, 'predicted')).toEqual(
        serving.recommendForUser(snapshot, heavy[0].userId, 5, undefined, 'predicted'),
      );
      // A list this service has cached is answered from the cache, inline.
      pooled.recommendForUser(snapshot, heavy[1].userId, 10);
      expect(await pooled.recommendForUserOffLoop(snapshot, heavy[1].userId, 10)).toEqual(
        serving.recommendForUser(snapshot, heavy[1].userId, 10),
      );
      expect(sent.mock.calls.length).toBe(before);
      // The worker busy and no room in the queue: the next heavy user is answered inline, not refused.
      const busy = pooled.recommendForUserOffLoop(snapshot, heavy[2].userId, 10);
      const inlineWhileBusy = await pooled.recommendForUserOffLoop(snapshot, heavy[3].userId, 10);
      expect(inlineWhileBusy).toEqual(serving.recommendForUser(snapshot, heavy[3].userId, 10));
      expect(await busy).toEqual(serving.recommendForUser(snapshot, heavy[2].userId, 10));
      expect(sent.mock.calls.length).toBe(before + 2);
    } finally {
      await pool.close();
    }
  }, 60_000);
});
