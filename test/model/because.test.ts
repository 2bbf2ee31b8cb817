/**
 * `because` is faithful: the influence a model reports for a rating is what removing that rating from
 * the user's ratings and scoring again (scoreUsers, the path serving takes) does to the item's score.
 *
 * Small models trained on a generated two-taste data set (group A likes items 1–20 and rates them high,
 * group B items 21–40): the implicit RBM, the user-RBM blend, and the watch-like model over both. The
 * implicit RBM, the user RBM and the bias baseline are exact (tolerance 1e-5: float32 scoring against
 * float64 leave-one-out); the item RBM's user unit is held fixed where serving refits it, so the
 * watch-like model with the item RBM gets the tolerance measured for that approximation (see below).
 */
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Dataset, KnownRatings } from '../../src/data/dataset.js';
import { becauseGap, ratingsWithout } from '../../src/eval/because.js';
import { fitBiasModel } from '../../src/model/bias.js';
import { BECAUSE_MIN_SHARE, pickInfluences, pickProductInfluences, RAISES_MIN_SHARE } from '../../src/model/explain.js';
import type { Influence, TrainedModel, UserInput } from '../../src/model/protocol.js';
import { fitRbmBlend } from '../../src/model/rbmFit.js';
import { modelFromState } from '../../src/model/index.js';
import { ImplicitModel, WatchLikeModel } from '../../src/model/watchLike.js';
import { initBackend } from '../../src/rbm/backend.js';
import { fitImplicitRbm, likedLevelIndex, type ImplicitRbm } from '../../src/rbm/implicit.js';
import { twoTastes } from '../helpers/twoTastes.js';

const USERS = 60;
const ITEMS = 40;

function userRatings(ds: Dataset, u: number): KnownRatings {
  const items: number[] = [];
  const levels: number[] = [];
  for (let r = 0; r < ds.users.length; r++) {
    if (ds.users[r] !== u) continue;
    items.push(ds.items[r]);
    levels.push(ds.levels[r]);
  }
  return { items: Int32Array.from(items), levels: Uint8Array.from(levels) };
}

const withoutRating = (ratings: KnownRatings, n: number): KnownRatings => ({
  items: Int32Array.from([...ratings.items].filter((_, t) => t !== n)),
  levels: Uint8Array.from([...ratings.levels].filter((_, t) => t !== n)),
});

/** The m best unrated items by the model's score: what a list would show. */
function topUnrated(model: TrainedModel, input: UserInput, m: number): number[] {
  const [scores] = model.scoreUsers([input]);
  const rated = new Set(input.ratings.items);
  return Array.from(scores.score.keys())
    .filter((i) => !rated.has(i))
    .sort((a, b) => scores.score[b] - scores.score[a] || a - b)
    .slice(0, m);
}

/** The input serving builds after rating n is removed: a visitor posts the rest; a stored user is refitted. */
const inputWithout = (input: UserInput, n: number): UserInput => ({
  ratings: withoutRating(input.ratings, n),
  ...(input.userIndex !== undefined ? { userIndex: input.userIndex, refit: true } : {}),
});

interface Check {
  reported: number;
  actual: number;
}

/**
 * For sampled users (visitors and stored users) and their top items: every listed influence against the
 * actual drop of the score when that rating is removed and the user scored again.
 */
function faithfulness(
  model: TrainedModel,
  ds: Dataset,
  users: number[],
  m: number,
  storedRefit = false,
): { checks: Check[]; lists: Influence[][][] } {
  const checks: Check[] = [];
  const lists: Influence[][][] = [];
  for (const u of users) {
    const stored: UserInput = { ratings: userRatings(ds, u), userIndex: u, ...(storedRefit ? { refit: true } : {}) };
    for (const input of [{ ratings: userRatings(ds, u) }, stored]) {
      const items = topUnrated(model, input, m);
      const because = model.explain!(input, items, 3);
      lists.push(because);
      const [full] = model.scoreUsers([input]);
      because.forEach((list, c) => {
        for (const { rating, influence } of list) {
          const [after] = model.scoreUsers([inputWithout(input, rating)]);
          checks.push({ reported: influence, actual: full.score[items[c]] - after.score[items[c]] });
        }
      });
    }
  }
  return { checks, lists };
}

