/**
 * The model-insight endpoints over a real app and SQLite file, serving a small RBM trained on the fixture
 * catalog: `GET /api/model/hidden`, `GET|POST /api/model/hidden/activations`, `GET /api/model/explain`.
 * Every number is checked against the pure functions applied to the stored model version, or against
 * another endpoint; bad input gets a 4xx that says what was wrong. A bias-only model has no hidden units.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { levelIndexOf } from '../../src/data/dataset.js';
import { modelFromState, trainModel } from '../../src/model/index.js';
import { summariseHiddenUnits } from '../../src/rbm/hiddenUnits.js';
import { freeEnergy, hiddenProbabilities, sigmoid, type RbmParams } from '../../src/rbm/params.js';
import type { HiddenUnitsResponse, ModelExplainResponse, UnitActivationsResponse } from '../../src/api/types.js';
import { explainModel, itemTrainCountFromState, MOVIES_PER_UNIT, userRbmFromState } from '../../src/serving/modelInsight.js';
import { ServingService } from '../../src/serving/service.js';
import { createFixture, ITEMS, request, startApp, type Fixture, type RunningApp } from './helpers.js';

const HIDDEN = 6;
const LEVELS = [1, 2, 3, 4, 5];

let fixture: Fixture;
let app: RunningApp;
let params: RbmParams;
let counts: Float32Array | null;
let itemIds: number[];

beforeAll(async () => {
  fixture = createFixture();
  const { state } = await trainModel('blend', fixture.catalog.loadDataset(), { hidden: HIDDEN, epochs: 4, seed: 3 });
  fixture.models.saveVersion(state.meta, state.tensors);
  const stored = fixture.models.load(fixture.models.currentId() as number);
  params = userRbmFromState(stored) as RbmParams;
  counts = itemTrainCountFromState(stored);
  itemIds = stored.meta.itemIds;
  app = await startApp(fixture, { fromState: modelFromState });
}, 60_000);

afterAll(async () => {
  await app?.close();
  fixture?.cleanup();
});

const url = (p: string): string => `${app.url}${p}`;

/** p(h_j = 1 | V) from the stored parameters for ratings given by external ids. */
function hiddenOf(ratings: { itemId: number; rating: number }[]): Float32Array {
  const items = Int32Array.from(ratings, (r) => itemIds.indexOf(r.itemId));
  const levels = Uint8Array.from(ratings, (r) => levelIndexOf(LEVELS, r.rating));
  return hiddenProbabilities(params, items, levels, 0, items.length, new Float32Array(params.hidden));
}

describe('GET /api/model/hidden', () => {
  it('lists every hidden unit with the movies that switch it on and off, as the pure summary says', async () => {
    const res = await request<HiddenUnitsResponse>(url('/api/model/hidden'));
    expect(res.status).toBe(200);
    const body = res.body;
    expect(body).toMatchObject({ orientation: 'user', hidden: HIDDEN, ratingLevels: LEVELS });
    expect(body.units).toHaveLength(HIDDEN);
    const expected = summariseHiddenUnits(params, LEVELS, counts, { perUnit: MOVIES_PER_UNIT });
    expect(body.minRatings).toBe(expected.minRatings);
    expect(body.moviesConsidered).toBe(expected.itemsConsidered);
    for (const unit of body.units) {
      const want = expected.units[unit.unit];
      expect(unit.baseRate).toBeCloseTo(sigmoid(params.c[unit.unit]), 4);
      expect(unit.on.map((m) => m.itemId)).toEqual(want.on.map((x) => itemIds[x.item]));
      expect(unit.off.map((m) => m.itemId)).toEqual(want.off.map((x) => itemIds[x.item]));
      expect(unit.on.length + unit.off.length).toBeGreaterThan(0);
      for (const m of unit.on) expect(m.delta).toBeGreaterThanOrEqual(0);
      for (const m of unit.off) expect(m.delta).toBeLessThanOrEqual(0);
      // Titles come from the catalog.
      for (const m of [...unit.on, ...unit.off]) {
        expect(m.title).toBe(fixture.catalog.getItem(m.itemId)?.title);
        expect(m.itemId).toBeGreaterThanOrEqual(1);
        expect(m.itemId).toBeLessThanOrEqual(ITEMS);
      }
    }
    // The same answer again (computed once for the version).
    expect((await request(url('/api/model/hidden'))).body).toEqual(body);
  });
});

