/**
 * The exact pruned top-k on real models: a small watch-like model (implicit RBM + the full rating blend,
 * every component weighted) and the implicit model trained on the fixture catalog.
 *
 * - The model's capability: scoreBounds' bound is ≥ every score scoreUsers gives, and scoreItems gives,
 *   bit for bit, scoreUsers' numbers for any chosen items; prunedTopK over them, in small chunks (so phase
 *   2 runs), lists exactly what topK over the full scores lists.
 * - Serving: the API (stored users with and without a genre, a user whose ratings changed, a visitor) and
 *   `npm run score -- --top` answer the same items and 4-decimal numbers as full scoring + topK.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import Papa from 'papaparse';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseScoreArgs, runScore } from '../../src/cli/scoreCommand.js';
import { modelFromState, prunedTopK, topK, type TrainedModel, type UserInput, type UserScores } from '../../src/model/index.js';
import { RbmBlendModel } from '../../src/model/rbmBlend.js';
import { fitRbmBlend } from '../../src/model/rbmFit.js';
import { ImplicitModel, WatchLikeModel } from '../../src/model/watchLike.js';
import { initBackend } from '../../src/rbm/backend.js';
import { fitImplicitRbm, likedLevelIndex } from '../../src/rbm/implicit.js';
import { buildSnapshot, type ModelSnapshot } from '../../src/serving/modelHolder.js';
import { rankScored } from '../../src/serving/ranking.js';
import { roundScore } from '../../src/serving/answers.js';
import { storedUserInput, visitorInput } from '../../src/serving/inputs.js';
import { createFixture, GENRES, ITEMS, request, startApp, USERS, type Fixture, type RunningApp } from '../server/helpers.js';

let fixture: Fixture;
let app: RunningApp;
let watchLike: WatchLikeModel;
/** Issue 19's served shape: an activity-scaled ensemble of implicit RBMs and the cold-user popularity prior. */
let watchLikePrior: WatchLikeModel;
/** The implicit RBM with binary hidden units (every version stored before Gaussian ones): its bound too. */
let watchLikeBinary: WatchLikeModel;
let implicit: ImplicitModel;
let snapshot: ModelSnapshot;

beforeAll(async () => {
  await initBackend();
  fixture = createFixture();
  const data = fixture.catalog.loadDataset();
  const small = { hidden: 8, epochs: 10, lr: 0.05, batchSize: 4, seed: 1, validationFraction: 0.1 };
  const { model } = await fitRbmBlend(data, { ...small, orientation: 'both' }, { parallel: false });
  // Every component weighted, whatever the tiny validation slice preferred, so each one is on the path.
  const rating = new RbmBlendModel({ ...model.parts, mixture: { user: 0.4, item: 0.4, bias: 0.2 } });
  const rbm = await fitImplicitRbm(data, { hidden: 8, epochs: 20, lr: 0.1, batchSize: 4, validationFraction: 0.2, seed: 1 });
  // The default implicit RBM has Gaussian hidden units (unbounded hidden means): the bound must hold for them.
  expect(rbm.params.hiddenUnits).toBe('gaussian');
  watchLike = new WatchLikeModel(rating, rbm, likedLevelIndex(data.ratingLevels));
  const binary = await fitImplicitRbm(data, {
    hidden: 8,
    epochs: 20,
    lr: 0.1,
    batchSize: 4,
    validationFraction: 0.2,
    seed: 1,
    hiddenUnits: 'binary',
  });
  expect(binary.params.hiddenUnits ?? 'binary').toBe('binary');
  watchLikeBinary = new WatchLikeModel(rating, binary, likedLevelIndex(data.ratingLevels), 0, 0.25);
  implicit = new ImplicitModel(data, rbm);
  const ensemble = await fitImplicitRbm(data, {
    hidden: 8,
    epochs: 20,
    lr: 0.1,
    batchSize: 4,
    validationFraction: 0.2,
    seed: 1,
    activityScaling: true,
    members: 2,
  });
  watchLikePrior = new WatchLikeModel(rating, ensemble, likedLevelIndex(data.ratingLevels), 8);
  const state = watchLike.toState();
  const versionId = fixture.models.saveVersion(state.meta, state.tensors);
  snapshot = buildSnapshot(fixture.models.load(versionId), fixture.catalog, modelFromState);
  app = await startApp(fixture);
});

afterAll(async () => {
  await app?.close();
  snapshot?.model.dispose();
  fixture?.cleanup();
});

const stored = (userId: number): UserInput =>
  storedUserInput(snapshot, fixture.catalog.getUser(userId)!, fixture.catalog.getUserRatings(userId));