const SAMPLE = [0, 1, 6, 13, 22, 37, 48, 59];
let data: Dataset;
let implicit: ImplicitRbm;
let implicitModel: ImplicitModel;
let userBlendWatchLike: WatchLikeModel;
let fullWatchLike: WatchLikeModel;
/** Issue 19: activity-scaled ensemble of implicit RBMs and the popularity prior, over the user-RBM blend. */
let priorWatchLike: WatchLikeModel;

beforeAll(async () => {
  await initBackend();
  data = twoTastes(3, {
    users: USERS,
    items: ITEMS,
    pIn: 0.5,
    pOut: 0.08,
    value: (rng, inGroup) => (inGroup ? 4 + rng.int(2) : 1 + rng.int(3)),
  });
  implicit = await fitImplicitRbm(data, { hidden: 12, epochs: 25, lr: 0.1, batchSize: 10, patience: 4, validationFraction: 0.2, seed: 1 });
  implicitModel = new ImplicitModel(data, implicit);
  const small = { hidden: 12, epochs: 25, lr: 0.05, batchSize: 10, seed: 2, validationFraction: 0.15 };
  const userBlend = (await fitRbmBlend(data, { ...small, orientation: 'user' }, { parallel: false })).model;
  const blend = (await fitRbmBlend(data, { ...small, orientation: 'both' }, { parallel: false })).model;
  const liked = likedLevelIndex(data.ratingLevels);
  userBlendWatchLike = new WatchLikeModel(userBlend, implicit, liked);
  fullWatchLike = new WatchLikeModel(blend, implicit, liked);
  const scaled = await fitImplicitRbm(data, {
    hidden: 12,
    epochs: 25,
    lr: 0.1,
    batchSize: 10,
    patience: 4,
    validationFraction: 0.2,
    seed: 1,
    activityScaling: true,
    members: 2,
  });
  priorWatchLike = new WatchLikeModel(userBlend, scaled, liked, 6);
});

describe('because: exact parts', () => {
  it('implicit RBM: each listed influence is the drop of p(watch) when that rating is removed (1e-5)', () => {
    const { checks } = faithfulness(implicitModel, data, SAMPLE, 5);
    expect(checks.length).toBeGreaterThan(20);
    for (const c of checks) expect(c.reported).toBeCloseTo(c.actual, 5);
  });

  it('user-RBM blend (user RBM + bias b_u recomputed): influence on the expected rating is exact (1e-5)', () => {
    const { checks } = faithfulness(userBlendWatchLike.rating, data, SAMPLE, 5);
    expect(checks.length).toBeGreaterThan(10);
    for (const c of checks) expect(c.reported).toBeCloseTo(c.actual, 5);
  });

  it('watch-like over the user-RBM blend: score = p(watch)·p(≥ liked) drops by exactly the influence (1e-5)', () => {
    const { checks } = faithfulness(userBlendWatchLike, data, SAMPLE, 5);
    expect(checks.length).toBeGreaterThan(20);
    for (const c of checks) expect(c.reported).toBeCloseTo(c.actual, 5);
  });

  it('watch-like with the popularity prior over an activity-scaled ensemble: exact too (w(n − 1) without a rating)', () => {
    const { checks } = faithfulness(priorWatchLike, data, SAMPLE, 5);
    expect(checks.length).toBeGreaterThan(20);
    for (const c of checks) expect(c.reported).toBeCloseTo(c.actual, 5);
  });

  it('lists exactly the ratings that stand out, largest first, at most 3, and nothing else', () => {
    const model = userBlendWatchLike;
    for (const u of SAMPLE.slice(0, 4)) {
      const input: UserInput = { ratings: userRatings(data, u) };
      const items = topUnrated(model, input, 4);
      const because = model.explain!(input, items, 3);
      const [full] = model.scoreUsers([input]);
      const n = input.ratings.items.length;
      items.forEach((i, c) => {
        // Every rating's actual influence through scoreUsers; the expected list follows the stated rule.
        const actual = Array.from({ length: n }, (_, t) => full.score[i] - model.scoreUsers([inputWithout(input, t)])[0].score[i]);
        // The clear stand-outs, each with the factor it raised (checked below); 'both' first, then the rest.
        const raisesOf = new Map(because[c].map((x) => [x.rating, x.raises]));
        const clear = actual
          .map((influence, rating) => ({ rating, influence }))
          .filter((x) => x.influence >= BECAUSE_MIN_SHARE * full.score[i] + 1e-5);
        const listed = because[c].map((x) => x.rating);
        // Ratings within float noise of the threshold may be in or out; the clear ones must be listed
        // unless three others that come before them in the order are.
        const rank = (x: Influence): number => (x.raises === 'both' ? 0 : 1);
        for (const x of clear) {
          if (listed.includes(x.rating)) continue;
          expect(listed.length).toBe(3);
          for (const y of because[c])
            expect(rank(y) < (raisesOf.get(x.rating) === 'both' ? 0 : 1) || y.influence >= x.influence - 1e-5).toBe(true);
        }
        expect(listed.length).toBeLessThanOrEqual(3);
        for (let t = 1; t < because[c].length; t++) {
          const [a, b] = [because[c][t - 1], because[c][t]];
          expect(rank(a)).toBeLessThanOrEqual(rank(b));
          if (rank(a) === rank(b)) expect(b.influence).toBeLessThanOrEqual(a.influence);
        }
        for (const x of because[c]) expect(x.influence).toBeGreaterThanOrEqual(BECAUSE_MIN_SHARE * full.score[i] - 1e-6);
      });
    }
  });
});