describe('hidden-unit activations', () => {
  it('for a stored user: the units their ratings raise most above the base rate', async () => {
    const res = await request<UnitActivationsResponse>(url('/api/model/hidden/activations?user=2&limit=3'));
    expect(res.status).toBe(200);
    const ratings = fixture.catalog.getUserRatings(2).map((r) => ({ itemId: r.itemId, rating: r.value }));
    expect(res.body).toMatchObject({ userId: 2, ratingsUsed: ratings.length });
    const p = hiddenOf(ratings);
    const lifts = [...p].map((x, j) => x - sigmoid(params.c[j]));
    const order = lifts
      .map((l, j) => ({ l, j }))
      .sort((a, b) => b.l - a.l || a.j - b.j)
      .slice(0, 3)
      .map((x) => x.j);
    expect(res.body.units.map((u) => u.unit)).toEqual(order);
    for (const u of res.body.units) {
      expect(u.probability).toBeCloseTo(p[u.unit], 4);
      expect(u.lift).toBeCloseTo(u.probability - u.baseRate, 3);
    }
  });

  it('for a visitor: posted ratings, default limit 5', async () => {
    const ratings = [
      { itemId: 1, rating: 5 },
      { itemId: 20, rating: 1 },
    ];
    const res = await request<UnitActivationsResponse>(url('/api/model/hidden/activations'), { method: 'POST', json: { ratings } });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ userId: null, ratingsUsed: 2 });
    expect(res.body.units).toHaveLength(5);
    const p = hiddenOf(ratings);
    for (const u of res.body.units) expect(u.probability).toBeCloseTo(p[u.unit], 4);
    const lifts = res.body.units.map((u) => u.lift);
    expect([...lifts].sort((a, b) => b - a)).toEqual(lifts);
  });

  it('answers bad input with a 4xx that says what was wrong', async () => {
    const missing = await request(url('/api/model/hidden/activations'));
    expect(missing.status).toBe(400);
    expect(missing.body.error.message).toMatch(/"user" is required/);
    const badId = await request(url('/api/model/hidden/activations?user=abc'));
    expect(badId.status).toBe(400);
    expect(badId.body.error.message).toMatch(/user must be a non-negative integer id, got "abc"/);
    const unknown = await request(url('/api/model/hidden/activations?user=424242'));
    expect(unknown.status).toBe(404);
    expect(unknown.body.error.code).toBe('unknown_user');
    const offScale = await request(url('/api/model/hidden/activations'), { method: 'POST', json: { ratings: [{ itemId: 1, rating: 7 }] } });
    expect(offScale.status).toBe(400);
    expect(offScale.body.error.message).toMatch(
      /ratings\[0\]\.rating must be a JSON number equal to one of the rating levels \[1, 2, 3, 4, 5\], got 7/,
    );
    const genre = await request(url('/api/model/hidden/activations'), { method: 'POST', json: { ratings: [], genre: 'Drama' } });
    expect(genre.status).toBe(400);
    expect(genre.body.error.message).toMatch(/genre does not apply/);
    const tooMany = await request(url('/api/model/hidden/activations?user=1&limit=0'));
    expect(tooMany.status).toBe(400);
    expect(tooMany.body.error.message).toMatch(/limit must be an integer from 1 to 100, got "0"/);
  });
});

