/**
 * warmUp (src/serving/service.ts): before a model version takes requests, a sample of stored users is
 * served through the request path, in a bounded time, yielding to the event loop between users.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { DEFAULT_ALGORITHM, modelFromState, trainModel } from '../../src/model/index.js';
import { initBackend } from '../../src/rbm/backend.js';
import { buildSnapshot, type ModelSnapshot } from '../../src/serving/modelHolder.js';
import type { StoredModelVersion } from '../../src/serving/ports.js';
import { warmUp } from '../../src/serving/service.js';
import { VisitorPool } from '../../src/serving/visitorPool.js';
import { createFixture, type Fixture } from '../server/helpers.js';

let fixture: Fixture;
let snapshot: ModelSnapshot;
let userIds: number[];
let version: StoredModelVersion;

beforeAll(async () => {
  await initBackend();
  fixture = createFixture();
  const dataset = fixture.catalog.loadDataset();
  const { model, state } = await trainModel(DEFAULT_ALGORITHM, dataset, { epochs: 2, hidden: 8, seed: 3 }, {});
  model.dispose();
  const id = fixture.models.saveVersion(state.meta, state.tensors);
  version = fixture.models.load(id);
  snapshot = buildSnapshot(version, fixture.catalog, modelFromState);
  userIds = [...fixture.catalog.iterateUserIds()];
}, 120_000);

afterAll(() => {
  snapshot.model.dispose();
  fixture.cleanup();
});

describe('warmUp', () => {
  it('serves up to the asked number of users with ratings, and only the first when it has no time after it', async () => {
    const rated = userIds.filter((id) => fixture.catalog.getUserRatings(id).length > 0);
    expect(rated.length).toBeGreaterThan(3);
    expect(await warmUp(snapshot, fixture.catalog, rated, { users: 3 })).toBe(3);
    expect(await warmUp(snapshot, fixture.catalog, userIds, { users: 1000 })).toBe(rated.length);
    // The budget runs from the end of the first user (whose lazily built parts are paid once anyway).
    expect(await warmUp(snapshot, fixture.catalog, userIds, { budgetMs: 0 })).toBe(1);
  });

  it('lets the event loop run between users (a hot swap warms up while the served version answers)', async () => {
    let timerRan = false;
    setTimeout(() => (timerRan = true), 0);
    let ranBeforeTheEnd = false;
    await warmUp(snapshot, fixture.catalog, userIds, { users: 4 }).then(() => (ranBeforeTheEnd = timerRan));
    expect(ranBeforeTheEnd).toBe(true);
  });

  it("warms the pool's workers too, on stored users' inputs, and leaves no job of theirs in flight", async () => {
    const pool = new VisitorPool({ size: 2, queueLimit: 0 });
    try {
      pool.load(snapshot, version);
      await pool.ready(snapshot.versionId);
      const sent = vi.spyOn(pool, 'recommendStored');
      expect(await warmUp(snapshot, fixture.catalog, userIds, { users: 6, pool })).toBe(6);
      // One job a worker at a time, so both workers ran the serving code; all answered by the end.
      expect(sent.mock.calls.length).toBeGreaterThanOrEqual(2);
      expect(sent.mock.calls.length % 2).toBe(0);
      expect(pool.inFlight).toBe(0);
      for (const result of sent.mock.results) await expect(result.value).resolves.toHaveLength(10);
    } finally {
      await pool.close();
    }
  }, 60_000);
});