describe('because: which factor each reason raised', () => {
  it("watch-like: 'watch', 'like' and 'both' are the signs of the drops of p(watch) and p(like) through scoreUsers", () => {
    const model = userBlendWatchLike;
    const K = data.ratingLevels.length;
    const liked = likedLevelIndex(data.ratingLevels);
    const parts = (input: UserInput, item: number): { watch: number; like: number } => {
      const [w] = implicitModel.scoreUsers([input]);
      const [r] = model.rating.scoreUsers([input]);
      let like = 0;
      for (let k = liked; k < K; k++) like += r.distribution![item * K + k];
      return { watch: w.score[item], like: Math.min(1, like) };
    };
    const seen = new Map<string, number>();
    for (const u of SAMPLE) {
      const input: UserInput = { ratings: userRatings(data, u) };
      const items = topUnrated(model, input, 6);
      model.explain!(input, items, 3).forEach((list, c) => {
        const before = parts(input, items[c]);
        for (const x of list) {
          seen.set(x.raises, (seen.get(x.raises) ?? 0) + 1);
          const after = parts(inputWithout(input, x.rating), items[c]);
          const dw = before.watch - after.watch;
          const dl = before.like - after.like;
          // Raised: a drop of at least 0.1 % of the factor (RAISES_MIN_SHARE), within float32 noise.
          const tol = 1e-5;
          if (x.raises === 'both' || x.raises === 'watch') expect(dw).toBeGreaterThan(RAISES_MIN_SHARE * before.watch - tol);
          if (x.raises === 'both' || x.raises === 'like') expect(dl).toBeGreaterThan(RAISES_MIN_SHARE * before.like - tol);
          if (x.raises === 'watch') expect(dl).toBeLessThan(RAISES_MIN_SHARE * before.like + tol);
          if (x.raises === 'like') expect(dw).toBeLessThan(RAISES_MIN_SHARE * before.watch + tol);
        }
      });
    }
    // Both kinds occur in this data: group B's low ratings of group A's items raise p(watch) only.
    expect(seen.get('both') ?? 0).toBeGreaterThan(0);
    expect((seen.get('watch') ?? 0) + (seen.get('like') ?? 0)).toBeGreaterThan(0);
  });

  it("single-factor models name their factor: the implicit RBM 'watch', the rating blend 'like'", () => {
    const input: UserInput = { ratings: userRatings(data, 0) };
    const items = topUnrated(implicitModel, input, 4);
    for (const list of implicitModel.explain(input, items, 3)) for (const x of list) expect(x.raises).toBe('watch');
    for (const list of userBlendWatchLike.rating.explain(input, items, 3)) for (const x of list) expect(x.raises).toBe('like');
  });
});