const userIds = (): number[] => Array.from({ length: USERS }, (_, n) => n + 1);
const same = (a: ArrayLike<number> | null, b: ArrayLike<number> | null): void => {
  expect(a === null).toBe(b === null);
  if (a && b) expect(Array.from(a)).toEqual(Array.from(b));
};

describe('scoreBounds on trained models', () => {
  for (const which of [
    'watch-like',
    'watch-like with prior, scaled ensemble',
    'watch-like, binary hidden units, γ = 0.25',
    'implicit',
  ] as const) {
    it(`${which}: bounds hold, scoreItems equals scoreUsers bit for bit, pruned lists equal topK`, () => {
      const model: TrainedModel =
        which === 'watch-like'
          ? watchLike
          : which === 'implicit'
            ? implicit
            : which === 'watch-like with prior, scaled ensemble'
              ? watchLikePrior
              : watchLikeBinary;
      const users = [...userIds().map(stored), visitorInput(snapshot, [{ itemId: 3, rating: 5 }]), { ratings: stored(1).ratings }];
      const full: UserScores[] = model.scoreUsers(users);
      const bounded = model.scoreBounds!(users);
      const K = model.ratingLevels.length;
      users.forEach((user, n) => {
        const { score, expected, distribution } = full[n];
        bounded[n].withBound((bound) => {
          for (let i = 0; i < ITEMS; i++) expect(score[i]).toBeLessThanOrEqual(bound[i]);
        });
        const items = [7, 0, ITEMS - 1, 3, 3, 12];
        const part = bounded[n].scoreItems(items);
        same(
          part.score,
          Float32Array.from(items, (i) => score[i]),
        );
        same(part.expected, expected && Float32Array.from(items, (i) => expected[i]));
        same(
          part.distribution,
          distribution && Float32Array.from(items.flatMap((i) => Array.from(distribution.subarray(i * K, (i + 1) * K)))),
        );
        const rated = new Set(user.ratings.items);
        for (const k of [1, 5, 10, ITEMS]) {
          const pruned = bounded[n].withBound((bound) =>
            prunedTopK(
              bound,
              k,
              (i) => rated.has(i),
              (chunk) => bounded[n].scoreItems(chunk).score,
              { chunk: 2, firstCandidates: 3 },
            ),
          );
          expect(Array.from(pruned.items)).toEqual(Array.from(topK(score, k, (i) => rated.has(i))));
        }
      });
    });
  }
});

describe('the two bounds of watch-like', () => {
  it('the 8-bit bound and the float32 product bound (parameters not finite, or another backend) give the same lists', () => {
    const users = [...userIds().map(stored), visitorInput(snapshot, [{ itemId: 3, rating: 5 }])];
    for (const model of [watchLike, watchLikePrior, watchLikeBinary]) {
      const lists = (): number[][] =>
        model.scoreBounds(users).map((user, n) => {
          const rated = new Set(users[n].ratings.items);
          return Array.from(
            user.withBound(
              (bound) =>
                prunedTopK(
                  bound,
                  7,
                  (i) => rated.has(i),
                  (chunk) => user.scoreItems(chunk).score,
                  { chunk: 2 },
                ).items,
            ),
          );
        });
      const kernel = lists();
      // The implicit RBM without its 8-bit copy, as for parameters that are not all finite.
      const rbm = model.implicit;
      const own = rbm.watchBounds.bind(rbm);
      rbm.watchBounds = () => null;
      try {
        expect(lists()).toEqual(kernel);
      } finally {
        rbm.watchBounds = own;
      }
      expect(kernel).toEqual(
        users.map((u, n) => Array.from(topK(model.scoreUsers(users)[n].score, 7, (i) => new Set(u.ratings.items).has(i)))),
      );
    }
  });
});

describe('RbmBlendModel.itemScorers', () => {
  it('equals scoreUsers bit for bit for every item, with the products in JS (wasm) and on tfjs', () => {
    const users = [...userIds().map(stored), visitorInput(snapshot, [{ itemId: 5, rating: 1 }])];
    const full = watchLike.rating.scoreUsers(users);
    const all = Array.from({ length: ITEMS }, (_, i) => ITEMS - 1 - i);
    for (const products of ['auto', 'tfjs'] as const) {
      watchLike.rating.itemScorers(users, products).forEach((scorer, n) => {
        const part = scorer(all);
        const K = watchLike.ratingLevels.length;
        same(
          part.expected,
          Float32Array.from(all, (i) => full[n].expected![i]),
        );
        same(part.distribution, Float32Array.from(all.flatMap((i) => Array.from(full[n].distribution!.subarray(i * K, (i + 1) * K)))));
      });
    }
  });
});