describe('GET /api/model/explain', () => {
  it('works a user through once per model version and ratings: the same sample until the user rates again', () => {
    const snapshot = app.holder.snapshot!;
    const serving = new ServingService(fixture.catalog);
    const first = explainModel(snapshot, serving, 4).sample!;
    expect(explainModel(snapshot, serving, 4).sample).toBe(first); // kept, not recomputed
    expect(explainModel(snapshot, serving).sample).toBe(explainModel(snapshot, serving).sample);
    const unrated = Array.from({ length: ITEMS }, (_, n) => n + 1).find(
      (id) => !fixture.catalog.getUserRatings(4).some((r) => r.itemId === id),
    )!;
    fixture.catalog.upsertRating(4, unrated, 5, 3_000_000);
    const after = explainModel(snapshot, serving, 4).sample!;
    expect(after).not.toBe(first);
    expect(after.ratingsUsed).toBe(first.ratingsUsed + 1);
    expect(explainModel(snapshot, serving, 4).sample).toBe(after);
  });

  it("gives F, K, the CD schedule and a worked example that agrees with the model's other answers", async () => {
    const res = await request<ModelExplainResponse>(url('/api/model/explain?user=3'));
    expect(res.status).toBe(200);
    const body = res.body;
    expect(body).toMatchObject({ kind: 'rbm', levels: 5, ratingLevels: LEVELS, items: ITEMS });
    expect(body.userRbm).toMatchObject({ hidden: HIDDEN, visibles: ITEMS });
    expect(body.userRbm?.options?.cdSchedule).toEqual([
      { fromEpoch: 1, steps: 1 },
      { fromEpoch: 20, steps: 3 },
      { fromEpoch: 35, steps: 5 },
    ]);
    expect(body.itemRbm).toMatchObject({ hidden: HIDDEN });
    const mixture = body.mixture as Record<string, number>;
    expect(mixture.user + mixture.item + mixture.bias).toBeCloseTo(1, 6);
    expect(body.epochsRun?.user).toBeGreaterThanOrEqual(1);

    const sample = body.sample;
    expect(sample).not.toBeNull();
    if (!sample) return;
    const ratings = fixture.catalog.getUserRatings(3).map((r) => ({ itemId: r.itemId, rating: r.value }));
    expect(sample.userId).toBe(3);
    expect(sample.ratingsUsed).toBe(ratings.length);
    expect(ratings.some((r) => r.itemId === sample.movie.itemId)).toBe(false);
    const items = Int32Array.from(ratings, (r) => itemIds.indexOf(r.itemId));
    const levels = Uint8Array.from(ratings, (r) => levelIndexOf(LEVELS, r.rating));
    expect(sample.freeEnergy).toBeCloseTo(freeEnergy(params, items, levels, 0, items.length), 3);
    expect(sample.userRbm.distribution.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 3);
    // The served prediction is the one the predictions endpoint gives for the same user and movie.
    const predicted = await request(url(`/api/users/3/predictions?items=${sample.movie.itemId}`));
    expect(sample.served.distribution).toEqual(predicted.body.predictions[0].distribution);
    expect(sample.served.expected).toBe(predicted.body.predictions[0].predicted);
    // Its top units are those the activations endpoint gives for the same user.
    const activations = await request<UnitActivationsResponse>(url('/api/model/hidden/activations?user=3&limit=3'));
    expect(sample.topUnits).toEqual(activations.body.units);
    expect(body.trainingRatings).toBe((counts as Float32Array).reduce((a, b) => a + b, 0));
    const mean = ratings.reduce((s, r) => s + r.rating, 0) / ratings.length;
    expect(sample.likedLevel).toBe(LEVELS.find((l) => l >= mean));
    const liked = sample.served.distribution.slice(LEVELS.indexOf(sample.likedLevel)).reduce((a, b) => a + b, 0);
    expect(sample.pLiked).toBeCloseTo(liked, 3);
  });

  it('picks a sample user by itself, and says so when an asked-for user is unknown', async () => {
    const res = await request<ModelExplainResponse>(url('/api/model/explain'));
    expect(res.status).toBe(200);
    expect(res.body.sample?.ratingsUsed).toBeGreaterThan(0);
    const unknown = await request(url('/api/model/explain?user=424242'));
    expect(unknown.status).toBe(404);
    expect(unknown.body.error.code).toBe('unknown_user');
  });
});

describe('a served model without a user RBM', () => {
  it('answers /hidden with a 404 that says why, and /explain without the RBM parts', async () => {
    const biasFixture = createFixture();
    biasFixture.trainAndSave();
    const biasApp = await startApp(biasFixture);
    try {
      const hidden = await request(`${biasApp.url}/api/model/hidden`);
      expect(hidden.status).toBe(404);
      expect(hidden.body.error.message).toMatch(/has no user-oriented RBM/);
      const activations = await request(`${biasApp.url}/api/model/hidden/activations?user=1`);
      expect(activations.status).toBe(404);
      const explain = await request<ModelExplainResponse>(`${biasApp.url}/api/model/explain`);
      expect(explain.status).toBe(200);
      expect(explain.body).toMatchObject({ kind: 'bias', userRbm: null, itemRbm: null, sample: null });
    } finally {
      await biasApp.close();
      biasFixture.cleanup();
    }
  });
});