describe('because: the item RBM unit held fixed', () => {
  it('watch-like over the full blend: the reported influence is within the measured refit gap of the actual drop', () => {
    // Stored users as after a rating change (refit): the unit is then fitted by the same logistic
    // regression with and without the rating, so the gap is the held-fixed approximation alone. (An
    // unchanged stored user is scored with the unit CD trained; any change to their ratings switches
    // serving to the refitted unit, which moves every score whatever rating changed: on ML-100K that
    // switch alone is a median 0.024 of the score, as large as the influences; see the README.)
    const { checks } = faithfulness(fullWatchLike, data, SAMPLE, 5, true);
    expect(checks.length).toBeGreaterThan(100);
    const gaps = checks.map((c) => Math.abs(c.reported - c.actual)).sort((a, b) => a - b);
    const sameSign = checks.filter((c) => c.actual > 0).length / checks.length;
    // Serving refits the user's item-RBM unit (logistic regression, rbm/foldin.ts) when a rating is
    // removed; `explain` holds it fixed, so the item RBM's share of the drop (weight w_I = 0.84 in this
    // model) is missed. Measured on this sample (240 listed influences, median 0.021, scores ≈ 0.1–0.6;
    // users with ~12 ratings, so one rating is ~8 % of what the unit is fitted to, a worst case: ML-100K
    // users have a median of 58, where the README gives the gap): median |reported − actual| 0.0078,
    // 90th percentile 0.013, max 0.018, median 25 % of the actual drop; every listed rating does lower
    // the score when removed. The bounds sit ~30 % above those figures: tight enough that holding more of
    // the model fixed (or an error in the exact parts) fails, loose enough for float differences between
    // backends.
    expect(gaps[Math.floor(gaps.length / 2)]).toBeLessThan(0.01);
    expect(gaps[Math.floor(gaps.length * 0.9)]).toBeLessThan(0.017);
    expect(gaps[gaps.length - 1]).toBeLessThan(0.024);
    expect(sameSign).toBeGreaterThan(0.95);
  });
});

describe('becauseGap (npm run because-gap)', () => {
  it('reports a gap at float rounding for an exact model, and refuses a model without because', () => {
    const users: UserInput[] = SAMPLE.map((u) => ({ ratings: userRatings(data, u) }));
    const summary = becauseGap(userBlendWatchLike, users, 5, (input, n) => ({ ratings: ratingsWithout(input, n) }));
    expect(summary.checks).toBeGreaterThan(10);
    expect(summary.gapMax).toBeLessThan(1e-5);
    expect(summary.sameSign).toBe(1);
    expect(() => becauseGap(fitBiasModel(data), users, 5, (input) => input)).toThrow(/bias model has no because/);
  });
});