/** What the API showed before pruning: full scoring, topK, 4 decimals. */
function fullList(userId: number | null, input: UserInput, limit: number, genre?: string) {
  void userId;
  const [scores] = snapshot.model.scoreUsers([input]);
  const ranked = rankScored(snapshot, scores, input.ratings.items, { limit, genre });
  const K = snapshot.ratingLevels.length;
  return Array.from(ranked.items, (i, j) => ({
    itemId: snapshot.meta.itemIds[i],
    score: roundScore(ranked.score[j]),
    predicted: roundScore(ranked.expected![j]),
    distribution: Array.from(ranked.distribution!.subarray(j * K, (j + 1) * K), roundScore),
  }));
}

interface Listed {
  itemId: number;
  score: number;
  predicted: number;
  distribution: number[];
}
const numbers = (items: Listed[]) =>
  items.map(({ itemId, score, predicted, distribution }) => ({ itemId, score, predicted, distribution }));

describe('served lists equal full scoring', () => {
  it('the API for stored users, with and without a genre, repeated (cache), and after a rating changes', async () => {
    for (const userId of userIds()) {
      for (const limit of [3, 10, ITEMS]) {
        const url = `${app.url}/api/users/${userId}/recommendations?limit=${limit}`;
        const first = await request<{ items: Listed[] }>(url);
        expect(numbers(first.body.items)).toEqual(fullList(userId, stored(userId), limit));
        expect((await request(url)).body).toEqual(first.body);
      }
      const genre = GENRES[userId % GENRES.length];
      const byGenre = await request<{ items: Listed[] }>(`${app.url}/api/users/${userId}/recommendations?limit=5&genre=${genre}`);
      expect(numbers(byGenre.body.items)).toEqual(fullList(userId, stored(userId), 5, genre));
    }
    const before = await request<{ items: Listed[] }>(`${app.url}/api/users/2/recommendations?limit=5`);
    const posted = await request(`${app.url}/api/users/2/ratings`, {
      method: 'POST',
      headers: fixture.auth,
      json: { itemId: before.body.items[0].itemId, rating: 1 },
    });
    expect(posted.status).toBe(201);
    const after = await request<{ items: Listed[] }>(`${app.url}/api/users/2/recommendations?limit=5`);
    expect(after.body.items.map((i) => i.itemId)).not.toContain(before.body.items[0].itemId);
    expect(numbers(after.body.items)).toEqual(fullList(2, stored(2), 5));
  });

  it('predictions score just the asked items, with the numbers full scoring gives (before and after a rating)', async () => {
    const itemIds = [...snapshot.itemIndex.keys()].filter((_, n) => n % 3 === 0);
    for (const userId of [1, 2, 3, USERS]) {
      const res = await request<{ predictions: { itemId: number; predicted: number; distribution: number[]; actual: number | null }[] }>(
        `${app.url}/api/users/${userId}/predictions?items=${itemIds.join(',')}`,
      );
      expect(res.status).toBe(200);
      const full = snapshot.model.scoreUsers([stored(userId)])[0];
      const K = snapshot.ratingLevels.length;
      const actual = new Map(fixture.catalog.getUserRatings(userId).map((r) => [r.itemId, r.value]));
      expect(res.body.predictions).toEqual(
        itemIds.map((itemId) => {
          const i = snapshot.itemIndex.get(itemId)!;
          return {
            itemId,
            predicted: roundScore(full.expected![i]),
            distribution: Array.from(full.distribution!.subarray(i * K, (i + 1) * K), roundScore),
            actual: actual.get(itemId) ?? null,
          };
        }),
      );
    }
  });

  it('a visitor', async () => {
    const ratings = [
      { itemId: 3, rating: 5 },
      { itemId: 12, rating: 2 },
      { itemId: 21, rating: 4 },
    ];
    const res = await request<{ items: Listed[] }>(`${app.url}/api/recommendations`, { method: 'POST', json: { ratings, limit: 8 } });
    expect(numbers(res.body.items)).toEqual(fullList(null, visitorInput(snapshot, ratings), 8));
  });

  it('npm run score -- --top: every user, the same rows as full scoring', async () => {
    const out = path.join(fixture.dir, 'pruned-top.csv');
    const command = parseScoreArgs(['--db', fixture.dbPath, '--out', out, '--top', '7', '--block-size', '5']);
    if (command === 'help') throw new Error('unexpected help');
    await runScore(command);
    const rows = Papa.parse<string[]>(readFileSync(out, 'utf8').trim()).data.slice(1);
    const users = [...new Set(rows.map((r) => Number(r[0])))];
    expect(users).toEqual(expect.arrayContaining(userIds()));
    const expected = users.flatMap((userId) =>
      fullList(userId, stored(userId), 7).map((item, rank) => [userId, rank + 1, item.itemId, item.predicted, item.score]),
    );
    expect(rows.map((r) => r.map(Number))).toEqual(expected);
  });
});