describe('pickInfluences', () => {
  it('keeps positive influences ≥ 1 % of the score, largest first, at most max; rejects mismatched shapes', () => {
    // 3 ratings × 2 items, n-major: item 0 full 0.5, item 1 full 0.1.
    const full = [0.5, 0.1];
    const without = [0.4, 0.1, 0.498, 0.2, 0.45, 0.0995];
    expect(pickInfluences(full, without, 3, 3, 'watch')).toEqual([
      [
        { rating: 0, influence: expect.closeTo(0.1, 12), raises: 'watch' },
        { rating: 2, influence: expect.closeTo(0.05, 12), raises: 'watch' },
      ],
      [],
    ]);
    expect(pickInfluences(full, without, 3, 1, 'watch')[0]).toHaveLength(1);
    expect(() => pickInfluences(full, without, 2, 3, 'like')).toThrow(/6 values, expected 2 ratings × 2 items/);
  });

  it('pickProductInfluences: names the factor each rating raised and lists those raising both first', () => {
    // One item, 3 ratings. Full: watch 0.5, like 0.8 (score 0.4).
    // Rating 0: watch 0.3 without it, like 0.85 → raised watch only, lowered like (score 0.255: +0.145).
    // Rating 1: watch 0.45, like 0.7 → both (score 0.315: +0.085).
    // Rating 2: watch 0.5, like 0.6 → like only (score 0.3: +0.1).
    const watch = { full: [0.5], without: [0.3, 0.45, 0.5] };
    const like = { full: [0.8], without: [0.85, 0.7, 0.6] };
    expect(pickProductInfluences(watch, like, 3, 3)).toEqual([
      [
        { rating: 1, influence: expect.closeTo(0.085, 12), raises: 'both' },
        { rating: 0, influence: expect.closeTo(0.145, 12), raises: 'watch' },
        { rating: 2, influence: expect.closeTo(0.1, 12), raises: 'like' },
      ],
    ]);
    // With room for one, the rating that raises both wins over a larger one-sided influence.
    expect(pickProductInfluences(watch, like, 3, 1)[0].map((x) => x.rating)).toEqual([1]);
    expect(() => pickProductInfluences(watch, { full: [0.8, 0.1], without: [] }, 3, 3)).toThrow(/differ in shape/);
  });

  it('pickProductInfluences selects what sorting every passing rating would list (ties, both-first, any max)', () => {
    // The reference: every rating whose influence passes, sorted ('both' first, influence descending, the
    // earlier rating first), the first max. pick keeps two bounded lists instead; they must agree.
    const level = fc.integer({ min: 0, max: 6 }).map((v) => v / 6); // few values: many ties
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 3 }),
        fc.integer({ min: 0, max: 40 }),
        fc.integer({ min: 0, max: 5 }),
        fc.array(fc.tuple(level, level), { minLength: 3, maxLength: 3 }),
        fc.array(fc.tuple(level, level), { minLength: 120, maxLength: 120 }),
        (m, ratings, max, fulls, withouts) => {
          const watch = { full: fulls.slice(0, m).map((x) => 0.2 + x[0]), without: withouts.slice(0, ratings * m).map((x) => 0.2 + x[0]) };
          const like = { full: fulls.slice(0, m).map((x) => 0.2 + x[1]), without: withouts.slice(0, ratings * m).map((x) => 0.2 + x[1]) };
          if (watch.without.length < ratings * m) return;
          const got = pickProductInfluences(watch, like, ratings, max);
          const reference = pickProductInfluences(watch, like, ratings, ratings + 1);
          for (let c = 0; c < m; c++) {
            const full = watch.full[c] * like.full[c];
            const floor = Math.max(1e-6, BECAUSE_MIN_SHARE * full);
            const passing = Array.from({ length: ratings }, (_, n) => n).filter(
              (n) => full - watch.without[n * m + c] * like.without[n * m + c] >= floor,
            );
            // Every passing rating is listed when max exceeds their number, each with its factor.
            expect(reference[c].map((x) => x.rating).sort((a, b) => a - b)).toEqual(passing);
            const sorted = [...reference[c]].sort(
              (a, b) => Number(a.raises !== 'both') - Number(b.raises !== 'both') || b.influence - a.influence || a.rating - b.rating,
            );
            expect(reference[c]).toEqual(sorted);
            expect(got[c]).toEqual(sorted.slice(0, max));
          }
        },
      ),
      { numRuns: 1000 },
    );
  });
});

describe('watch-like stored state (issue 19)', () => {
  it('the prior n₀, the activity scale and the ensemble round-trip; a version stored without n₀ loads with none', () => {
    const state = priorWatchLike.toState();
    const stored = { meta: JSON.parse(JSON.stringify(state.meta)), tensors: state.tensors };
    expect(stored.meta.config.coldPrior).toBe(6);
    const back = WatchLikeModel.fromState(stored);
    expect(back.coldPrior).toBe(6);
    const input: UserInput = { ratings: userRatings(data, 5) };
    expect(back.scoreUsers([input])[0].score).toEqual(priorWatchLike.scoreUsers([input])[0].score);
    const { coldPrior: _n0, ...oldConfig } = stored.meta.config;
    const old = WatchLikeModel.fromState({ ...stored, meta: { ...stored.meta, config: oldConfig } });
    expect(old.coldPrior).toBe(0);
    expect(() => modelFromState({ ...stored, meta: { ...stored.meta, config: { ...oldConfig, coldPrior: -2 } } })).toThrow(
      'stored model metadata: config.coldPrior must be a non-negative number, got -2',
    );
  });

  it('the prior fades: w(n) = n₀ / (n₀ + n) mixes in the share of training users who rated each item', () => {
    const input: UserInput = { ratings: userRatings(data, 5) };
    const n = input.ratings.items.length;
    const plain = new WatchLikeModel(priorWatchLike.rating, priorWatchLike.implicit, priorWatchLike.likedLevel);
    const [withPrior] = priorWatchLike.scoreUsers([input]);
    const [without] = plain.scoreUsers([input]);
    const w = 6 / (6 + n);
    const counts = priorWatchLike.rating.parts.itemTrainCount;
    for (let i = 0; i < ITEMS; i++) {
      expect(withPrior.score[i]).toBeCloseTo((1 - w) * without.score[i] + (w * counts[i]) / USERS, 6);
    }
  });
});
